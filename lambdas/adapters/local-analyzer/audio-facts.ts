// Local analyzer, audio part: extractor -> local analyzer -> here. Reads the stream facts and
// tags of an audio file with music-metadata and words them as an AudioResult. music-metadata
// runs in the parser worker (metadata-parser/), on bytes whose tag blocks are within budget.
import { PermanentJobError } from '../../core/errors';
import { boundAudioTags } from '../metadata-parser/audio-tag-budget';
import { defaultMetadataParser, MetadataParseError, type AudioTagFacts, type MetadataParser } from '../metadata-parser/metadata-parser';
import { normalizeKeywords, type AudioResult } from '../../core/metadata-result';
import { article, capitalise, cleanText, errorSummary, truncate } from './text';

const AUDIO_FORMAT_LABELS: Readonly<Record<string, string>> = {
  mp3: 'MP3',
  wav: 'WAV',
  flac: 'FLAC',
  ogg: 'Ogg Vorbis',
  opus: 'Opus',
  m4a: 'M4A',
  aac: 'AAC',
  webm: 'WebM',
};

export interface AudioAnalysisOptions {
  /** @default defaultMetadataParser() */
  readonly parser?: MetadataParser;
  /** @default settings.decode.maxAudioTagBytes (1 MiB) */
  readonly maxTagBytes?: number;
}

/**
 * `format` is the sniffed short name (mp3, wav...), used for wording and to find tag blocks; the
 * bytes are parsed as they are, less any tag block over budget.
 */
export async function describeAudio(bytes: Uint8Array, format: string, options: AudioAnalysisOptions = {}): Promise<AudioResult> {
  const bounded = boundAudioTags(bytes, format, options.maxTagBytes ?? 1024 * 1024);
  let parsed: AudioTagFacts;
  try {
    // No mime hint: music-metadata given a wrong one returns an empty result instead of failing.
    parsed = await (options.parser ?? defaultMetadataParser()).parseAudio(bounded.bytes, { duration: true });
  } catch (error) {
    if (!(error instanceof MetadataParseError)) throw error;
    throw new PermanentJobError('unsupported_media_type', `The audio could not be parsed: ${errorSummary(error)}`, { cause: error });
  }

  const stream = parsed.format;
  if (!stream.duration || !(stream.duration > 0) || !Number.isFinite(stream.duration)) {
    // A header with no decodable frames behind it (truncated, or a stray sync word in other data).
    throw new PermanentJobError('unsupported_media_type', 'The audio could not be parsed: no playable audio stream found');
  }

  const durationSeconds = Math.round(stream.duration * 100) / 100;
  const channels = stream.numberOfChannels ?? null;
  const layout = channelLayout(channels);
  const codec = cleanText(stream.codec) ?? null;
  const codecKeyword = codec ? shortCodecName(codec) : undefined;
  const label = AUDIO_FORMAT_LABELS[format] ?? format.toUpperCase();
  const sampleRate = stream.sampleRate ?? null;
  const bitrateKbps = stream.bitrate ? Math.round(stream.bitrate / 1000) : null;

  const tags = parsed.common;
  const title = cleanText(tags.title);
  const artist = cleanText(tags.artist) ?? cleanText(tags.artists?.[0]);
  const album = cleanText(tags.album);
  const genres = (tags.genre ?? []).map(cleanText).filter((genre): genre is string => genre !== undefined);
  const year = tags.year && Number.isInteger(tags.year) && tags.year > 0 ? tags.year : null;

  const length = durationPhrase(durationSeconds);
  const shape = [length, layout, label].filter(Boolean).join(' ');
  const technical = [
    codec,
    sampleRate ? `${formatNumber(sampleRate / 1000)} kHz` : undefined,
    stream.bitsPerSample ? `${stream.bitsPerSample}-bit` : undefined,
    bitrateKbps ? `${bitrateKbps} kbps` : undefined,
    stream.lossless ? 'lossless' : undefined,
  ].filter(Boolean);

  const sentences = [`${capitalise(article(shape))} ${shape} recording${technical.length > 0 ? ` (${technical.join(', ')})` : ''}.`];
  const credits = creditsSentence(title, artist, album, year);
  if (credits) sentences.push(credits);
  if (genres.length > 0) sentences.push(`Genre: ${genres.join(', ')}.`);

  return {
    description: truncate(sentences.join(' '), 2000),
    summary: truncate(summarySentence(shape, title, artist), 400),
    keywords: normalizeKeywords([
      ...genres,
      ...(artist ? [artist] : []),
      ...(codecKeyword ? [codecKeyword] : []),
      format,
      ...(layout ? [layout === 'stereo' || layout === 'mono' ? layout : 'multichannel'] : []),
      durationBucket(durationSeconds),
      ...(stream.lossless ? ['lossless'] : []),
    ]),
    properties: {
      duration_seconds: durationSeconds,
      format,
      container: cleanText(stream.container) ?? null,
      codec,
      sample_rate_hz: sampleRate,
      channels,
      channel_layout: layout ?? null,
      bitrate_kbps: bitrateKbps,
      bits_per_sample: stream.bitsPerSample ?? null,
      lossless: stream.lossless ?? null,
      title: title ?? null,
      artist: artist ?? null,
      album: album ?? null,
      genre: genres.length > 0 ? genres.join(', ') : null,
      year,
      tag_formats: [...stream.tagTypes],
    },
  };
}

function channelLayout(channels: number | null): string | undefined {
  if (!channels) return undefined;
  if (channels === 1) return 'mono';
  if (channels === 2) return 'stereo';
  return `${channels}-channel`;
}

/** music-metadata's codec names ("MPEG 1 Layer 3", "Vorbis I") as a searchable word. */
function shortCodecName(codec: string): string {
  const known: [RegExp, string][] = [
    [/layer 3/i, 'mp3'],
    [/layer 2/i, 'mp2'],
    [/^pcm/i, 'pcm'],
    [/flac/i, 'flac'],
    [/vorbis/i, 'vorbis'],
    [/opus/i, 'opus'],
    [/alac/i, 'alac'],
    [/aac/i, 'aac'],
  ];
  return known.find(([pattern]) => pattern.test(codec))?.[1] ?? codec.toLowerCase();
}

/** 2.04 -> "2.04-second", 205 -> "3 min 25 s", 3725 -> "1 h 2 min". */
function durationPhrase(seconds: number): string {
  if (seconds < 60) return `${formatNumber(seconds)}-second`;
  const whole = Math.round(seconds);
  if (whole < 3600) return `${Math.floor(whole / 60)} min ${whole % 60} s`;
  return `${Math.floor(whole / 3600)} h ${Math.floor((whole % 3600) / 60)} min`;
}

function durationBucket(seconds: number): string {
  if (seconds < 30) return 'under 30 seconds';
  if (seconds < 600) return 'under 10 minutes';
  if (seconds < 3600) return 'under 1 hour';
  return 'over 1 hour';
}

/** 'Titled "T" by A, from the album "B" (2024).' and shorter variants; undefined without tags. */
function creditsSentence(title?: string, artist?: string, album?: string, year?: number | null): string | undefined {
  const parts: string[] = [];
  if (title) parts.push(`Titled "${title}"`);
  if (artist) parts.push(parts.length > 0 ? `by ${artist}` : `By ${artist}`);
  let sentence = parts.join(' ');
  if (album) sentence += `${sentence ? ', from' : 'From'} the album "${album}"`;
  if (year) sentence += sentence ? ` (${year})` : `Released in ${year}`;
  return sentence ? `${sentence}.` : undefined;
}

/** Exactly one sentence: '"T" by A, a 2.04-second stereo MP3 recording.' */
function summarySentence(shape: string, title?: string, artist?: string): string {
  const recording = `${article(shape)} ${shape} recording`;
  if (title) return `"${title}"${artist ? ` by ${artist}` : ''}, ${recording}.`;
  return `${capitalise(recording)}${artist ? ` by ${artist}` : ''}.`;
}

/** Up to two decimals, no trailing zeros: 44.1, 2.04, 1. */
function formatNumber(value: number): string {
  return String(Math.round(value * 100) / 100);
}
