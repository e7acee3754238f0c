// Use case: sweeper handler (scheduled) -> sweepOpenBatches -> (OpenBatches, JobLifecycle, DeliveryQueue).
// The net under batch.completed. A batch's progress is written by whoever finishes its jobs (the
// extractor, a cancel); if that write is lost where nothing retries it (the job message's last
// receive, after which it is dead-lettered), every job can be terminal while the batch's slots
// say otherwise, and no one would ever announce it. Batches stay in the open-batch index until
// their batch.completed is claimed; one still there after the longest a healthy batch takes is
// checked against its jobs' own states: the finished jobs its progress missed are recorded, and
// when all have finished the sweeper claims batch.completed (exactly once: the claim is
// conditional, shared with the jobs' own claim) and queues it under the batch's one webhook-id.
// Idempotent: slots are set, not counted; the claim is per claimant, so a sweep that died after
// claiming queues it again next run; a batch still running is looked at again later, backing off.
import { batchEventId } from './ids';
import type { DeliveryQueue, JobLifecycle, OpenBatches } from './ports';
import { nextCheck } from './sweep-leases';

export interface SweepOpenBatchesDeps {
  readonly batches: OpenBatches;
  readonly jobs: Pick<JobLifecycle, 'getJobs'>;
  readonly deliveries: DeliveryQueue;
  readonly now: () => Date;
  /** The first check's delay (settings.sweeper.openBatchCheckSeconds): also the backoff's base. */
  readonly checkSeconds: number;
  /** Batches handled per run; the next run takes the rest. */
  readonly maxBatches: number;
}

export interface SweepOpenBatchesResult {
  readonly overdue: number;
  /** Batches whose batch.completed the sweeper queued: their progress had missed a finished job. */
  readonly completed: number;
  /** Finished jobs recorded in their batch's progress by the sweeper. */
  readonly slotsRecovered: number;
}

const TERMINAL = new Set(['completed', 'failed', 'cancelled']);

export async function sweepOpenBatches(deps: SweepOpenBatchesDeps): Promise<SweepOpenBatchesResult> {
  const now = deps.now();
  const overdue = await deps.batches.listOverdue(now, deps.maxBatches);
  let completed = 0;
  let slotsRecovered = 0;
  for (const entry of overdue) {
    const state = await deps.batches.inspect(entry);
    if (!state) continue; // completed meanwhile, or another sweep moved it on
    const announce = async () => {
      await deps.deliveries.enqueueDeliveries([
        { kind: 'batch', tenant_id: entry.tenantId, batch_id: entry.batchId, event_id: batchEventId(entry.batchId) },
      ]);
      // Closed only once queued: a sweep that dies before this claims (again, as itself) and queues next run.
      await deps.batches.close(entry);
      completed += 1;
    };
    if (state.claimedBy !== undefined) {
      // Only the sweeper's own claim leaves the entry behind (the jobs' claim removes it in the same write).
      if (await deps.batches.claimCompletion(entry, now)) await announce();
      continue;
    }
    const jobs = await deps.jobs.getJobs(entry.tenantId, state.batch.job_ids);
    const slotOf = new Map(state.batch.job_ids.map((jobId, slot) => [jobId, slot]));
    const missed = jobs.flatMap((job) => {
      const slot = job.batch_slot ?? slotOf.get(job.job_id);
      if (slot === undefined || state.slots[slot] !== 'pending' || !TERMINAL.has(job.status)) return [];
      return [{ slot, status: job.status as 'completed' | 'failed' | 'cancelled' }];
    });
    const progress = missed.length > 0 ? await deps.batches.recordFinished(entry, missed) : { ...state.batch.counts, total: state.batch.total };
    slotsRecovered += missed.length;
    const finished = progress.completed + progress.failed + progress.cancelled;
    if (progress.total === 0) {
      await deps.batches.close(entry); // none of its jobs was ever written: there is nothing to announce
      continue;
    }
    if (finished >= progress.total) {
      // Refused when a job's own claim came first: that job queues it, and its claim closed the entry.
      if (await deps.batches.claimCompletion(entry, now)) await announce();
      continue;
    }
    // Still running (a slow retry, a held tenant): look again later, each time twice as late.
    await deps.batches.postpone(entry, nextCheck(now, deps.checkSeconds, state.checks + 1));
  }
  return { overdue: overdue.length, completed, slotsRecovered };
}
