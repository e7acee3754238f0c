// The job state machine as data: which transitions each state allows, and the lease rules.
import { describe, expect, it } from 'vitest';
import { allows, attemptDecision, attemptsUsedUp, canTransition, isFinalState, JOB_TRANSITIONS, type JobStateView, type JobTransitionName } from '../../lambdas/core/job-state';

const NOW = new Date('2026-01-01T00:10:00.000Z');
const BEFORE = '2026-01-01T00:09:59.999Z';
const AFTER = '2026-01-01T00:10:00.001Z';

const states: Record<string, JobStateView> = {
  queued: { status: 'queued' },
  'processing, live lease': { status: 'processing', lease_until: AFTER },
  'processing, lease ran out': { status: 'processing', lease_until: BEFORE },
  'processing, lease ends now': { status: 'processing', lease_until: NOW.toISOString() },
  completed: { status: 'completed' },
  'failed, retries ran out': { status: 'failed', error: { retryable: true } },
  'failed, permanent': { status: 'failed', error: { retryable: false } },
  'failed, no error recorded': { status: 'failed' },
  cancelled: { status: 'cancelled' },
};

// Every (state, transition) pair: true where the transition is allowed.
const expected: Record<string, Record<JobTransitionName, boolean>> = {
  queued: { start: true, release: false, finish: false, cancel: true },
  'processing, live lease': { start: false, release: true, finish: true, cancel: false },
  'processing, lease ran out': { start: true, release: true, finish: true, cancel: false },
  'processing, lease ends now': { start: false, release: true, finish: true, cancel: false },
  completed: { start: false, release: false, finish: false, cancel: false },
  'failed, retries ran out': { start: true, release: false, finish: false, cancel: false },
  'failed, permanent': { start: false, release: false, finish: false, cancel: false },
  'failed, no error recorded': { start: false, release: false, finish: false, cancel: false },
  cancelled: { start: false, release: false, finish: false, cancel: false },
};

describe('job state transitions', () => {
  for (const [name, state] of Object.entries(states)) {
    it(`${name}: ${Object.entries(expected[name]!).filter(([, ok]) => ok).map(([t]) => t).join(', ') || 'nothing'}`, () => {
      const actual = Object.fromEntries(
        (Object.keys(JOB_TRANSITIONS) as JobTransitionName[]).map((transition) => [transition, canTransition(transition, state, NOW)]),
      );
      expect(actual).toEqual(expected[name]);
    });
  }

  it('allows nothing on a job that does not exist', () => {
    for (const transition of Object.keys(JOB_TRANSITIONS) as JobTransitionName[]) expect(canTransition(transition, undefined, NOW)).toBe(false);
  });

  it('only start takes a lease and counts an attempt; release and finish drop it; cancel leaves it', () => {
    expect(JOB_TRANSITIONS.start).toMatchObject({ to: ['processing'], lease: 'take', countsAttempt: true });
    expect(JOB_TRANSITIONS.release).toMatchObject({ to: ['queued'], lease: 'drop', countsAttempt: false });
    expect(JOB_TRANSITIONS.finish).toMatchObject({ to: ['completed', 'failed'], lease: 'drop', countsAttempt: false });
    expect(JOB_TRANSITIONS.cancel).toMatchObject({ to: ['cancelled'], lease: 'none', countsAttempt: false });
  });

  it('a processing job without a lease is not up for takeover (no lease is not an expired lease)', () => {
    expect(allows({ kind: 'lease_expired' }, { status: 'processing' }, NOW)).toBe(false);
  });

  it('completed, cancelled and permanently failed jobs are final; a retryable failure is not', () => {
    expect(isFinalState(states.completed!, NOW)).toBe(true);
    expect(isFinalState(states.cancelled!, NOW)).toBe(true);
    expect(isFinalState(states['failed, permanent']!, NOW)).toBe(true);
    expect(isFinalState(states['failed, retries ran out']!, NOW)).toBe(false);
    expect(isFinalState(states.queued!, NOW)).toBe(false);
  });

  it('a live lease is taken back only by the SQS message that took it; a retryable failure is restarted only by a message sent after it', () => {
    const leased = { status: 'processing' as const, lease_until: '2026-01-01T00:30:00.000Z', lease_owner: 'msg-1' };
    expect(canTransition('start', leased, NOW, { leaseOwner: 'msg-1' })).toBe(true);
    expect(canTransition('start', leased, NOW, { leaseOwner: 'msg-2' })).toBe(false);
    expect(canTransition('start', leased, NOW)).toBe(false);
    const gaveUp = { status: 'failed' as const, error: { retryable: true }, finished_at: '2026-01-01T00:05:00.000Z' };
    // A copy sent before the failure (its own late receive, a duplicate, a requeue) only re-announces it.
    expect(canTransition('start', gaveUp, NOW, { messageSentAt: '2026-01-01T00:04:00.000Z' })).toBe(false);
    expect(canTransition('start', gaveUp, NOW, { messageSentAt: '2026-01-01T00:06:00.000Z' })).toBe(true);
  });

  it('keeps a started or postponed job in the lease index until a finish or cancel clears it', () => {
    expect(Object.fromEntries(Object.entries(JOB_TRANSITIONS).map(([name, t]) => [name, t.deadline]))).toEqual({
      start: 'lease', release: 'retry', finish: 'clear', cancel: 'clear',
    });
  });

  it('decides a transient failure from the stored attempt counter; the receive count only guards SQS\'s own limit', () => {
    const limits = { maxAttempts: 5, maxReceiveCount: 15 };
    expect(attemptDecision(1, 9, limits)).toBe('retry'); // many receives, one attempt: not a reason to give up
    expect(attemptDecision(5, 1, limits)).toBe('attempts_exhausted');
    expect(attemptDecision(2, 15, limits)).toBe('receive_limit');
    expect(attemptsUsedUp(5, limits)).toBe(false);
    expect(attemptsUsedUp(6, limits)).toBe(true);
  });
});
