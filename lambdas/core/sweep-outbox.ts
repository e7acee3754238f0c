// Use case: sweeper handler (scheduled) -> sweepEnqueueOutbox -> (EnqueueOutbox, JobLifecycle, JobQueue).
// Finishes what a dead or failed intake left half done: an outbox entry older than the intake's
// lifetime means its jobs may have no message. Queues the ones still `queued` and closes the entry.
// Running it twice is harmless: a second message for a job is a no-op in the extractor.
import type { EnqueueOutbox, JobLifecycle, JobQueue } from './ports';

/** The metric the sweeper emits per run and the "jobs requeued" alarm watches (lib/constructs/sweeper.ts). */
export const SWEEPER_REQUEUED_METRIC = 'SweeperJobsRequeued';

export interface SweepOutboxDeps {
  readonly outbox: Pick<EnqueueOutbox, 'listStaleEnqueueOutbox' | 'closeEnqueueOutbox'>;
  readonly jobs: Pick<JobLifecycle, 'getJobs'>;
  readonly queue: JobQueue;
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
}

export async function sweepEnqueueOutbox(deps: SweepOutboxDeps): Promise<SweepOutboxResult> {
  const before = new Date(deps.now().getTime() - deps.minAgeSeconds * 1000);
  const entries = await deps.outbox.listStaleEnqueueOutbox(before, deps.maxEntries);
  let requeued = 0;
  let closedWithoutRequeue = 0;
  for (const entry of entries) {
    const jobs = await deps.jobs.getJobs(entry.tenantId, entry.jobIds);
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
  return { entries: entries.length, requeued, closedWithoutRequeue };
}
