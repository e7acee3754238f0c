// Worker thread started by mp3-segment-encoder.ts: audio-normaliser -> Mp3SegmentEncoder -> here.
// Encodes the mono 16 kHz float PCM that ffmpeg decodes into MP3 with LAME compiled to WebAssembly
// (wasm-media-encoders), off the extractor's main thread, while ffmpeg is still decoding. Each
// segment of the model's window gets a freshly configured encoder at a sample boundary, so every
// segment is a stream of its own (LAME's bit reservoir never reaches back into another segment).
// Self-contained (no relative imports, erasable TypeScript only): Node runs this file as it is
// from source, and the extractor bundle ships it built as mp3-encode-worker.mjs, with the .wasm
// inlined as a data: URL by the package itself (nothing to find on disk, any CPU architecture).
import { parentPort, workerData } from 'node:worker_threads';
import { createMp3Encoder } from 'wasm-media-encoders';

/** What the parent sets once, at start. */
interface EncodeJob {
  readonly sampleRate: 16_000;
  readonly bitrateKbps: 24 | 32 | 40 | 48 | 64;
  /** Samples per segment (the model's window); the last segment may be shorter. */
  readonly segmentSamples: number;
}

type Request = { readonly kind: 'pcm'; readonly bytes: Uint8Array } | { readonly kind: 'end' };

/** Samples handed to LAME per call: bounds the PCM buffer it allocates inside its memory. */
const ENCODE_CALL_SAMPLES = 16_384;

if (!parentPort) throw new Error('mp3-encode-worker.ts runs only as a worker thread (mp3-segment-encoder.ts)');
const port = parentPort;
const job = workerData as EncodeJob;

const encoder = await createMp3Encoder();
const configure = () => encoder.configure({ sampleRate: job.sampleRate, channels: 1, bitrate: job.bitrateKbps });
configure();

let parts: Uint8Array[] = [];
let segmentIndex = 0;
let samplesInSegment = 0;
let totalSamples = 0;
/** Bytes of a float split across two pipe reads (ffmpeg's writes need not be 4-byte aligned). */
let carry = new Uint8Array(0);

port.on('message', (request: Request) => {
  try {
    if (request.kind === 'pcm') {
      encodePcm(request.bytes);
      // Credit back to the parent, which pauses ffmpeg's stdout while too much is in flight.
      port.postMessage({ kind: 'consumed', bytes: request.bytes.byteLength });
    } else {
      if (samplesInSegment > 0) closeSegment();
      port.postMessage({ kind: 'done', totalSamples });
    }
  } catch (error) {
    port.postMessage({ kind: 'error', message: error instanceof Error ? error.message : String(error) });
  }
});
port.postMessage({ kind: 'ready' });

function encodePcm(bytes: Uint8Array): void {
  let data = bytes;
  if (carry.byteLength > 0) {
    data = new Uint8Array(carry.byteLength + bytes.byteLength);
    data.set(carry);
    data.set(bytes, carry.byteLength);
  }
  const whole = data.byteLength - (data.byteLength % 4);
  carry = data.slice(whole);
  // A fresh copy when the view is not 4-byte aligned in its buffer (Float32Array needs that).
  const aligned = data.byteOffset % 4 === 0 ? data : data.slice(0, whole);
  const samples = new Float32Array(aligned.buffer, aligned.byteOffset, whole / 4);
  let at = 0;
  while (at < samples.length) {
    const take = Math.min(samples.length - at, ENCODE_CALL_SAMPLES, job.segmentSamples - samplesInSegment);
    // encode() returns a view into the encoder's memory, reused by the next call: copy it out.
    parts.push(encoder.encode([samples.subarray(at, at + take)]).slice());
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
  // configure() frees the LAME state and starts a new one: the next segment owes nothing to this one.
  configure();
}
