// Media-type rules: which formats Metahook accepts and how a file's type is decided.
// Intake calls inferKindFromUrl to reject obvious non-media early; the extractor calls
// sniffMedia on the fetched bytes, which have the final word (a PDF named .jpg is a PDF).
// Pure: byte inspection only (file-type), no I/O.
import { fileTypeFromBuffer } from 'file-type';
import type { MediaKind } from './api-schemas';
import type { SniffedMedia } from './ports';

export type MediaFormatName =
  | 'jpeg' | 'png' | 'gif' | 'webp'
  | 'mp3' | 'wav' | 'flac' | 'ogg' | 'opus' | 'm4a' | 'aac' | 'webm';

export interface MediaFormat {
  readonly kind: MediaKind;
  /** Short name, as Bedrock Converse spells the ImageBlock/AudioBlock format. */
  readonly format: MediaFormatName;
  readonly mime: string;
  /** Lower-case, without the dot; the first is the usual one. */
  readonly extensions: readonly string[];
}

/** Everything Metahook extracts from: what Bedrock Converse accepts for images and audio. */
export const SUPPORTED_FORMATS: readonly MediaFormat[] = [
  { kind: 'image', format: 'jpeg', mime: 'image/jpeg', extensions: ['jpg', 'jpeg', 'jpe', 'jfif'] },
  { kind: 'image', format: 'png', mime: 'image/png', extensions: ['png', 'apng'] },
  { kind: 'image', format: 'gif', mime: 'image/gif', extensions: ['gif'] },
  { kind: 'image', format: 'webp', mime: 'image/webp', extensions: ['webp'] },
  { kind: 'audio', format: 'mp3', mime: 'audio/mpeg', extensions: ['mp3'] },
  { kind: 'audio', format: 'wav', mime: 'audio/wav', extensions: ['wav', 'wave'] },
  { kind: 'audio', format: 'flac', mime: 'audio/flac', extensions: ['flac'] },
  { kind: 'audio', format: 'ogg', mime: 'audio/ogg', extensions: ['ogg', 'oga'] },
  { kind: 'audio', format: 'opus', mime: 'audio/ogg; codecs=opus', extensions: ['opus'] },
  { kind: 'audio', format: 'm4a', mime: 'audio/mp4', extensions: ['m4a', 'm4b'] },
  { kind: 'audio', format: 'aac', mime: 'audio/aac', extensions: ['aac'] },
  // .webm is usually video, so the extension alone does not decide (see AMBIGUOUS_EXTENSIONS).
  { kind: 'audio', format: 'webm', mime: 'audio/webm', extensions: [] },
];

/** Extensions that may or may not hold supported media: the bytes decide. */
const AMBIGUOUS_EXTENSIONS: ReadonlySet<string> = new Set(['webm']);

/** Extensions we know are not supported media: documents, archives, video, other image/audio formats. */
const UNSUPPORTED_EXTENSIONS: ReadonlySet<string> = new Set([
  // documents and text
  'pdf', 'doc', 'docx', 'xls', 'xlsx', 'ppt', 'pptx', 'odt', 'ods', 'odp', 'rtf', 'txt', 'csv', 'tsv',
  'md', 'json', 'xml', 'yaml', 'yml', 'html', 'htm', 'xhtml', 'js', 'mjs', 'css', 'epub',
  // archives and executables
  'zip', 'gz', 'tgz', 'bz2', 'xz', 'tar', '7z', 'rar', 'exe', 'dll', 'msi', 'dmg', 'iso', 'apk', 'jar', 'sh',
  // video
  'mp4', 'm4v', 'mov', 'qt', 'avi', 'mkv', 'wmv', 'flv', 'mpg', 'mpeg', '3gp', '3g2', 'ogv', 'ts', 'mts',
  // images Bedrock does not take
  'svg', 'svgz', 'heic', 'heif', 'avif', 'tif', 'tiff', 'bmp', 'ico', 'psd', 'raw', 'cr2', 'cr3', 'nef', 'dng', 'jxl',
  // audio Bedrock does not take (or we do not)
  'wma', 'aif', 'aiff', 'aifc', 'mid', 'midi', 'amr', 'ape', 'wv', 'mka', 'spx', 'ra',
]);

const FORMAT_BY_NAME = new Map(SUPPORTED_FORMATS.map((entry) => [entry.format, entry]));
const FORMAT_BY_EXTENSION = new Map(
  SUPPORTED_FORMATS.flatMap((entry) => entry.extensions.map((extension) => [extension, entry] as const)),
);

export function mediaFormat(format: MediaFormatName): MediaFormat {
  // The table covers every MediaFormatName, so this lookup cannot miss.
  return FORMAT_BY_NAME.get(format)!;
}

/** The supported format for a short name (e.g. from a stored job), or undefined. */
export function findMediaFormat(format: string): MediaFormat | undefined {
  return FORMAT_BY_NAME.get(format as MediaFormatName);
}

/**
 * What a file URL's extension says about it: a media kind, 'unsupported' for extensions we know
 * we cannot take, or undefined when there is no extension or it proves nothing (the bytes decide).
 * Query strings and fragments are ignored; case does not matter.
 */
export function inferKindFromUrl(url: string): MediaKind | 'unsupported' | undefined {
  const extension = extensionOf(pathOf(url));
  if (extension === undefined || AMBIGUOUS_EXTENSIONS.has(extension)) return undefined;
  const known = FORMAT_BY_EXTENSION.get(extension);
  if (known) return known.kind;
  return UNSUPPORTED_EXTENSIONS.has(extension) ? 'unsupported' : undefined;
}

function pathOf(url: string): string {
  try {
    // s3://bucket/key parses too: host is the bucket, pathname the key.
    return new URL(url).pathname;
  } catch {
    return url.split(/[?#]/, 1)[0] ?? '';
  }
}

function extensionOf(path: string): string | undefined {
  const lastSegment = path.slice(path.lastIndexOf('/') + 1);
  const dot = lastSegment.lastIndexOf('.');
  // No dot, a trailing dot, or a dot-file like ".jpg" with no name: no usable extension.
  if (dot <= 0 || dot === lastSegment.length - 1) return undefined;
  return safeDecode(lastSegment.slice(dot + 1)).toLowerCase();
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

// ---------- sniffing ----------

export type SniffResult = SniffedMedia | { readonly kind: 'unsupported'; readonly mime: string | null };

const supported = (format: MediaFormatName): SniffedMedia => {
  const { kind, mime } = mediaFormat(format);
  return { kind, format, mime };
};

const unsupported = (mime: string | null): SniffResult => ({ kind: 'unsupported', mime });

/** file-type's extension -> our format, for the detections that need no further look. */
const FORMAT_BY_DETECTED_EXTENSION: Readonly<Record<string, MediaFormatName>> = {
  jpg: 'jpeg',
  png: 'png',
  apng: 'png', // animated PNG is still a PNG to any decoder
  gif: 'gif',
  webp: 'webp',
  mp3: 'mp3',
  wav: 'wav',
  flac: 'flac',
  ogg: 'ogg', // file-type says 'ogg' only for Vorbis; Ogg FLAC/Speex come back as oga/spx
  opus: 'opus',
  m4a: 'm4a',
  m4b: 'm4a',
  f4a: 'm4a',
  f4b: 'm4a',
  aac: 'aac',
};

/**
 * Decides a file's type from its bytes alone. The URL and the Content-Type the source claimed
 * do not count: only what the bytes prove. Anything else comes back unsupported, with the mime
 * type the bytes revealed (or null when they reveal nothing).
 */
export async function sniffMedia(bytes: Uint8Array): Promise<SniffResult> {
  if (bytes.length === 0) return unsupported(null);
  const detected = await fileTypeFromBuffer(bytes);
  if (!detected) return unsupported(looksLikeText(bytes) ? 'text/plain' : null);

  const direct = FORMAT_BY_DETECTED_EXTENSION[detected.ext];
  if (direct) return supported(direct);

  switch (detected.ext) {
    case 'mp4':
      // Generic ISO-BMFF brands (isom, mp42...) hold audio-only files too: the track handlers tell.
      return isoTrackKinds(bytes) === 'audio-only' ? supported('m4a') : unsupported(detected.mime);
    case 'webm':
      return webmTrackKinds(bytes) === 'audio-only' ? supported('webm') : unsupported(detected.mime);
    default:
      return unsupported(detected.mime);
  }
}

type TrackKinds = 'audio-only' | 'has-video' | 'unknown';

/** Scans ISO-BMFF 'hdlr' boxes: handler type 'soun' is audio, 'vide' is video. */
function isoTrackKinds(bytes: Uint8Array): TrackKinds {
  // hdlr box body: version/flags (4), pre_defined (4), handler_type (4).
  let audio = false;
  for (let at = indexOfAscii(bytes, 'hdlr', 0); at !== -1; at = indexOfAscii(bytes, 'hdlr', at + 4)) {
    const handler = asciiAt(bytes, at + 12, 4);
    if (handler === 'vide') return 'has-video';
    if (handler === 'soun') audio = true;
  }
  return audio ? 'audio-only' : 'unknown';
}

const WEBM_CLUSTER_ID = [0x1f, 0x43, 0xb6, 0x75];
const WEBM_HEADER_SCAN_LIMIT = 1024 * 1024;

/** Scans Matroska/WebM CodecID elements (id 0x86): "A_..." is an audio track, "V_..." video. */
function webmTrackKinds(bytes: Uint8Array): TrackKinds {
  // Tracks come before the first Cluster; stopping there keeps frame data from looking like a CodecID.
  const firstCluster = indexOfBytes(bytes, WEBM_CLUSTER_ID, 0);
  const end = Math.min(firstCluster === -1 ? bytes.length : firstCluster, WEBM_HEADER_SCAN_LIMIT);
  let audio = false;
  for (let at = 0; at < end - 3; at++) {
    if (bytes[at] !== 0x86) continue;
    const size = bytes[at + 1]!;
    // One-byte EBML size (0x80 | n) followed by a short ASCII codec id like "A_OPUS" or "V_VP9".
    if ((size & 0x80) === 0 || (size & 0x7f) < 3 || (size & 0x7f) > 32) continue;
    const prefix = asciiAt(bytes, at + 2, 2);
    if (prefix === 'V_') return 'has-video';
    if (prefix === 'A_') audio = true;
  }
  return audio ? 'audio-only' : 'unknown';
}

function asciiAt(bytes: Uint8Array, offset: number, length: number): string {
  if (offset + length > bytes.length) return '';
  return String.fromCharCode(...bytes.subarray(offset, offset + length));
}

function indexOfAscii(bytes: Uint8Array, needle: string, from: number): number {
  return indexOfBytes(bytes, [...needle].map((char) => char.charCodeAt(0)), from);
}

function indexOfBytes(bytes: Uint8Array, needle: readonly number[], from: number): number {
  const [first, ...rest] = needle;
  if (first === undefined) return -1;
  for (let at = bytes.indexOf(first, from); at !== -1 && at <= bytes.length - needle.length; at = bytes.indexOf(first, at + 1)) {
    if (rest.every((byte, i) => bytes[at + 1 + i] === byte)) return at;
  }
  return -1;
}

/** Valid UTF-8 without control bytes other than tab/newline/CR/form feed, judged on the first 4 KiB. */
function looksLikeText(bytes: Uint8Array): boolean {
  const head = bytes.subarray(0, 4096);
  for (const byte of head) {
    if (byte < 0x20 && byte !== 0x09 && byte !== 0x0a && byte !== 0x0d && byte !== 0x0c) return false;
    if (byte === 0x7f) return false;
  }
  try {
    // A multi-byte character cut at the 4 KiB boundary is not a reason to call it binary.
    new TextDecoder('utf-8', { fatal: true }).decode(head.length < bytes.length ? trimPartialUtf8(head) : head);
    return true;
  } catch {
    return false;
  }
}

function trimPartialUtf8(head: Uint8Array): Uint8Array {
  let end = head.length;
  // Step back over continuation bytes (10xxxxxx) and the lead byte that started them.
  for (let back = 0; back < 3 && end > 0 && (head[end - 1]! & 0xc0) === 0x80; back++) end--;
  if (end > 0 && head[end - 1]! >= 0xc0) end--;
  return head.subarray(0, end);
}
