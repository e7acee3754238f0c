// Byte budget for audio tag blocks: local analyzer / audio normaliser -> here -> MetadataParser
// (and ffmpeg). music-metadata turns every ID3 frame and Vorbis comment into objects, so a 42 MB
// tag of tiny frames costs ~1 GB and a FLAC with 6.9 million comments runs for minutes. This walks
// the block headers only (cheap, bounded by the file size) and leaves out any tag over the budget:
// the audio behind it is still read, just without those tags.
// Covered: leading ID3v2 tags (any format), an APEv2 tag at the end of an MP3, FLAC metadata
// blocks. Other containers (Ogg, MP4, WAV, WebM) rely on the parser worker's time and memory budget.

export interface BoundedAudio {
  /** The bytes to parse and decode: the input itself when nothing was over budget. */
  readonly bytes: Uint8Array;
  /** Human notes on what was left out, e.g. "ID3v2 tag with 3000000 frames (limit 1024)". */
  readonly skipped: readonly string[];
}

/** Frames in one ID3v2 tag; a real tag holds tens. */
export const MAX_ID3_FRAMES = 1024;
/** Consecutive ID3v2 tags at the start; more than a few is not a real file. */
const MAX_ID3_TAGS = 16;
/** FLAC metadata blocks kept; the format allows any number, real files hold under ten. */
export const MAX_FLAC_BLOCKS = 64;

const FLAC_VORBIS_COMMENT = 4;

export function boundAudioTags(bytes: Uint8Array, format: string, maxTagBytes: number): BoundedAudio {
  const skipped: string[] = [];
  let view = bytes;
  const id3 = leadingId3(view, maxTagBytes);
  if (id3.overBudget) {
    skipped.push(id3.overBudget);
    view = view.subarray(id3.end);
  }
  if (format === 'mp3') {
    const ape = trailingApe(view, maxTagBytes);
    if (ape) {
      skipped.push(ape.note);
      view = view.subarray(0, ape.start);
    }
  }
  if (format === 'flac') {
    const flac = boundFlacBlocks(view, id3.overBudget ? 0 : id3.end, maxTagBytes);
    if (flac) {
      skipped.push(...flac.skipped);
      view = flac.bytes;
    }
  }
  return { bytes: view, skipped };
}

const synchsafe = (b: Uint8Array, at: number): number =>
  ((b[at]! & 0x7f) << 21) | ((b[at + 1]! & 0x7f) << 14) | ((b[at + 2]! & 0x7f) << 7) | (b[at + 3]! & 0x7f);
const uint32 = (b: Uint8Array, at: number): number => ((b[at]! << 24) >>> 0) + (b[at + 1]! << 16) + (b[at + 2]! << 8) + b[at + 3]!;
const isAscii = (b: Uint8Array, at: number, text: string): boolean => [...text].every((char, i) => b[at + i] === char.charCodeAt(0));

/** Where the leading ID3v2 tags end, and why they are over budget (if they are). */
function leadingId3(bytes: Uint8Array, maxTagBytes: number): { readonly end: number; readonly overBudget?: string } {
  let offset = 0;
  let overBudget: string | undefined;
  for (let tags = 0; offset + 10 <= bytes.length && isAscii(bytes, offset, 'ID3'); tags++) {
    const version = bytes[offset + 3]!;
    const flags = bytes[offset + 5]!;
    const size = synchsafe(bytes, offset + 6);
    const end = Math.min(bytes.length, offset + 10 + size + (version === 4 && flags & 0x10 ? 10 : 0));
    if (tags >= MAX_ID3_TAGS) overBudget ??= `more than ${MAX_ID3_TAGS} ID3v2 tags`;
    overBudget ??= id3FramesOverBudget(bytes, offset, end, version, flags, maxTagBytes);
    offset = end;
  }
  return overBudget ? { end: offset, overBudget } : { end: offset };
}

function id3FramesOverBudget(bytes: Uint8Array, start: number, end: number, version: number, flags: number, maxTagBytes: number): string | undefined {
  const unsynchronised = (flags & 0x80) !== 0 && version < 4;
  if (unsynchronised || version < 2 || version > 4) {
    // Frame headers cannot be walked reliably: the tag's size is its text size.
    const size = end - start - 10;
    return size > maxTagBytes ? `ID3v2 tag of ${size} bytes over the ${maxTagBytes}-byte tag budget` : undefined;
  }
  let offset = start + 10;
  if (flags & 0x40 && version >= 3) offset += version === 4 ? synchsafe(bytes, offset) : uint32(bytes, offset) + 4;
  const headerLength = version === 2 ? 6 : 10;
  let frames = 0;
  let textBytes = 0;
  while (offset + headerLength <= end && bytes[offset] !== 0) {
    const id = String.fromCharCode(...bytes.subarray(offset, offset + (version === 2 ? 3 : 4)));
    const size =
      version === 2
        ? (bytes[offset + 3]! << 16) | (bytes[offset + 4]! << 8) | bytes[offset + 5]!
        : version === 4
          ? synchsafe(bytes, offset + 4)
          : uint32(bytes, offset + 4);
    frames += 1;
    if (id !== 'APIC' && id !== 'PIC') textBytes += size;
    if (frames > MAX_ID3_FRAMES) return `ID3v2 tag with more than ${MAX_ID3_FRAMES} frames`;
    if (textBytes > maxTagBytes) return `ID3v2 tag with more than ${maxTagBytes} bytes of text frames (the tag budget)`;
    offset += headerLength + size;
  }
  return undefined;
}

/** APEv2 footer ("APETAGEX", 32 bytes) at the end, or before an ID3v1 tag. */
function trailingApe(bytes: Uint8Array, maxTagBytes: number): { readonly start: number; readonly note: string } | undefined {
  for (const footerEnd of [bytes.length, bytes.length - 128]) {
    const footer = footerEnd - 32;
    if (footer < 0 || !isAscii(bytes, footer, 'APETAGEX')) continue;
    const le32 = (at: number) => (bytes[at]! | (bytes[at + 1]! << 8) | (bytes[at + 2]! << 16) | (bytes[at + 3]! << 24)) >>> 0;
    const size = le32(footer + 12);
    const items = le32(footer + 16);
    if (size <= maxTagBytes && items <= MAX_ID3_FRAMES) return undefined;
    const hasHeader = (le32(footer + 20) & 0x80000000) !== 0;
    return { start: Math.max(0, footerEnd - size - (hasHeader ? 32 : 0)), note: `APEv2 tag of ${size} bytes with ${items} items over the tag budget` };
  }
  return undefined;
}

/** FLAC without the Vorbis comment blocks over budget (and blocks past MAX_FLAC_BLOCKS); undefined when all fit. */
function boundFlacBlocks(bytes: Uint8Array, start: number, maxTagBytes: number): BoundedAudio | undefined {
  if (!isAscii(bytes, start, 'fLaC')) return undefined;
  const kept: Uint8Array[] = [];
  const skipped: string[] = [];
  let offset = start + 4;
  let blocks = 0;
  let last = false;
  while (!last && offset + 4 <= bytes.length) {
    const type = bytes[offset]! & 0x7f;
    last = (bytes[offset]! & 0x80) !== 0;
    const length = (bytes[offset + 1]! << 16) | (bytes[offset + 2]! << 8) | bytes[offset + 3]!;
    const end = Math.min(bytes.length, offset + 4 + length);
    blocks += 1;
    if (blocks > MAX_FLAC_BLOCKS) {
      if (blocks === MAX_FLAC_BLOCKS + 1) skipped.push(`FLAC metadata blocks past the first ${MAX_FLAC_BLOCKS}`);
    } else if (type === FLAC_VORBIS_COMMENT && length > maxTagBytes) {
      skipped.push(`FLAC Vorbis comment block of ${length} bytes over the ${maxTagBytes}-byte tag budget`);
    } else {
      kept.push(bytes.subarray(offset, end));
    }
    offset = end;
  }
  if (skipped.length === 0) return undefined;
  // The last kept block carries the "last metadata block" flag; the audio frames follow unchanged.
  const audio = bytes.subarray(offset);
  const out = new Uint8Array(4 + kept.reduce((sum, block) => sum + block.length, 0) + audio.length);
  out.set(bytes.subarray(start, start + 4), 0);
  let at = 4;
  for (const [index, block] of kept.entries()) {
    out.set(block, at);
    out[at] = (block[0]! & 0x7f) | (index === kept.length - 1 ? 0x80 : 0);
    at += block.length;
  }
  out.set(audio, at);
  return { bytes: out, skipped };
}
