// Off-main-thread metadata parsing: local analyzer / audio normaliser -> MetadataParser -> a worker
// thread running parse-worker.ts. exifr and music-metadata are pure JavaScript, so a hostile tag
// block can keep them busy for minutes or fill the heap; in a worker that work has a V8 heap
// limit (resourceLimits) and a wall-clock budget, and past either the worker is terminated and
// the file refused with `file_unreadable` naming the budget. The event loop stays free meanwhile.
// One worker per process, one parse at a time; a new worker replaces a terminated one.
import { Worker } from 'node:worker_threads';
import type { IAudioMetadata } from 'music-metadata';
import { PARSE_WORKER_BUNDLE_FILE } from '../../../lib/handler-bundling';
import { resolveSettings, type Settings } from '../../../lib/settings';
import { PermanentJobError } from '../../core/errors';

export type MetadataParseBudget = Pick<Settings['decode'], 'metadataParseTimeoutMs' | 'metadataParseMemoryMb'>;

/** Segments as exifr returns them with mergeOutput: false (ifd0, exif, iptc, dc, ...). */
export type ImageMetadataSegments = Record<string, Record<string, unknown> | undefined>;

/** The parts of music-metadata's result the callers read (lists and strings bounded by the worker). */
export type AudioTagFacts = Pick<IAudioMetadata, 'format' | 'common'>;

/** The parser itself rejected the bytes (not a budget): callers decide what that means for the job. */
export class MetadataParseError extends Error {
  override readonly name = 'MetadataParseError';
}

/** Source runs the .ts (Node strips the types); the extractor bundle has the built worker beside it (lib/handler-bundling.ts). */
const WORKER_URL = import.meta.url.endsWith('.ts')
  ? new URL('./parse-worker.ts', import.meta.url)
  : new URL(`./${PARSE_WORKER_BUNDLE_FILE}`, import.meta.url);

/** Loading exifr and music-metadata in a fresh worker; generous, it is not the file's time. */
const WORKER_START_TIMEOUT_MS = 20_000;

type Reply = { readonly id: number; readonly ok: true; readonly value: unknown } | { readonly id: number; readonly ok: false; readonly message: string };

interface Pending {
  readonly id: number;
  readonly worker: Worker;
  readonly what: string;
  readonly resolve: (value: unknown) => void;
  readonly reject: (error: Error) => void;
}

export class MetadataParser {
  private readonly budget: MetadataParseBudget;
  private current: { readonly worker: Worker; readonly started: Promise<Worker> } | undefined;
  private pending: Pending | undefined;
  private queue: Promise<unknown> = Promise.resolve();
  private nextId = 1;

  constructor(budget: MetadataParseBudget) {
    this.budget = budget;
  }

  /** EXIF/IPTC/XMP of a small container built by image-metadata-segments.ts. */
  parseImage(bytes: Uint8Array): Promise<ImageMetadataSegments> {
    return this.run('embedded image metadata', { kind: 'image', bytes }) as Promise<ImageMetadataSegments>;
  }

  /** Stream facts and tags of audio whose tag blocks audio-tag-budget.ts already bounded. */
  parseAudio(bytes: Uint8Array, options: { readonly duration: boolean }): Promise<AudioTagFacts> {
    return this.run('audio tags', { kind: 'audio', bytes, duration: options.duration }) as Promise<AudioTagFacts>;
  }

  /** Stops the worker (tests, CLI); the next parse starts a new one. */
  async close(): Promise<void> {
    const current = this.current;
    this.current = undefined;
    if (current) await current.worker.terminate();
  }

  private run(what: string, request: { readonly kind: 'image' | 'audio'; readonly bytes: Uint8Array; readonly [key: string]: unknown }): Promise<unknown> {
    const result = this.queue.then(() => this.parseNow(what, request));
    this.queue = result.catch(() => undefined);
    return result;
  }

  private async parseNow(what: string, request: { readonly bytes: Uint8Array; readonly [key: string]: unknown }): Promise<unknown> {
    const worker = await this.ensureWorker();
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending = undefined;
        this.discard(worker);
        reject(
          new PermanentJobError(
            'file_unreadable',
            `Parsing the ${what} took longer than the ${this.budget.metadataParseTimeoutMs} ms parse budget (METAHOOK_METADATA_PARSE_TIMEOUT_MS); the parser was stopped`,
          ),
        );
      }, this.budget.metadataParseTimeoutMs);
      const settle = (finish: () => void) => {
        clearTimeout(timer);
        this.pending = undefined;
        finish();
      };
      this.pending = {
        id,
        worker,
        what,
        resolve: (value) => settle(() => resolve(value)),
        reject: (error) => settle(() => reject(error)),
      };
      // A copy of the view's own bytes: cloning a subarray would copy its whole underlying buffer
      // (the 42 MB of a skipped tag), and moving the caller's buffer would detach it. Not
      // .slice(): on a Buffer that is a view, and the caller's bytes (read by ffmpeg next) would go.
      const bytes = new Uint8Array(request.bytes);
      worker.postMessage({ ...request, bytes, id }, [bytes.buffer]);
    });
  }

  private ensureWorker(): Promise<Worker> {
    this.current ??= this.startWorker();
    return this.current.started;
  }

  private startWorker(): { readonly worker: Worker; readonly started: Promise<Worker> } {
    const memoryMb = this.budget.metadataParseMemoryMb;
    const worker = new Worker(WORKER_URL, {
      resourceLimits: {
        maxOldGenerationSizeMb: memoryMb,
        maxYoungGenerationSizeMb: Math.max(4, Math.min(32, Math.floor(memoryMb / 4))),
        stackSizeMb: 4,
      },
      // Nothing from the function's environment is needed to parse bytes.
      env: {},
      stdout: false,
      stderr: false,
    });
    // An idle worker must not keep a CLI or test process alive; a pending parse holds its own timer.
    worker.unref();
    const started = new Promise<Worker>((resolve, reject) => {
      const timer = setTimeout(() => {
        void worker.terminate();
        reject(new Error(`the metadata parser worker did not start within ${WORKER_START_TIMEOUT_MS} ms`));
      }, WORKER_START_TIMEOUT_MS);
      worker.once('message', () => {
        clearTimeout(timer);
        worker.on('message', (reply: Reply) => this.onReply(reply));
        resolve(worker);
      });
      worker.once('error', (error) => {
        clearTimeout(timer);
        reject(error);
      });
    });
    worker.on('error', (error: Error & { code?: string }) => this.onWorkerError(worker, error));
    worker.on('exit', () => this.onWorkerExit(worker));
    // A worker that failed to start is not kept: the next parse tries a new one.
    started.catch(() => this.discard(worker));
    return { worker, started };
  }

  private onReply(reply: Reply): void {
    const pending = this.pending;
    if (!pending || pending.id !== reply.id) return;
    if (reply.ok) pending.resolve(reply.value);
    else pending.reject(new MetadataParseError(reply.message));
  }

  private onWorkerError(worker: Worker, error: Error & { code?: string }): void {
    this.discard(worker);
    const pending = this.pending;
    if (pending?.worker !== worker) return;
    if (error.code === 'ERR_WORKER_OUT_OF_MEMORY') {
      pending.reject(
        new PermanentJobError(
          'file_unreadable',
          `Parsing the ${pending.what} needed more than the ${this.budget.metadataParseMemoryMb} MB parse memory budget (METAHOOK_METADATA_PARSE_MEMORY_MB); the parser was stopped`,
          { cause: error },
        ),
      );
    } else {
      pending.reject(new PermanentJobError('file_unreadable', `The ${pending.what} could not be parsed: ${error.message.slice(0, 200)}`, { cause: error }));
    }
  }

  private onWorkerExit(worker: Worker): void {
    this.discard(worker);
    const pending = this.pending;
    if (pending?.worker === worker) pending.reject(new PermanentJobError('file_unreadable', `The metadata parser stopped while parsing the ${pending.what}`));
  }

  /** Forgets the worker (and terminates it) if it is still the current one. */
  private discard(worker: Worker): void {
    if (this.current?.worker === worker) this.current = undefined;
    void worker.terminate();
  }
}

let shared: MetadataParser | undefined;

/** The process-wide parser with the default budgets (settings.decode) for callers not given one. */
export function defaultMetadataParser(): MetadataParser {
  shared ??= new MetadataParser(resolveSettings().decode);
  return shared;
}
