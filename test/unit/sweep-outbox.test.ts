// The sweeper's use case with fakes: what it queues again, what it closes, and in which order.
import { describe, expect, it } from 'vitest';
import { sweepEnqueueOutbox, type SweepOutboxDeps } from '../../lambdas/core/sweep-outbox';
import type { DeliveryMessage, EnqueueOutboxEntry } from '../../lambdas/core/ports';
import { olderThanListing, recordingJobQueue } from '../support/sweep-fakes';
import type { JobRecord } from '../../lambdas/core/records';

const NOW = new Date('2026-01-01T00:10:00Z');

function fakes(
  entries: EnqueueOutboxEntry[],
  jobs: Pick<JobRecord, 'job_id' | 'tenant_id' | 'status'>[],
  /** The batch's finished jobs when the sweeper cuts it down; undefined: no batch item was written. */
  finished: number | undefined = 0,
) {
  const events: string[] = [];
  const announced: DeliveryMessage[] = [];
  let claimedBy: string | undefined;
  const { queue, queued } = recordingJobQueue(events);
  const staleEntries = olderThanListing(entries, (entry) => entry.createdAt);
  const deps: SweepOutboxDeps = {
    outbox: {
      listStaleEnqueueOutbox: staleEntries.list,
      closeEnqueueOutbox: async (entry) => void events.push(`close ${entry.batchId}`),
    },
    jobs: {
      getJobs: async (tenantId, ids) => jobs.filter((job) => job.tenant_id === tenantId && ids.includes(job.job_id)) as JobRecord[],
      getJob: async (tenantId, id) => jobs.find((job) => job.tenant_id === tenantId && job.job_id === id) as JobRecord | undefined,
    },
    batches: {
      markJobsNeverWritten: async (_t, batchId, missing) => {
        events.push(`drop ${missing.join(',')} from ${batchId}`);
        const entry = entries.find((e) => e.batchId === batchId)!;
        return finished === undefined ? undefined : { total: entry.jobIds.length - missing.length, completed: finished, failed: 0, cancelled: 0 };
      },
      claimBatchCompletion: async (_t, _b, claimant) => {
        if (claimedBy !== undefined && claimedBy !== claimant) return false;
        claimedBy = claimant;
        return true;
      },
    },
    deliveries: { enqueueDeliveries: async (messages) => void announced.push(...messages) },
    queue,
    now: () => NOW,
    minAgeSeconds: 35,
    maxEntries: 10,
  };
  return { deps, events, queued, asked: staleEntries.asked, announced, claim: (by: string) => (claimedBy = by) };
}

describe('sweepEnqueueOutbox', () => {
  it('queues the still-queued jobs of an entry older than the intake lifetime, then closes it', async () => {
    const entry = { tenantId: 't', batchId: 'b1', jobIds: ['j1', 'j2', 'j3'], createdAt: '2026-01-01T00:00:00.000Z' };
    const { deps, events, queued, asked } = fakes([entry], [
      { job_id: 'j1', tenant_id: 't', status: 'queued' },
      { job_id: 'j2', tenant_id: 't', status: 'completed' },
      // j3 was never written (the BatchWrite failed part-way): nothing to queue.
    ]);
    const result = await sweepEnqueueOutbox(deps);
    expect(asked).toEqual([new Date('2026-01-01T00:09:25Z')]);
    expect(queued).toEqual([{ tenant_id: 't', job_id: 'j1' }]);
    expect(events).toEqual(['drop j3 from b1', 'enqueue j1', 'close b1']);
    expect(result).toEqual({ entries: 1, requeued: 1, closedWithoutRequeue: 0, batchesShrunk: 1 });
  });

  it('closes an entry with nothing left to queue without sending anything', async () => {
    const entry = { tenantId: 't', batchId: 'b2', jobIds: ['j1'], createdAt: '2026-01-01T00:00:00.000Z' };
    const { deps, events } = fakes([entry], [{ job_id: 'j1', tenant_id: 't', status: 'processing' }]);
    expect(await sweepEnqueueOutbox(deps)).toEqual({ entries: 1, requeued: 0, closedWithoutRequeue: 1, batchesShrunk: 0 });
    expect(events).toEqual(['close b2']);
  });

  it('keeps the entry when queuing fails, so the next run tries again', async () => {
    const entry = { tenantId: 't', batchId: 'b3', jobIds: ['j1'], createdAt: '2026-01-01T00:00:00.000Z' };
    const { deps, events } = fakes([entry], [{ job_id: 'j1', tenant_id: 't', status: 'queued' }]);
    deps.queue.enqueueJobs = async () => { throw new Error('sqs down'); };
    await expect(sweepEnqueueOutbox(deps)).rejects.toThrow('sqs down');
    expect(events).toEqual([]);
  });

  it('leaves entries younger than the intake lifetime alone', async () => {
    const entry = { tenantId: 't', batchId: 'b4', jobIds: ['j1'], createdAt: '2026-01-01T00:09:50.000Z' };
    const { deps, events } = fakes([entry], [{ job_id: 'j1', tenant_id: 't', status: 'queued' }]);
    expect(await sweepEnqueueOutbox(deps)).toEqual({ entries: 0, requeued: 0, closedWithoutRequeue: 0, batchesShrunk: 0 });
    expect(events).toEqual([]);
  });

  describe('a batch whose job writes failed part-way', () => {
    const entry = { tenantId: 't', batchId: 'b5', jobIds: ['j1', 'j2', 'j3'], createdAt: '2026-01-01T00:00:00.000Z' };
    const written = [
      { job_id: 'j1', tenant_id: 't', status: 'completed' as const },
      { job_id: 'j2', tenant_id: 't', status: 'failed' as const },
    ];

    it('announces batch.completed itself when the jobs that exist have all finished', async () => {
      const { deps, events, announced } = fakes([entry], written, 2);
      await sweepEnqueueOutbox(deps);
      expect(events).toEqual(['drop j3 from b5', 'close b5']);
      expect(announced).toEqual([{ kind: 'batch', tenant_id: 't', batch_id: 'b5', event_id: 'msg_b5_batch' }]);
    });

    it('leaves the announcement to the last job when some are still running', async () => {
      const { deps, announced } = fakes([entry], written, 1);
      await sweepEnqueueOutbox(deps);
      expect(announced).toHaveLength(0);
    });

    it('announces nothing when a job already claimed batch.completed, or when the batch item was never written', async () => {
      const claimed = fakes([entry], written, 2);
      claimed.claim('j2');
      await sweepEnqueueOutbox(claimed.deps);
      expect(claimed.announced).toHaveLength(0);
      const unwritten = fakes([entry], [], undefined);
      await sweepEnqueueOutbox(unwritten.deps);
      expect(unwritten.announced).toHaveLength(0);
    });
  });
});
