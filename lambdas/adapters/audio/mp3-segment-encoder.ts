// Audio normaliser helper: audio-normaliser -> here -> a worker thread running mp3-encode-worker.ts
// (LAME in WebAssembly). Takes ffmpeg's mono 16 kHz f32le PCM as it streams out of the pipe and
// hands back one standalone MP3 per model-window segment. The encode runs in the worker, so the
// extractor's event loop (5 records at a time) stays free, and it overlaps ffmpeg's decoding.
// Flow control: write() says false while more than HIGH_WATER_BYTES of PCM wait in the worker, and
// 'drain' fires when they are encoded, so a decoder faster than the encoder cannot queue a whole
// 2-hour recording (460 MB of float PCM) in memory.
import { EventEmitter } from 'node:events';
import { Worker } from 'node:worker_threads';
import { MP3_ENCODE_WORKER_BUNDLE_FILE } from '../../../lib/handler-bundling';

/** Source runs the .ts (Node strips the types); the extractor bundle has the built worker beside it (lib/handler-bundling.ts). */
const WORKER_URL = import.meta.url.endsWith('.ts')
  ? new URL('./mp3-encode-worker.ts', import.meta.url)
  : new URL(`./${MP3_ENCODE_WORKER_BUNDLE_FILE}`, import.meta.url);

/** About 33 s of 16 kHz float PCM in flight: enough to keep the worker busy between pipe reads. */
const HIGH_WATER_BYTES = 2 * 1024 * 1024;
/** The worker's JavaScript holds one segment's MP3 and the queued PCM; LAME's own memory is WebAssembly's, outside this limit. */
const WORKER_HEAP_MB = 128;

export interface EncodedSegment {
  readonly bytes: Uint8Array;
  /** PCM samples this segment encodes (the MP3 decodes to these plus LAME's delay and padding). */
  readonly samples: number;
}

export interface EncodeResult {
  readonly segments: readonly EncodedSegment[];
  readonly totalSamples: number;
}

type Reply =
  | { readonly kind: 'ready' }
  | { readonly kind: 'consumed'; readonly bytes: number }
  | { readonly kind: 'segment'; readonly index: number; readonly samples: number; readonly bytes: Uint8Array }
  | { readonly kind: 'done'; readonly totalSamples: number }
  | { readonly kind: 'error'; readonly message: string };

/** The encoder failed (worker crash, LAME error): a fault of the deployment, not of the file. */
export class Mp3EncoderError extends Error {
  override readonly name = 'Mp3EncoderError';
}

export class Mp3SegmentEncoder extends EventEmitter<{ drain: [] }> {
  private readonly worker: Worker;
  private readonly segments: EncodedSegment[] = [];
  private inFlight = 0;
  private failure: Error | undefined;
  private finished: { resolve: (result: EncodeResult) => void; reject: (error: Error) => void } | undefined;
  private ended = false;

  /** Starts the worker at once (it compiles LAME while the caller reads the header). */
  constructor(options: {
    readonly sampleRate: 16_000;
    readonly bitrateKbps: number;
    readonly segmentSamples: number;
    /** The worker file. @default mp3-encode-worker.ts from source, mp3-encode-worker.mjs beside a bundle */
    readonly workerUrl?: URL;
  }) {
    super();
    this.worker = new Worker(options.workerUrl ?? WORKER_URL, {
      workerData: { sampleRate: options.sampleRate, bitrateKbps: options.bitrateKbps, segmentSamples: options.segmentSamples },
      resourceLimits: { maxOldGenerationSizeMb: WORKER_HEAP_MB, stackSizeMb: 4 },
      // Nothing from the function's environment is needed to encode samples.
      env: {},
      stdout: false,
      stderr: false,
    });
    this.worker.on('message', (reply: Reply) => this.onReply(reply));
    this.worker.on('error', (error) => this.fail(new Mp3EncoderError(`the MP3 encoder worker failed: ${error.message}`, { cause: error })));
    this.worker.on('exit', (code) => this.fail(new Mp3EncoderError(`the MP3 encoder worker exited (code ${code}) before it finished`)));
  }

  /** Queues PCM bytes (f32le, mono); false once the caller should wait for 'drain'. */
  write(chunk: Uint8Array): boolean {
    if (this.failure || this.ended) return true;
    // A copy of the view's own bytes, moved: cloning a Buffer would copy its whole underlying buffer.
    const bytes = new Uint8Array(chunk);
    this.inFlight += bytes.byteLength;
    this.worker.postMessage({ kind: 'pcm', bytes }, [bytes.buffer]);
    return this.inFlight <= HIGH_WATER_BYTES;
  }

  /** No more PCM: resolves with every segment once the worker has encoded what it was given. */
  end(): Promise<EncodeResult> {
    this.ended = true;
    return new Promise((resolve, reject) => {
      if (this.failure) return reject(this.failure);
      this.finished = { resolve, reject };
      this.worker.postMessage({ kind: 'end' });
    });
  }

  /** Stops the worker; safe to call at any time, and again. */
  async close(): Promise<void> {
    this.ended = true;
    this.worker.removeAllListeners('exit');
    await this.worker.terminate();
  }

  private onReply(reply: Reply): void {
    switch (reply.kind) {
      case 'ready':
        return;
      case 'consumed': {
        const wasOver = this.inFlight > HIGH_WATER_BYTES;
        this.inFlight -= reply.bytes;
        if (wasOver && this.inFlight <= HIGH_WATER_BYTES) this.emit('drain');
        return;
      }
      case 'segment':
        if (reply.index !== this.segments.length) return this.fail(new Mp3EncoderError(`the MP3 encoder sent segment ${reply.index} out of order`));
        this.segments.push({ bytes: reply.bytes, samples: reply.samples });
        return;
      case 'done':
        this.finished?.resolve({ segments: this.segments, totalSamples: reply.totalSamples });
        this.finished = undefined;
        void this.close();
        return;
      case 'error':
        return this.fail(new Mp3EncoderError(`the MP3 encoder failed: ${reply.message.slice(0, 200)}`));
    }
  }

  private fail(error: Error): void {
    if (this.failure) return;
    this.failure = error;
    // A writer waiting for 'drain' must not wait for ever: it learns of the failure at end().
    this.emit('drain');
    this.finished?.reject(error);
    this.finished = undefined;
    void this.close();
  }
}
