// The open-batch sweep with fakes: a batch whose progress missed a finished job is recorded and
// announced exactly once; a batch still running is looked at again later; a sweep that died after
// claiming finishes the job next run.
import { describe, expect, it } from 'vitest';
import { sweepOpenBatches, type SweepOpenBatchesDeps } from '../../lambdas/core/sweep-batches';
import type { DeliveryMessage, OpenBatchState, OverdueBatch } from '../../lambdas/core/ports';
import type { BatchRecord, JobRecord } from '../../lambdas/core/records';

const NOW = new Date('2026-01-01T02:00:00Z');
const ENTRY: OverdueBatch = { tenantId: 't', batchId: 'b', checkAt: '2026-01-01T01:00:00.000Z' };

const batch = (jobIds: string[], counts: Partial<BatchRecord['counts']> = {}): BatchRecord =>
  ({ batch_id: 'b', tenant_id: 't', job_ids: jobIds, total: jobIds.length, counts: { completed: 0, failed: 0, cancelled: 0, ...counts } }) as unknown as BatchRecord;
const job = (id: string, slot: number, status: JobRecord['status']): JobRecord => ({ job_id: id, batch_slot: slot, status }) as unknown as JobRecord;

function fakes(state: OpenBatchState | undefined, jobs: JobRecord[], options: { claimable?: boolean } = {}) {
  const events: string[] = [];
  const queued: DeliveryMessage[] = [];
  let claimable = options.claimable ?? true;
  const deps: SweepOpenBatchesDeps = {
    batches: {
      listOverdue: async (before) => (ENTRY.checkAt < before.toISOString() ? [ENTRY] : []),
      inspect: async () => state,
      recordFinished: async (_entry, finished) => {
        events.push(`record ${finished.map((f) => `${f.slot}=${f.status}`).join(',')}`);
        const counts = { ...state!.batch.counts };
        for (const f of finished) counts[f.status] += 1;
        return { total: state!.batch.total, ...counts };
      },
      claimCompletion: async () => {
        events.push(`claim ${claimable}`);
        return claimable;
      },
      close: async () => void events.push('close'),
      postpone: async (_entry, at) => {
        events.push(`postpone ${at.toISOString()}`);
        return true;
      },
    },
    jobs: { getJobs: async (_tenant, ids) => jobs.filter((j) => ids.includes(j.job_id)) },
    deliveries: {
      enqueueDeliveries: async (messages) => {
        events.push('enqueue');
        queued.push(...messages);
      },
    },
    now: () => NOW,
    checkSeconds: 3600,
    maxBatches: 10,
  };
  return { deps, events, queued, setClaimable: (value: boolean) => (claimable = value) };
}

describe('sweepOpenBatches', () => {
  it('records the finished jobs the progress missed, claims, queues batch.completed once and closes the entry', async () => {
    const state = { batch: batch(['j0', 'j1', 'j2'], { completed: 2 }), slots: ['completed', 'pending', 'completed'], checks: 0 } as const;
    const { deps, events, queued } = fakes(state, [job('j0', 0, 'completed'), job('j1', 1, 'failed'), job('j2', 2, 'completed')]);
    expect(await sweepOpenBatches(deps)).toEqual({ overdue: 1, completed: 1, slotsRecovered: 1 });
    expect(events).toEqual(['record 1=failed', 'claim true', 'enqueue', 'close']);
    // The batch's one webhook-id, as the extractor would have queued it.
    expect(queued).toEqual([{ kind: 'batch', tenant_id: 't', batch_id: 'b', event_id: 'msg_b_batch' }]);
  });

  it('announces nothing when a job\'s own claim came first (that job queues it)', async () => {
    const state = { batch: batch(['j0'], { completed: 1 }), slots: ['completed'], checks: 0 } as const;
    const { deps, events, queued } = fakes(state, [job('j0', 0, 'completed')], { claimable: false });
    expect(await sweepOpenBatches(deps)).toMatchObject({ completed: 0 });
    expect(events).toEqual(['claim false']);
    expect(queued).toEqual([]);
  });

  it('looks at a batch still running again later, twice as late each time', async () => {
    const state = { batch: batch(['j0', 'j1']), slots: ['pending', 'pending'], checks: 2 } as const;
    const { deps, events, queued } = fakes(state, [job('j0', 0, 'completed'), job('j1', 1, 'processing')]);
    expect(await sweepOpenBatches(deps)).toEqual({ overdue: 1, completed: 0, slotsRecovered: 1 });
    // checks 2 -> third check: 3600 s x 2^2.
    expect(events).toEqual(['record 0=completed', `postpone ${new Date(NOW.getTime() + 4 * 3600_000).toISOString()}`]);
    expect(queued).toEqual([]);
  });

  it('finishes a sweep that died after its claim: queues again and closes (the sweeper\'s claim is its own to repeat)', async () => {
    const state = { batch: batch(['j0'], { completed: 1 }), slots: ['completed'], claimedBy: 'sweeper', checks: 0 } as const;
    const { deps, events } = fakes(state, [job('j0', 0, 'completed')]);
    expect(await sweepOpenBatches(deps)).toMatchObject({ completed: 1 });
    expect(events).toEqual(['claim true', 'enqueue', 'close']);
  });

  it('skips an entry that moved on (completed, or another sweep postponed it)', async () => {
    const { deps, events } = fakes(undefined, []);
    expect(await sweepOpenBatches(deps)).toEqual({ overdue: 1, completed: 0, slotsRecovered: 0 });
    expect(events).toEqual([]);
  });

  it('a failed send leaves the entry open for the next run', async () => {
    const state = { batch: batch(['j0'], { completed: 1 }), slots: ['completed'], checks: 0 } as const;
    const { deps, events } = fakes(state, [job('j0', 0, 'completed')]);
    const failing = { ...deps, deliveries: { enqueueDeliveries: async () => Promise.reject(new Error('SQS down')) } };
    await expect(sweepOpenBatches(failing)).rejects.toThrow('SQS down');
    expect(events).toEqual(['claim true']); // not closed
  });
});
