// The stalled-job sweep with fakes: which overdue jobs get a fresh message, how the claim keeps it
// to one per sweep, and how the re-check backs off.
import { describe, expect, it } from 'vitest';
import { nextCheck, sweepStalledJobs, type SweepStalledJobsDeps } from '../../lambdas/core/sweep-leases';
import type { OverdueJob } from '../../lambdas/core/ports';
import { olderThanListing, recordingJobQueue } from '../support/sweep-fakes';

const NOW = new Date('2026-01-01T01:00:00Z');

function fakes(overdue: OverdueJob[], claimable: Set<string>) {
  const events: string[] = [];
  const { queue, queued } = recordingJobQueue(events);
  const overdueListing = olderThanListing(overdue, (job) => job.deadline);
  const deadlines: Date[] = [];
  const deps: SweepStalledJobsDeps = {
    stalled: {
      listOverdue: overdueListing.list,
      claimRequeue: async (job, _now, nextDeadline) => {
        if (!claimable.has(job.jobId)) return undefined;
        claimable.delete(job.jobId); // a second claim on the same deadline fails
        deadlines.push(nextDeadline(1));
        events.push(`claim ${job.jobId}`);
        return 1;
      },
    },
    queue,
    now: () => NOW,
    graceSeconds: 660,
    maxJobs: 50,
  };
  return { deps, events, queued, asked: overdueListing.asked, deadlines };
}

describe('sweepStalledJobs', () => {
  it('requeues a job whose deadline passed more than the grace ago, claiming it before sending', async () => {
    const stalled = { tenantId: 't', jobId: 'j1', deadline: '2026-01-01T00:40:00.000Z' };
    const { deps, events, queued, asked, deadlines } = fakes([stalled], new Set(['j1']));
    expect(await sweepStalledJobs(deps)).toEqual({ overdue: 1, requeued: 1 });
    expect(asked).toEqual([new Date('2026-01-01T00:49:00Z')]);
    expect(events).toEqual(['claim j1', 'enqueue j1']);
    expect(queued).toEqual([{ tenant_id: 't', job_id: 'j1' }]);
    expect(deadlines).toEqual([new Date('2026-01-01T01:11:00Z')]);
  });

  it('leaves a job alone that is not past its deadline plus the grace', async () => {
    const recent = { tenantId: 't', jobId: 'j1', deadline: '2026-01-01T00:55:00.000Z' };
    const { deps, queued } = fakes([recent], new Set(['j1']));
    expect(await sweepStalledJobs(deps)).toEqual({ overdue: 0, requeued: 0 });
    expect(queued).toHaveLength(0);
  });

  it('sends nothing for a job that moved on or that another sweep already took', async () => {
    const stalled = { tenantId: 't', jobId: 'j1', deadline: '2026-01-01T00:40:00.000Z' };
    const first = fakes([stalled], new Set(['j1']));
    const claimable = new Set(['j1']);
    const a = fakes([stalled], claimable);
    const b = fakes([stalled], claimable);
    await Promise.all([sweepStalledJobs(a.deps), sweepStalledJobs(b.deps)]);
    expect([...a.queued, ...b.queued]).toHaveLength(1);
    expect((await sweepStalledJobs(first.deps)).requeued).toBe(1);
    expect((await sweepStalledJobs(first.deps)).requeued).toBe(0);
  });

  it('backs off the re-check of a job requeued again and again, up to six hours', () => {
    expect(nextCheck(NOW, 60, 1)).toEqual(new Date('2026-01-01T01:01:00Z'));
    expect(nextCheck(NOW, 60, 3)).toEqual(new Date('2026-01-01T01:04:00Z'));
    expect(nextCheck(NOW, 60, 30)).toEqual(new Date('2026-01-01T07:00:00Z'));
  });
});
