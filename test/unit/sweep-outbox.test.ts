// The sweeper's use case with fakes: what it queues again, what it closes, and in which order.
import { describe, expect, it } from 'vitest';
import { sweepEnqueueOutbox, type SweepOutboxDeps } from '../../lambdas/core/sweep-outbox';
import type { EnqueueOutboxEntry, JobMessage } from '../../lambdas/core/ports';
import type { JobRecord } from '../../lambdas/core/records';

const NOW = new Date('2026-01-01T00:10:00Z');

function fakes(entries: EnqueueOutboxEntry[], jobs: Pick<JobRecord, 'job_id' | 'tenant_id' | 'status'>[]) {
  const events: string[] = [];
  const queued: JobMessage[] = [];
  const asked: Date[] = [];
  const deps: SweepOutboxDeps = {
    outbox: {
      listStaleEnqueueOutbox: async (before) => {
        asked.push(before);
        return entries.filter((entry) => entry.createdAt < before.toISOString());
      },
      closeEnqueueOutbox: async (entry) => void events.push(`close ${entry.batchId}`),
    },
    jobs: {
      getJobs: async (tenantId, ids) => jobs.filter((job) => job.tenant_id === tenantId && ids.includes(job.job_id)) as JobRecord[],
    },
    queue: {
      enqueueJobs: async (messages) => {
        events.push(`enqueue ${messages.map((m) => m.job_id).join(',')}`);
        queued.push(...messages);
      },
    },
    now: () => NOW,
    minAgeSeconds: 35,
    maxEntries: 10,
  };
  return { deps, events, queued, asked };
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
    expect(events).toEqual(['enqueue j1', 'close b1']);
    expect(result).toEqual({ entries: 1, requeued: 1, closedWithoutRequeue: 0 });
  });

  it('closes an entry with nothing left to queue without sending anything', async () => {
    const entry = { tenantId: 't', batchId: 'b2', jobIds: ['j1'], createdAt: '2026-01-01T00:00:00.000Z' };
    const { deps, events } = fakes([entry], [{ job_id: 'j1', tenant_id: 't', status: 'processing' }]);
    expect(await sweepEnqueueOutbox(deps)).toEqual({ entries: 1, requeued: 0, closedWithoutRequeue: 1 });
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
    expect(await sweepEnqueueOutbox(deps)).toEqual({ entries: 0, requeued: 0, closedWithoutRequeue: 0 });
    expect(events).toEqual([]);
  });
});
