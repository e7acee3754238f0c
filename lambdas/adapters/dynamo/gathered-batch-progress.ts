// Adapter: the extractor's BatchProgressStore. An SQS batch's records run in parallel and
// usually belong to one submission; instead of one UpdateItem per finished job, the progress of
// every record is held until each running record has either asked for it or ended, then written
// with one UpdateItem per batch (batch-progress.ts recordSlots). Nothing waits longer than the
// invocation: the webhooks those records queue are sent at its end anyway
// (sqs-batching-delivery-queue.ts). A failed write fails every record that waited on it, and
// SQS brings them back; setting a slot again is harmless. The batch.completed claims of the records
// that saw their batch complete are made one at a time, and stop at the first that wins.
// A record the handler stops waiting for (on its last receive, out of time) is released: the others
// stop waiting for it, it stops waiting for them, and what it asks for from then on is written at once.
import { AsyncLocalStorage } from 'node:async_hooks';
import type { BatchProgress, BatchProgressStore } from '../../core/ports';
import type { DynamoBatchProgress, FinishedSlot } from './batch-progress';

export interface GatheredBatchProgress {
  readonly store: BatchProgressStore;
  /**
   * Runs one record's work; its progress is gathered with the other records running now. Once
   * `released` aborts, the record no longer counts as running and its later progress is its own write.
   */
  run<T>(work: () => Promise<T>, released?: AbortSignal): Promise<T>;
}

/** The running record, as the AsyncLocalStorage holds it. */
interface RunningRecord {
  /** Counted among the running records, whose progress is gathered: until its work ends or it is released. */
  counted: boolean;
}

interface Waiter extends FinishedSlot {
  readonly tenantId: string;
  readonly batchId: string;
  resolve(progress: BatchProgress): void;
  reject(error: unknown): void;
}

export function gatherBatchProgress(inner: DynamoBatchProgress): GatheredBatchProgress {
  const insideRecord = new AsyncLocalStorage<RunningRecord>();
  let running = 0;
  let waiting: Waiter[] = [];
  let checkScheduled = false;
  // batch.completed claims of the current invocation, per batch: resolves true once one of them won.
  let claims = new Map<string, Promise<boolean>>();

  // Checked on the next turn of the event loop: the batch processor starts every record in one
  // synchronous loop, so by then all of them are counted as running.
  function flushWhenAllWait(): void {
    if (checkScheduled) return;
    checkScheduled = true;
    setImmediate(() => {
      checkScheduled = false;
      flushNow();
    });
  }

  function flushNow(): void {
    if (waiting.length === 0 || waiting.length < running) return;
    const group = waiting;
    waiting = [];
    const byBatch = new Map<string, Waiter[]>();
    for (const waiter of group) {
      const id = `${waiter.tenantId}\u0000${waiter.batchId}`;
      byBatch.set(id, [...(byBatch.get(id) ?? []), waiter]);
    }
    for (const waiters of byBatch.values()) {
      const { tenantId, batchId } = waiters[0]!;
      inner.recordSlots(tenantId, batchId, waiters).then(
        (progress) => waiters.forEach((waiter) => waiter.resolve(progress)),
        (error: unknown) => waiters.forEach((waiter) => waiter.reject(error)),
      );
    }
  }

  /** Inside a record whose progress is still gathered with the others'. */
  const gathering = () => insideRecord.getStore()?.counted === true;

  return {
    store: {
      getBatch: (tenantId, batchId) => inner.getBatch(tenantId, batchId),
      claimBatchCompletion(tenantId, batchId, jobId, now) {
        if (!gathering()) return inner.claimBatchCompletion(tenantId, batchId, jobId, now);
        // Every record of the gathered write that finished the batch sees it complete and would claim under
        // its own job id: one claim wins, the others were refused conditional writes (1 WRU each, 28 per 200
        // files in the bench). Once a record of this invocation has won, the others stand down; after a lost
        // claim the next still tries (it may be the earlier claimant, retried: its claim wins again).
        const id = `${tenantId}\u0000${batchId}`;
        const earlier = claims.get(id) ?? Promise.resolve(false);
        const own = earlier.then((someoneWon) => (someoneWon ? false : inner.claimBatchCompletion(tenantId, batchId, jobId, now)));
        claims.set(id, Promise.all([earlier, own.catch(() => false)]).then(([before, mine]) => before || mine));
        return own;
      },
      markJobsNeverWritten: (tenantId, batchId, jobIds) => inner.markJobsNeverWritten(tenantId, batchId, jobIds),
      recordBatchProgress(tenantId, batchId, jobId, status, slot) {
        // Outside a record or released (nobody would release the wait), or without its slot: write it now.
        if (!gathering() || slot === undefined) return inner.recordBatchProgress(tenantId, batchId, jobId, status, slot);
        return new Promise<BatchProgress>((resolve, reject) => {
          waiting.push({ tenantId, batchId, slot, status, resolve, reject });
          flushWhenAllWait();
        });
      },
    },
    async run(work, released) {
      const record: RunningRecord = { counted: true };
      running++;
      // Once per record: when its work ends, or earlier when the handler releases it.
      const stopCounting = () => {
        if (!record.counted) return;
        record.counted = false;
        running--;
        // The invocation is over: a claim won in it says nothing about the next one's retries.
        if (running === 0) claims = new Map();
        flushWhenAllWait();
      };
      released?.addEventListener('abort', stopCounting, { once: true });
      try {
        return await insideRecord.run(record, work);
      } finally {
        released?.removeEventListener('abort', stopCounting);
        stopCounting();
      }
    },
  };
}
