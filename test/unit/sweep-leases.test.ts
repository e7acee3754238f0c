// The stalled-job sweep with fakes: which overdue jobs get a fresh message, how the claim keeps it
// to one per sweep, and how the re-check backs off.
import { describe, expect, it } from 'vitest';
import { nextCheck, sweepStalledJobs, type SweepStalledJobsDeps } from '../../lambdas/core/sweep-leases';
import type { DeliveryMessage, OverdueJob } from '../../lambdas/core/ports';
import { olderThanListing, recordingJobQueue } from '../support/sweep-fakes';

const NOW = new Date('2026-01-01T01:00:00Z');

function fakes(overdue: OverdueJob[], claimable: Set<string>, deferred = new Map<string, DeliveryMessage[]>(), failSends = 0) {
  const events: string[] = [];
  const sent: DeliveryMessage[] = [];
  let sendFailures = failSends;
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
        const deadline = nextDeadline(1).toISOString();
        const messages = deferred.get(job.jobId);
        if (messages) {
          claimable.add(job.jobId); // the claim moved the deadline on: the next check may claim it again
          return { kind: 'announce', requeues: 1, deadline, messages };
        }
        return { kind: 'requeue', requeues: 1, deadline };
      },
      closeAnnouncement: async (job) => {
        deferred.delete(job.jobId);
        claimable.delete(job.jobId);
        events.push(`close ${job.jobId} at ${job.deadline}`);
      },
    },
    queue,
    deliveries: {
      async enqueueDeliveries(messages) {
        if (sendFailures > 0) {
          sendFailures -= 1;
          throw new Error('SQS unavailable');
        }
        sent.push(...messages);
        events.push(`deliver ${messages.map((m) => m.event_id).join(',')}`);
      },
    },
    now: () => NOW,
    graceSeconds: 660,
    maxJobs: 50,
  };
  return { deps, events, queued, sent, asked: overdueListing.asked, deadlines };
}

describe('sweepStalledJobs', () => {
  it('requeues a job whose deadline passed more than the grace ago, claiming it before sending', async () => {
    const stalled = { tenantId: 't', jobId: 'j1', deadline: '2026-01-01T00:40:00.000Z' };
    const { deps, events, queued, asked, deadlines } = fakes([stalled], new Set(['j1']));
    expect(await sweepStalledJobs(deps)).toEqual({ overdue: 1, requeued: 1, announced: 0 });
    expect(asked).toEqual([new Date('2026-01-01T00:49:00Z')]);
    expect(events).toEqual(['claim j1', 'enqueue j1']);
    expect(queued).toEqual([{ tenant_id: 't', job_id: 'j1' }]);
    expect(deadlines).toEqual([new Date('2026-01-01T01:11:00Z')]);
  });

  it('leaves a job alone that is not past its deadline plus the grace', async () => {
    const recent = { tenantId: 't', jobId: 'j1', deadline: '2026-01-01T00:55:00.000Z' };
    const { deps, queued } = fakes([recent], new Set(['j1']));
    expect(await sweepStalledJobs(deps)).toEqual({ overdue: 0, requeued: 0, announced: 0 });
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

  describe('a finished job its extractor could not announce (deferAnnouncement)', () => {
    const stalled = { tenantId: 't', jobId: 'j1', deadline: '2026-01-01T00:40:00.000Z' };
    const messages: DeliveryMessage[] = [
      { kind: 'job', tenant_id: 't', job_id: 'j1', event_id: 'msg_j1_completed' },
      { kind: 'batch', tenant_id: 't', batch_id: 'b1', event_id: 'msg_b1_batch' },
    ];

    it('sends its stored webhooks under their webhook-ids, then takes it out of the index at the claimed deadline; no job message', async () => {
      const { deps, events, queued, sent } = fakes([stalled], new Set(['j1']), new Map([['j1', messages]]));
      expect(await sweepStalledJobs(deps)).toEqual({ overdue: 1, requeued: 0, announced: 1 });
      expect(events).toEqual(['claim j1', 'deliver msg_j1_completed,msg_b1_batch', 'close j1 at 2026-01-01T01:11:00.000Z']);
      expect(sent).toEqual(messages);
      expect(queued).toHaveLength(0);
      // Closed: the next sweep finds nothing to claim.
      expect(await sweepStalledJobs(deps)).toEqual({ overdue: 1, requeued: 0, announced: 0 });
    });

    it('keeps it in the index when the send fails, and sends it on a later sweep', async () => {
      const { deps, events, sent } = fakes([stalled], new Set(['j1']), new Map([['j1', messages]]), 1);
      await expect(sweepStalledJobs(deps)).rejects.toThrow(/SQS unavailable/);
      expect(events).toEqual(['claim j1']); // not closed
      expect(await sweepStalledJobs(deps)).toEqual({ overdue: 1, requeued: 0, announced: 1 });
      expect(sent.map((m) => m.event_id)).toEqual(['msg_j1_completed', 'msg_b1_batch']);
    });
  });

  it('backs off the re-check of a job requeued again and again, up to six hours', () => {
    expect(nextCheck(NOW, 60, 1)).toEqual(new Date('2026-01-01T01:01:00Z'));
    expect(nextCheck(NOW, 60, 3)).toEqual(new Date('2026-01-01T01:04:00Z'));
    expect(nextCheck(NOW, 60, 30)).toEqual(new Date('2026-01-01T07:00:00Z'));
  });
});
