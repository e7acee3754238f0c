// Worker thread started by mp3-segment-encoder.ts: audio-normaliser -> Mp3SegmentEncoder -> here.
// Encodes the mono 16 kHz 16-bit PCM that ffmpeg decodes into MP3 with LAME compiled to WebAssembly
// (wasm-media-encoders), off the extractor's main thread, while ffmpeg is still decoding. Each
// segment of the model's window gets a freshly configured encoder at a sample boundary, so every
// segment is a stream of its own (LAME's bit reservoir never reaches back into another segment).
// One file at a time; the parent may send the next file's 'start' once this one is 'done', so the
// WebAssembly stays compiled (and optimised) across files.
// Self-contained (no relative imports, erasable TypeScript only): Node runs this file as it is
// from source, and the extractor bundle ships it built as mp3-encode-worker.mjs, with the .wasm
// inlined as a data: URL by the package itself (nothing to find on disk, any CPU architecture).
import { parentPort } from 'node:worker_threads';
import { createMp3Encoder } from 'wasm-media-encoders';

/** One file's settings. */
interface EncodeJob {
  readonly sampleRate: 16_000;
  readonly bitrateKbps: 24 | 32 | 40 | 48 | 64;
  /** Samples per segment (the model's window); the last segment may be shorter. */
  readonly segmentSamples: number;
}

type Request =
  | { readonly kind: 'start'; readonly job: EncodeJob }
  | { readonly kind: 'pcm'; readonly bytes: Uint8Array }
  | { readonly kind: 'end' };

/** Samples handed to LAME per call: bounds the PCM buffer it allocates inside its memory. */
const ENCODE_CALL_SAMPLES = 65_536;

if (!parentPort) throw new Error('mp3-encode-worker.ts runs only as a worker thread (mp3-segment-encoder.ts)');
const port = parentPort;

const encoder = await createMp3Encoder();

let job: EncodeJob | undefined;
let parts: Uint8Array[] = [];
let segmentIndex = 0;
let samplesInSegment = 0;
let totalSamples = 0;
/** A sample split across two writes (ffmpeg's writes need not end on a sample). */
let carry = new Uint8Array(0);
/** LAME takes floats in [-1, 1): each call's s16 samples are converted into this. */
let floats = new Float32Array(ENCODE_CALL_SAMPLES);

port.on('message', (request: Request) => {
  try {
    if (request.kind === 'start') {
      start(request.job);
    } else if (request.kind === 'pcm') {
      encodePcm(request.bytes);
      // Credit back to the parent, which pauses ffmpeg's stdout while too much is in flight.
      port.postMessage({ kind: 'consumed', bytes: request.bytes.byteLength });
    } else {
      if (samplesInSegment > 0) closeSegment();
      port.postMessage({ kind: 'done', totalSamples });
      job = undefined;
    }
  } catch (error) {
    port.postMessage({ kind: 'error', message: error instanceof Error ? error.message : String(error) });
  }
});
port.postMessage({ kind: 'ready' });

function start(next: EncodeJob): void {
  job = next;
  parts = [];
  segmentIndex = 0;
  samplesInSegment = 0;
  totalSamples = 0;
  carry = new Uint8Array(0);
  configure(next);
}

/** A new LAME state: configure() frees the previous one, so a segment owes nothing to the one before. */
function configure(settings: EncodeJob): void {
  // The output rate said too: left to itself LAME may pick a lower one for a low bitrate.
  encoder.configure({ sampleRate: settings.sampleRate, outputSampleRate: settings.sampleRate, channels: 1, bitrate: settings.bitrateKbps });
}

function encodePcm(bytes: Uint8Array): void {
  if (!job) throw new Error('PCM before start');
  let data = bytes;
  if (carry.byteLength > 0) {
    data = new Uint8Array(carry.byteLength + bytes.byteLength);
    data.set(carry);
    data.set(bytes, carry.byteLength);
  }
  const whole = data.byteLength - (data.byteLength % 2);
  carry = data.slice(whole);
  // A fresh copy when the view is not 2-byte aligned in its buffer (Int16Array needs that).
  const aligned = data.byteOffset % 2 === 0 ? data : data.slice(0, whole);
  const samples = new Int16Array(aligned.buffer, aligned.byteOffset, whole / 2);
  let at = 0;
  while (at < samples.length) {
    const take = Math.min(samples.length - at, ENCODE_CALL_SAMPLES, job.segmentSamples - samplesInSegment);
    if (floats.length < take) floats = new Float32Array(take);
    for (let i = 0; i < take; i++) floats[i] = samples[at + i]! / 32_768;
    // encode() returns a view into the encoder's memory, reused by the next call: copy it out.
    parts.push(encoder.encode([floats.subarray(0, take)]).slice());
    at += take;
    samplesInSegment += take;
    totalSamples += take;
    if (samplesInSegment === job.segmentSamples) closeSegment();
  }
}

function closeSegment(): void {
  parts.push(encoder.finalize().slice());
  const size = parts.reduce((sum, part) => sum + part.byteLength, 0);
  const mp3 = new Uint8Array(size);
  let offset = 0;
  for (const part of parts) {
    mp3.set(part, offset);
    offset += part.byteLength;
  }
  port.postMessage({ kind: 'segment', index: segmentIndex, samples: samplesInSegment, bytes: mp3 }, [mp3.buffer]);
  parts = [];
  segmentIndex += 1;
  samplesInSegment = 0;
  configure(job!);
}
