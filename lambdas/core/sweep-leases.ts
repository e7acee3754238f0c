// Use case: sweeper handler (scheduled) -> sweepStalledJobs -> (StalledJobs, JobQueue).
// Finds jobs in flight (processing, or waiting for a retry) whose deadline passed long enough ago
// that no live message can still be carrying them: a timed-out receive's message is visible again
// within the queue's visibility timeout, a postponed one when its retry is due, and either would
// have taken the job back by then. Those are the jobs whose message was lost (dead-lettered by
// count after the extractor could not fail them itself, expired, deleted by mistake). Each gets a
// fresh message; the extractor then counts the attempt and fails the job once its attempts are used
// up, so every such job still ends in job.completed or job.failed with a reason.
// Idempotent: a requeue first moves the job's deadline on, conditionally on the deadline it was
// found with, so two sweeps (EventBridge delivers at least once) requeue it once; a second message
// for a job is harmless anyway (the lease and terminal states make it a no-op).
// A finished job is in the index only when its extractor could not queue its webhooks on the job
// message's last receive (JobLifecycle.deferAnnouncement): the sweep sends the stored messages
// (its job event, and batch.completed if this job holds the batch's claim) under their own
// webhook-ids, then takes the job out of the index. Claimed before sending, like a requeue: a send
// that fails leaves it for the next check; a sweep that dies after sending sends again, and the
// callback skips an event already delivered under that webhook-id.
import type { DeliveryQueue, JobQueue, StalledJobs } from './ports';
import type { SweepOpenBatchesResult } from './sweep-batches';
import type { SweepOutboxResult } from './sweep-outbox';

/** The metric the sweeper emits per run for these requeues; the "stalled jobs" alarm watches it. */

/** Longest a requeued job waits before the sweeper looks at it again (the backoff's cap). */
const MAX_RECHECK_SECONDS = 6 * 3600;

export interface SweepStalledJobsDeps {
  readonly stalled: StalledJobs;
  readonly queue: JobQueue;
  /** Where a finished job's deferred webhook messages go (the deliveries queue). */
  readonly deliveries: DeliveryQueue;
  readonly now: () => Date;
  /** How long past its deadline a job must be before it counts as stalled (settings.sweeper.leaseGraceSeconds). */
  readonly graceSeconds: number;
  /** Jobs handled per run; the next run takes the rest. */
  readonly maxJobs: number;
}

export interface SweepStalledJobsResult {
  readonly overdue: number;
  /** Jobs sent a fresh message because none was left carrying them. */
  readonly requeued: number;
  /** Finished jobs whose webhooks the extractor could not queue, sent by the sweeper. */
  readonly announced: number;
}

/**
 * When the sweeper looks at a job again after its n-th requeue: the requeued message is normally
 * picked up at once, but a backlog can delay it, so each further requeue waits twice as long.
 */
export function nextCheck(now: Date, graceSeconds: number, requeues: number): Date {
  const seconds = Math.min(MAX_RECHECK_SECONDS, graceSeconds * 2 ** Math.max(0, requeues - 1));
  return new Date(now.getTime() + seconds * 1000);
}

export async function sweepStalledJobs(deps: SweepStalledJobsDeps): Promise<SweepStalledJobsResult> {
  const now = deps.now();
  const before = new Date(now.getTime() - deps.graceSeconds * 1000);
  const overdue = await deps.stalled.listOverdue(before, deps.maxJobs);
  let requeued = 0;
  let announced = 0;
  for (const job of overdue) {
    // Claimed before sending: a failed send leaves the job for the next check, never two messages per sweep.
    const claim = await deps.stalled.claimRequeue(job, now, (requeues) => nextCheck(now, deps.graceSeconds, requeues));
    if (!claim) continue; // it moved on (finished, restarted) or another sweep took it
    if (claim.kind === 'announce') {
      await deps.deliveries.enqueueDeliveries(claim.messages);
      await deps.stalled.closeAnnouncement({ tenantId: job.tenantId, jobId: job.jobId, deadline: claim.deadline });
      announced += 1;
      continue;
    }
    await deps.queue.enqueueJobs([{ tenant_id: job.tenantId, job_id: job.jobId }]);
    requeued += 1;
  }
  return { overdue: overdue.length, requeued, announced };
}

/** One sweeper run: the intake outbox sweep's result, plus this one's and the open-batch sweep's. */
export type SweepRunResult = SweepOutboxResult & { readonly stalled: SweepStalledJobsResult; readonly openBatches: SweepOpenBatchesResult };
