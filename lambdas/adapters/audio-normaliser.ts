// Adapter (ffmpeg): bedrock-provider -> AudioNormaliser.normalise -> here. Re-encodes any
// accepted audio upload as mono 16 kHz MP3 (the format AWS's Voxtral sample sends), cut into
// segments of the model's audio window, and keeps the original's facts for `properties`.
// The local analyzer never comes here: it reads the original bytes.
//
// Order of work, cheapest refusal first: music-metadata reads the header (duration, tags) and
// refuses a file over the limit before anything is decoded; ffmpeg, a separate process with a
// forced demuxer, pipe-only I/O, a time budget and an output cap, decodes, down-mixes and
// resamples to mono 16 kHz 16-bit PCM; its own header report can still stop it early. The PCM
// streams to a worker thread that encodes it with LAME in WebAssembly while ffmpeg decodes (two
// cores overlap, less CPU in all than ffmpeg's own libmp3lame build: BENCHMARKS.md), one fresh
// encoder per model-window segment, so each segment stands alone. The frames are then checked.
import { describeLimitOwner } from '../core/audio-limit';
import { PermanentJobError } from '../core/errors';
import type { AudioNormaliseOptions, AudioNormaliser, NormalisedAudio, NormalisedAudioSegment, OriginalAudioFacts } from '../core/ports';
import { runFfmpeg, type FfmpegOutcome } from './audio/ffmpeg-process';
import { parseMp3Frames, type Mp3Frame } from './audio/mp3-frames';
import { Mp3SegmentEncoder, type EncodeResult, type EncodedSegment } from './audio/mp3-segment-encoder';
import { boundAudioTags } from './metadata-parser/audio-tag-budget';
import { defaultMetadataParser, MetadataParseError, type AudioTagFacts, type MetadataParser } from './metadata-parser/metadata-parser';

export const NORMALISED_SAMPLE_RATE = 16_000;
/** Speech at 16 kHz mono stays intelligible at 32 kbps (AWS's Voxtral sample uses the same). */
export const DEFAULT_NORMALISED_BITRATE_KBPS = 32;
/** MPEG-2 Layer III frames hold 576 samples: 36 ms at 16 kHz. */
const SAMPLES_PER_FRAME = 576;
/** ffmpeg's output: 16-bit mono PCM (half the pipe and copy cost of float; far finer than a 32 kbps MP3 keeps). */
const PCM_BYTES_PER_SAMPLE = 2;
const MAX_TAGS = 12;
const MAX_TAG_CHARS = 200;

/** Our format names -> the ffmpeg demuxer forced for them, so hostile bytes cannot pick another. */
const DEMUXER_BY_FORMAT: Readonly<Record<string, string>> = {
  mp3: 'mp3',
  wav: 'wav',
  flac: 'flac',
  ogg: 'ogg',
  opus: 'ogg',
  m4a: 'mov',
  aac: 'aac',
  webm: 'matroska',
};

export const NORMALISABLE_FORMATS: readonly string[] = Object.keys(DEMUXER_BY_FORMAT);

export interface AudioNormaliserOptions {
  /** The ffmpeg executable. @default the one @ffmpeg-installer/ffmpeg installed for this platform */
  readonly ffmpegPath?: string;
  /** Wall-clock limit for one file's decode + encode (ffmpeg and the encoder worker); past it the file fails `file_unreadable`. @default 60000 */
  readonly timeBudgetMs?: number;
  /** @default 32 */
  readonly bitrateKbps?: 24 | 32 | 40 | 48 | 64;
  /** Reads the header (music-metadata) off the main thread within its budgets. @default defaultMetadataParser() */
  readonly parser?: MetadataParser;
  /** Tag blocks over this are left out before parsing and decoding (audio-tag-budget.ts). @default 1 MiB */
  readonly maxTagBytes?: number;
}

/**
 * The ffmpeg to run: METAHOOK_FFMPEG_PATH, else the binary of the installed
 * @ffmpeg-installer platform package; undefined when neither is there (normalisation off).
 */
export async function findFfmpeg(env: Record<string, string | undefined> = process.env): Promise<string | undefined> {
  const configured = env.METAHOOK_FFMPEG_PATH?.trim();
  if (configured) return configured;
  try {
    // External to the bundles (lib/handler-bundling.ts): installed beside the extractor's bundle.
    const installer = await import('@ffmpeg-installer/ffmpeg');
    return (installer.default ?? installer).path;
  } catch {
    return undefined;
  }
}

/** The normaliser, or undefined when this deployment ships no ffmpeg. */
export async function createAudioNormaliser(options: AudioNormaliserOptions = {}): Promise<AudioNormaliser | undefined> {
  const ffmpegPath = options.ffmpegPath ?? (await findFfmpeg());
  return ffmpegPath ? new FfmpegAudioNormaliser({ ...options, ffmpegPath }) : undefined;
}

export class FfmpegAudioNormaliser implements AudioNormaliser {
  private readonly ffmpegPath: string;
  private readonly timeBudgetMs: number;
  private readonly bitrateKbps: number;
  private readonly parser: MetadataParser;
  private readonly maxTagBytes: number;

  constructor(options: AudioNormaliserOptions & { readonly ffmpegPath: string }) {
    this.ffmpegPath = options.ffmpegPath;
    this.timeBudgetMs = options.timeBudgetMs ?? 60_000;
    this.bitrateKbps = options.bitrateKbps ?? DEFAULT_NORMALISED_BITRATE_KBPS;
    this.parser = options.parser ?? defaultMetadataParser();
    this.maxTagBytes = options.maxTagBytes ?? 1024 * 1024;
  }

  async normalise(input: { readonly bytes: Uint8Array; readonly format: string }, options: AudioNormaliseOptions): Promise<NormalisedAudio> {
    const { segmentSeconds, maxDurationSeconds } = options;
    const owner = options.limitSetBy ?? 'deployment';
    if (!(segmentSeconds > 0) || !(maxDurationSeconds > 0)) {
      throw new RangeError(`segmentSeconds and maxDurationSeconds must be positive, got ${segmentSeconds} and ${maxDurationSeconds}`);
    }
    const demuxer = DEMUXER_BY_FORMAT[input.format];
    if (!demuxer) {
      throw new PermanentJobError('unsupported_media_type', `Audio format "${input.format}" cannot be normalised; accepted: ${NORMALISABLE_FORMATS.join(', ')}`);
    }

    const started = Date.now();
    // Started first: the worker compiles LAME while music-metadata reads the header.
    const encoder = new Mp3SegmentEncoder({
      sampleRate: NORMALISED_SAMPLE_RATE,
      bitrateKbps: this.bitrateKbps,
      segmentSamples: Math.max(1, Math.round(segmentSeconds * NORMALISED_SAMPLE_RATE)),
    });
    try {
      // ffmpeg parses the tags too (into its metadata dictionary): both get the bounded bytes.
      const bytes = boundAudioTags(input.bytes, input.format, this.maxTagBytes).bytes;
      const header = await readHeader(bytes, this.parser);
      if (header?.durationSeconds !== undefined) assertWithinLimit(header.durationSeconds, maxDurationSeconds, owner);

      const stream: StreamReport = {};
      const outcome = await runFfmpeg({
        ffmpegPath: this.ffmpegPath,
        args: this.ffmpegArgs(demuxer, maxDurationSeconds),
        input: bytes,
        timeoutMs: this.timeBudgetMs,
        // The -t cap bounds the output; the margin covers the resampler's rounding.
        maxOutputBytes: (maxDurationSeconds + 2) * NORMALISED_SAMPLE_RATE * PCM_BYTES_PER_SAMPLE + 64 * 1024,
        sink: encoder,
        inspectStderrLine: (line) => {
          readStreamReport(line, stream);
          // The container's own header, when the music-metadata read gave no duration.
          if (stream.durationSeconds !== undefined && stream.durationSeconds > maxDurationSeconds + 0.5) {
            return 'too_long';
          }
          return undefined;
        },
      });
      this.checkOutcome(outcome, maxDurationSeconds, owner, stream.durationSeconds);
      const encoded = await this.finishEncoding(encoder, started);

      if (encoded.totalSamples === 0) throw new PermanentJobError('file_unreadable', 'The audio could not be decoded: no audio samples in the file');
      const decodedSeconds = encoded.totalSamples / NORMALISED_SAMPLE_RATE;
      // -t stops ffmpeg one second past the limit, so a longer file shows here even when no header told.
      if (decodedSeconds > maxDurationSeconds + 0.5) assertWithinLimit(decodedSeconds, maxDurationSeconds, owner);

      return {
        original: originalFacts(header, stream, decodedSeconds),
        segments: this.segmentsOf(encoded.segments),
      };
    } finally {
      await encoder.close();
    }
  }

  /** What the worker still has queued, within what is left of the time budget. */
  private async finishEncoding(encoder: Mp3SegmentEncoder, started: number): Promise<EncodeResult> {
    const left = Math.max(0, this.timeBudgetMs - (Date.now() - started));
    let timer: NodeJS.Timeout | undefined;
    const budget = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new PermanentJobError('file_unreadable', `The audio could not be decoded within ${Math.round(this.timeBudgetMs / 1000)} s`)),
        left,
      );
    });
    try {
      return await Promise.race([encoder.end(), budget]);
    } finally {
      clearTimeout(timer);
    }
  }

  private ffmpegArgs(demuxer: string, maxDurationSeconds: number): string[] {
    return normaliserFfmpegArgs(demuxer, maxDurationSeconds);
  }

  private checkOutcome(outcome: FfmpegOutcome, maxDurationSeconds: number, owner: LimitOwner, reportedSeconds: number | undefined): void {
    switch (outcome.kind) {
      case 'exited':
        if (outcome.code === 0) return;
        if (/matches no streams|does not contain any stream/i.test(outcome.stderr)) {
          throw new PermanentJobError('unsupported_media_type', 'The file holds no audio stream');
        }
        throw new PermanentJobError('file_unreadable', `The audio could not be decoded: ${ffmpegError(outcome.stderr)}`);
      case 'stopped':
        throw tooLong(maxDurationSeconds, owner, reportedSeconds);
      case 'timed_out':
        throw new PermanentJobError('file_unreadable', `The audio could not be decoded within ${Math.round(this.timeBudgetMs / 1000)} s`);
      case 'output_too_large':
        throw tooLong(maxDurationSeconds, owner);
      case 'spawn_failed':
        // A deployment fault (binary missing or not executable), not the file's: let it retry and alarm.
        throw new Error(`ffmpeg could not be started at ${this.ffmpegPath}: ${outcome.error?.message ?? 'unknown error'}`, { cause: outcome.error });
    }
  }

  /** Each segment's frames checked; times are of the samples it encodes, not of LAME's delay and padding. */
  private segmentsOf(encoded: readonly EncodedSegment[]): NormalisedAudioSegment[] {
    let startSample = 0;
    return encoded.map((segment) => {
      assertOurEncoding(parseMp3Frames(segment.bytes).frames);
      const normalised: NormalisedAudioSegment = {
        bytes: segment.bytes,
        format: 'mp3',
        channels: 1,
        sampleRate: NORMALISED_SAMPLE_RATE,
        bitrateKbps: this.bitrateKbps,
        startSeconds: round3(startSample / NORMALISED_SAMPLE_RATE),
        durationSeconds: round3(segment.samples / NORMALISED_SAMPLE_RATE),
      };
      startSample += segment.samples;
      return normalised;
    });
  }
}

/** The one ffmpeg command line the normaliser runs (exported for the bench's memory probe). */
export function normaliserFfmpegArgs(demuxer: string, maxDurationSeconds: number): string[] {
  return [
    '-hide_banner', '-nostats', '-loglevel', 'info',
    // Only the pipes: a playlist or reference inside a hostile file cannot open a file or URL.
    '-protocol_whitelist', 'pipe',
    '-max_alloc', String(256 * 1024 * 1024),
    '-f', demuxer, '-i', 'pipe:0',
    '-map', '0:a:0', '-vn', '-sn', '-dn', '-map_metadata', '-1',
    '-t', String(maxDurationSeconds + 1),
    // Down-mix first, then resample the one channel left (-ac 1 -ar let swresample resample every
    // input channel); 16 filter taps instead of 32: what aliases lands at the top of the 8 kHz band,
    // which LAME low-passes at 32 kbps anyway. ~3% fewer instructions (npm run bench:audio-levers).
    // asetnsamples: 16384-sample packets (32 KB), not one per decoded frame (~0.8 KB), so the pipe is
    // read in a few hundred large chunks instead of ~15,000 small ones (less CPU in the extractor).
    '-af', `aformat=channel_layouts=mono,aresample=${NORMALISED_SAMPLE_RATE}:filter_size=16,asetnsamples=n=16384:p=0`,
    // Raw PCM for the WebAssembly LAME in the encoder worker (mp3-segment-encoder.ts).
    '-c:a', 'pcm_s16le', '-f', 's16le', 'pipe:1',
  ];
}

interface HeaderFacts {
  readonly durationSeconds?: number;
  readonly codec?: string;
  readonly channels?: number;
  readonly sampleRate?: number;
  readonly tags: Record<string, string>;
}

/**
 * What the container header says, without decoding; undefined when music-metadata cannot read it
 * (ffmpeg may still). A parse over the worker's time or memory budget refuses the file.
 */
async function readHeader(bytes: Uint8Array, parser: MetadataParser): Promise<HeaderFacts | undefined> {
  let parsed: AudioTagFacts;
  try {
    parsed = await parser.parseAudio(bytes, { duration: false });
  } catch (error) {
    if (error instanceof MetadataParseError) return undefined;
    throw error;
  }
  const format = parsed.format;
  const duration = format.duration;
  return {
    ...(duration !== undefined && Number.isFinite(duration) && duration > 0 ? { durationSeconds: duration } : {}),
    ...(format.codec ? { codec: format.codec } : {}),
    ...(format.numberOfChannels ? { channels: format.numberOfChannels } : {}),
    ...(format.sampleRate ? { sampleRate: format.sampleRate } : {}),
    tags: boundedTags(parsed.common),
  };
}

function boundedTags(common: AudioTagFacts['common']): Record<string, string> {
  const candidates: [string, unknown][] = [
    ['title', common.title],
    ['artist', common.artist],
    ['album', common.album],
    ['albumartist', common.albumartist],
    ['genre', common.genre?.join(', ')],
    ['year', common.year],
    ['date', common.date],
    ['composer', common.composer?.join(', ')],
    ['comment', common.comment?.[0]?.text],
    ['language', common.language],
    ['copyright', common.copyright],
    ['encodedby', common.encodedby],
  ];
  const tags: Record<string, string> = {};
  for (const [key, value] of candidates) {
    if (Object.keys(tags).length >= MAX_TAGS) break;
    if (value === undefined || value === null) continue;
    // Control characters out, whitespace collapsed, length capped: tags are attacker-written text.
    const text = String(value).replace(/[\u0000-\u001f\u007f]+/g, ' ').replace(/\s+/g, ' ').trim().slice(0, MAX_TAG_CHARS);
    if (text) tags[key] = text;
  }
  return tags;
}

interface StreamReport {
  section?: 'input' | 'output';
  durationSeconds?: number;
  codec?: string;
  channels?: number;
  sampleRate?: number;
}

const CHANNEL_LAYOUTS: Readonly<Record<string, number>> = { mono: 1, stereo: 2, '2.1': 3, '3.0': 3, quad: 4, '4.0': 4, '5.0': 5, '5.1': 6, '6.1': 7, '7.1': 8 };

/** Reads ffmpeg's "Input #0" report: `Duration: 00:10:00.03, ...` and `Stream #0:0: Audio: mp3, 44100 Hz, stereo, ...`. */
function readStreamReport(line: string, report: StreamReport): void {
  if (line.startsWith('Input #0')) report.section = 'input';
  else if (/^(Output #0|Stream mapping:)/.test(line)) report.section = 'output';
  if (report.section !== 'input') return;
  const duration = /^\s*Duration: (\d+):(\d{2}):(\d{2}(?:\.\d+)?)/.exec(line);
  if (duration) {
    report.durationSeconds = Number(duration[1]) * 3600 + Number(duration[2]) * 60 + Number(duration[3]);
    return;
  }
  const audio = /^\s*Stream #0:\d+.*?: Audio: ([a-z0-9_]+)[^,]*, (\d+) Hz, ([^,]+)/.exec(line);
  if (audio && report.codec === undefined) {
    report.codec = audio[1];
    report.sampleRate = Number(audio[2]);
    const layout = audio[3]!.trim().replace(/\(.*\)$/, '');
    const counted = /^(\d+) channels$/.exec(layout);
    report.channels = counted ? Number(counted[1]) : CHANNEL_LAYOUTS[layout];
  }
}

function originalFacts(header: HeaderFacts | undefined, stream: StreamReport, decodedSeconds: number): OriginalAudioFacts {
  const duration = header?.durationSeconds ?? stream.durationSeconds ?? decodedSeconds;
  return {
    duration_seconds: Math.round(duration * 100) / 100,
    codec: stream.codec ?? header?.codec?.toLowerCase() ?? 'unknown',
    channels: stream.channels ?? header?.channels ?? 0,
    sample_rate: stream.sampleRate ?? header?.sampleRate ?? 0,
    tags: header?.tags ?? {},
  };
}

/** Our own encoder wrote these; anything else means the pipeline is misconfigured, not the file. */
function assertOurEncoding(frames: readonly Mp3Frame[]): void {
  const wrong = frames.find((f) => f.layer !== 3 || f.sampleRate !== NORMALISED_SAMPLE_RATE || f.channels !== 1 || f.samples !== SAMPLES_PER_FRAME);
  if (wrong) {
    throw new Error(`the MP3 encoder wrote an unexpected frame at byte ${wrong.offset}: layer ${wrong.layer}, ${wrong.sampleRate} Hz, ${wrong.channels} channel(s)`);
  }
}

function assertWithinLimit(durationSeconds: number, maxDurationSeconds: number, owner: LimitOwner): void {
  if (durationSeconds > maxDurationSeconds + 0.5) {
    throw tooLong(maxDurationSeconds, owner, durationSeconds);
  }
}

type LimitOwner = NonNullable<AudioNormaliseOptions['limitSetBy']>;

function tooLong(maxDurationSeconds: number, owner: LimitOwner, durationSeconds?: number): PermanentJobError {
  const actual = durationSeconds === undefined ? 'longer than that' : `${Math.round(durationSeconds)} s long`;
  return new PermanentJobError(
    'file_too_long',
    `The audio is ${actual}; ${describeLimitOwner({ setBy: owner })} is ${maxDurationSeconds} s (${formatDuration(maxDurationSeconds)})`,
  );
}

function formatDuration(seconds: number): string {
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = Math.round(seconds % 60);
  return [h ? `${h} h` : '', m ? `${m} min` : '', s || (!h && !m) ? `${s} s` : ''].filter(Boolean).join(' ');
}

/** ffmpeg's last meaningful stderr line, without paths, bounded. */
function ffmpegError(stderr: string): string {
  const lines = stderr
    .split(/\r?\n/)
    .map((l) => l.trim().replace(/^pipe:\d+:\s*/, ''))
    .filter((l) => l && !/^(Input|Output|Stream|Duration|Metadata|\w+\s*:)/.test(l));
  return (lines.at(-1) ?? 'ffmpeg failed').slice(0, 200);
}

const round3 = (n: number): number => Math.round(n * 1000) / 1000;
