// Use case: sweeper handler (scheduled) -> sweepEnqueueOutbox -> (EnqueueOutbox, JobLifecycle, BatchProgressStore, JobQueue).
// Finishes what a dead or failed intake left half done: an outbox entry older than the intake's
// lifetime means its jobs may have no message. Queues the ones still `queued` and closes the entry.
// When only some of the entry's jobs were written (a job write failed part-way), the batch is cut
// down to those, so it still emits batch.completed: its jobs are real (the client's retry is
// answered with them as duplicates), and no other batch announces them.
// Running it twice is harmless: a second message for a job is a no-op in the extractor.
import { batchEventId } from './ids';
import type { BatchProgressStore, DeliveryQueue, EnqueueOutbox, JobLifecycle, JobQueue } from './ports';

/** Who claims batch.completed for a batch the sweeper cut down (claims are per claimant, so its retries win again). */
export const SWEEPER_CLAIMANT = 'sweeper';

/** The metric the sweeper emits per run and the "jobs requeued" alarm watches (lib/constructs/sweeper.ts). */
export const SWEEPER_REQUEUED_METRIC = 'SweeperJobsRequeued';

export interface SweepOutboxDeps {
  readonly outbox: Pick<EnqueueOutbox, 'listStaleEnqueueOutbox' | 'closeEnqueueOutbox'>;
  readonly jobs: Pick<JobLifecycle, 'getJobs' | 'getJob'>;
  readonly batches: Pick<BatchProgressStore, 'markJobsNeverWritten' | 'claimBatchCompletion'>;
  readonly queue: JobQueue;
  readonly deliveries: DeliveryQueue;
  readonly now: () => Date;
  /** Entries younger than this may still belong to a running intake. */
  readonly minAgeSeconds: number;
  /** Entries handled per run; the next run takes the rest. */
  readonly maxEntries: number;
}

export interface SweepOutboxResult {
  readonly entries: number;
  /** Jobs queued again because their intake never confirmed their message. */
  readonly requeued: number;
  /** Outbox entries whose jobs no longer needed a message (already started, or never written). */
  readonly closedWithoutRequeue: number;
  /** Batches cut down to the jobs that were written (a job write failed part-way). */
  readonly batchesShrunk: number;
}

export async function sweepEnqueueOutbox(deps: SweepOutboxDeps): Promise<SweepOutboxResult> {
  const before = new Date(deps.now().getTime() - deps.minAgeSeconds * 1000);
  const entries = await deps.outbox.listStaleEnqueueOutbox(before, deps.maxEntries);
  let requeued = 0;
  let closedWithoutRequeue = 0;
  let batchesShrunk = 0;
  for (const entry of entries) {
    const jobs = await deps.jobs.getJobs(entry.tenantId, entry.jobIds);
    const missing = await confirmMissing(deps, entry.tenantId, entry.jobIds, jobs.map((job) => job.job_id));
    if (missing.length > 0) {
      batchesShrunk += 1;
      await completeShrunkBatch(deps, entry.tenantId, entry.batchId, missing);
    }
    const waiting = jobs.filter((job) => job.status === 'queued');
    if (waiting.length > 0) {
      await deps.queue.enqueueJobs(waiting.map((job) => ({ tenant_id: job.tenant_id, job_id: job.job_id })));
      requeued += waiting.length;
    } else {
      closedWithoutRequeue += 1;
    }
    // Closed only after the messages are sent: a crash here re-queues again next run (harmless).
    await deps.outbox.closeEnqueueOutbox(entry);
  }
  return { entries: entries.length, requeued, closedWithoutRequeue, batchesShrunk };
}

/** Jobs of the entry that do not exist, each checked on its own (a batch read may leave keys unprocessed). */
async function confirmMissing(deps: SweepOutboxDeps, tenantId: string, ids: readonly string[], found: readonly string[]): Promise<string[]> {
  const unseen = [...new Set(ids)].filter((id) => !found.includes(id));
  const recheck = await Promise.all(unseen.map(async (id) => ((await deps.jobs.getJob(tenantId, id)) ? undefined : id)));
  return recheck.filter((id): id is string => id !== undefined);
}

/**
 * Cuts the batch down to its written jobs; if they have all finished already, no extractor will
 * announce it any more, so the sweeper does (exactly once: the claim is conditional). Otherwise the
 * last of them to finish sees the smaller total and announces it as usual.
 */
async function completeShrunkBatch(deps: SweepOutboxDeps, tenantId: string, batchId: string, missing: string[]): Promise<void> {
  const progress = await deps.batches.markJobsNeverWritten(tenantId, batchId, missing);
  if (!progress || progress.total === 0) return; // never written, or nothing in it: never visible
  if (progress.completed + progress.failed + progress.cancelled < progress.total) return;
  if (await deps.batches.claimBatchCompletion(tenantId, batchId, SWEEPER_CLAIMANT, deps.now())) {
    await deps.deliveries.enqueueDeliveries([{ kind: 'batch', tenant_id: tenantId, batch_id: batchId, event_id: batchEventId(batchId) }]);
  }
}
