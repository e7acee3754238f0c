// Audio normaliser helper: audio-normaliser -> here -> a worker thread running mp3-encode-worker.ts
// (LAME in WebAssembly). Takes ffmpeg's mono 16 kHz s16le PCM as it streams out of the pipe and
// hands back one standalone MP3 per model-window segment. The encode runs in the worker, so the
// extractor's event loop (5 records at a time) stays free, and it overlaps ffmpeg's decoding.
// Flow control: write() says false while more than HIGH_WATER_BYTES of PCM wait in the worker, and
// 'drain' fires when they are encoded, so a decoder faster than the encoder cannot queue a whole
// 2-hour recording (230 MB of PCM) in memory.
// Workers are kept for the next file once one finishes cleanly (at most MAX_IDLE_WORKERS, unref'd):
// starting one and compiling LAME costs ~0.1-0.3 s of CPU, and its optimised code stays with it.
// A worker that failed, or whose file was abandoned, is terminated, never reused.
import { EventEmitter } from 'node:events';
import { Worker } from 'node:worker_threads';
import { MP3_ENCODE_WORKER_BUNDLE_FILE } from '../../../lib/handler-bundling';

/** Source runs the .ts (Node strips the types); the extractor bundle has the built worker beside it (lib/handler-bundling.ts). */
const WORKER_URL = import.meta.url.endsWith('.ts')
  ? new URL('./mp3-encode-worker.ts', import.meta.url)
  : new URL(`./${MP3_ENCODE_WORKER_BUNDLE_FILE}`, import.meta.url);

/** About 65 s of 16 kHz 16-bit PCM in flight: enough to keep the worker busy between pipe reads. */
const HIGH_WATER_BYTES = 2 * 1024 * 1024;
/** Pipe reads can be small (ffmpeg writes as it decodes): gathered to this before one message to the worker. */
const MESSAGE_BYTES = 256 * 1024;
/** The worker's JavaScript holds one segment's MP3 and the queued PCM; LAME's own memory is WebAssembly's, outside this limit. */
const WORKER_HEAP_MB = 128;
/** The extractor runs 5 records at a time, audio among them now and then: more idle workers than this are not worth their memory. */
const MAX_IDLE_WORKERS = 2;

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

const idle = new Map<string, Worker[]>();
/** An idle worker runs nothing, but an 'error' without a listener would end the process: dropped instead. */
const dropOnError = (): void => undefined;

function takeWorker(url: URL): Worker {
  const list = idle.get(url.href) ?? [];
  // threadId is -1 once a worker has exited (e.g. killed while idle): such a one is dropped.
  for (let kept = list.pop(); kept; kept = list.pop()) {
    kept.off('error', dropOnError);
    if (kept.threadId < 0) continue;
    kept.ref();
    return kept;
  }
  return new Worker(url, {
    resourceLimits: { maxOldGenerationSizeMb: WORKER_HEAP_MB, stackSizeMb: 4 },
    // Nothing from the function's environment is needed to encode samples.
    env: {},
    stdout: false,
    stderr: false,
  });
}

function keepWorker(url: URL, worker: Worker): void {
  const list = idle.get(url.href) ?? [];
  if (list.length >= MAX_IDLE_WORKERS) return void worker.terminate();
  // An idle worker must not keep a CLI or test process alive; one that dies while idle is dropped.
  worker.unref();
  worker.on('error', dropOnError);
  list.push(worker);
  idle.set(url.href, list);
}

export class Mp3SegmentEncoder extends EventEmitter<{ drain: [] }> {
  private readonly url: URL;
  private readonly worker: Worker;
  private readonly segments: EncodedSegment[] = [];
  private pending: Uint8Array[] = [];
  private pendingBytes = 0;
  private inFlight = 0;
  private failure: Error | undefined;
  private finished: { resolve: (result: EncodeResult) => void; reject: (error: Error) => void } | undefined;
  private ended = false;
  private released = false;

  /** Takes a kept worker or starts one at once (it compiles LAME while the caller reads the header). */
  constructor(options: {
    readonly sampleRate: 16_000;
    readonly bitrateKbps: number;
    readonly segmentSamples: number;
    /** The worker file. @default mp3-encode-worker.ts from source, mp3-encode-worker.mjs beside a bundle */
    readonly workerUrl?: URL;
  }) {
    super();
    this.url = options.workerUrl ?? WORKER_URL;
    this.worker = takeWorker(this.url);
    this.worker.on('message', this.onMessage);
    this.worker.on('error', this.onError);
    this.worker.on('exit', this.onExit);
    this.worker.postMessage({ kind: 'start', job: { sampleRate: options.sampleRate, bitrateKbps: options.bitrateKbps, segmentSamples: options.segmentSamples } });
  }

  /** The worker thread this file runs on (a kept worker keeps its id): for logs and tests. */
  get workerThreadId(): number {
    return this.worker.threadId;
  }

  /** Queues PCM bytes (s16le, mono); false once the caller should wait for 'drain'. */
  write(chunk: Uint8Array): boolean {
    if (this.failure || this.ended) return true;
    this.pending.push(chunk);
    this.pendingBytes += chunk.byteLength;
    if (this.pendingBytes >= MESSAGE_BYTES) this.flush();
    return this.inFlight <= HIGH_WATER_BYTES;
  }

  /** No more PCM: resolves with every segment once the worker has encoded what it was given. */
  end(): Promise<EncodeResult> {
    if (!this.ended && !this.failure) this.flush();
    this.ended = true;
    return new Promise((resolve, reject) => {
      if (this.failure) return reject(this.failure);
      this.finished = { resolve, reject };
      this.worker.postMessage({ kind: 'end' });
    });
  }

  /** Gives the worker back (when it finished cleanly) or stops it; safe to call at any time, and again. */
  async close(): Promise<void> {
    this.ended = true;
    if (this.released) return;
    this.released = true;
    this.detach();
    await this.worker.terminate();
  }

  // Our own listeners, removed one by one: a Worker carries listeners of Node's too.
  private readonly onMessage = (reply: Reply): void => this.onReply(reply);
  private readonly onError = (error: Error): void => this.fail(new Mp3EncoderError(`the MP3 encoder worker failed: ${error.message}`, { cause: error }));
  private readonly onExit = (code: number): void => this.fail(new Mp3EncoderError(`the MP3 encoder worker exited (code ${code}) before it finished`));

  private detach(): void {
    this.worker.off('message', this.onMessage);
    this.worker.off('error', this.onError);
    this.worker.off('exit', this.onExit);
  }

  /** One message, one copy: the gathered chunks into a buffer of their own, moved to the worker. */
  private flush(): void {
    if (this.pendingBytes === 0) return;
    const bytes = new Uint8Array(this.pendingBytes);
    let offset = 0;
    for (const chunk of this.pending) {
      bytes.set(chunk, offset);
      offset += chunk.byteLength;
    }
    this.pending = [];
    this.pendingBytes = 0;
    this.inFlight += bytes.byteLength;
    this.worker.postMessage({ kind: 'pcm', bytes }, [bytes.buffer]);
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
      case 'done': {
        const finished = this.finished;
        this.finished = undefined;
        // Clean end: the worker holds nothing of this file and can take the next one.
        this.released = true;
        this.detach();
        keepWorker(this.url, this.worker);
        finished?.resolve({ segments: this.segments, totalSamples: reply.totalSamples });
        return;
      }
      case 'error':
        return this.fail(new Mp3EncoderError(`the MP3 encoder failed: ${reply.message.slice(0, 200)}`));
    }
  }

  private fail(error: Error): void {
    if (this.failure || this.released) return;
    this.failure = error;
    // A writer waiting for 'drain' must not wait for ever: it learns of the failure at end().
    this.emit('drain');
    this.finished?.reject(error);
    this.finished = undefined;
    void this.close();
  }
}
