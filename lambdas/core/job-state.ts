// Domain rule: the job state machine as data. Each transition names the states it may start
// from (guards) and what it does to the lease; `allows` evaluates a guard against a job in
// memory, and the DynamoDB adapter translates the same guard into a ConditionExpression
// (adapters/dynamo/job-conditions.ts), so the rule is written once and both sides are tested
// against it.
//
//   queued --start--> processing --finish--> completed | failed
//     |  ^                |   |
//     |  +----release-----+   +--start (lease ran out: its worker died;
//     |                            or the same SQS message received again)--> processing
//     +--cancel--> cancelled
//   failed (retries ran out, retryable) --start (redrive: a message sent after it failed)--> processing
//
// The lease belongs to the SQS message that took it (its message id): SQS shows a message to one
// receiver at a time, so a new receive of that message means the earlier one is over (timed out,
// crashed, postponed itself) and it may take its own lease back at once. Any other message for the
// job (a duplicate, a sweeper requeue) waits until the lease ends.
//
// Attempts are counted on the job when `start` succeeds (countsAttempt); the retry decision
// (attemptDecision) reads that counter, never the SQS receive count.
import type { JobStatus } from './api-schemas';

/** What a guard may look at: the job's status, its lease and whether its failure was retryable. */
export interface JobStateView {
  readonly status: JobStatus;
  /** ISO time the current processing lease ends; absent unless processing. */
  readonly lease_until?: string;
  /** The SQS message id that took the current (or last) lease. */
  readonly lease_owner?: string;
  /** ISO time the job reached its terminal state. */
  readonly finished_at?: string;
  readonly error?: { readonly retryable?: boolean };
}

/** Who is asking: the SQS message a `start` comes from (its id owns the lease it takes). */
export interface TransitionContext {
  readonly leaseOwner?: string;
  /** ISO time the asking SQS message was sent (SentTimestamp). */
  readonly messageSentAt?: string;
}

export type JobStateGuard =
  | { readonly kind: 'status'; readonly status: JobStatus }
  /** The processing lease ended before `now`: the worker that held it is gone. */
  | { readonly kind: 'lease_expired' }
  /** The job failed only because transient retries ran out. */
  | { readonly kind: 'retryable_failure' }
  /** The lease was taken by the asking message (owned: true) or by any other, or none (owned: false). */
  | { readonly kind: 'lease_owner'; readonly owned: boolean }
  /** The asking message was sent after the job finished: a redrive, not a copy from before its end. */
  | { readonly kind: 'sent_after_finish' }
  | { readonly kind: 'all'; readonly guards: readonly JobStateGuard[] }
  | { readonly kind: 'any'; readonly guards: readonly JobStateGuard[] };

const status = (value: JobStatus): JobStateGuard => ({ kind: 'status', status: value });
const all = (...guards: JobStateGuard[]): JobStateGuard => ({ kind: 'all', guards });
const any = (...guards: JobStateGuard[]): JobStateGuard => ({ kind: 'any', guards });

export type LeaseEffect = 'take' | 'drop' | 'none';

/**
 * What the transition does to the job's deadline in the lease index (the sweeper's view of jobs
 * in flight): lease: due when the lease ends; retry: due when the retry is; clear: out of the index.
 */
export type DeadlineEffect = 'lease' | 'retry' | 'clear';

export interface JobTransition {
  /** Target states; `finish` picks one by the outcome. */
  readonly to: readonly JobStatus[];
  /** The job must exist and satisfy this. */
  readonly from: JobStateGuard;
  /** take: set a new lease_until; drop: remove it; none: leave it. */
  readonly lease: LeaseEffect;
  /** The transition counts one processing attempt. */
  readonly countsAttempt: boolean;
  readonly deadline: DeadlineEffect;
}

export const JOB_TRANSITIONS = {
  /**
   * An extractor claims the job: queued; or processing under a dead lease or one its own message
   * took; or a redrive of a retryable failure: a message sent after the job failed. A copy sent
   * before (the late receive of the message that failed it, a duplicate, a sweeper requeue) only
   * re-announces the failure, so a job never ends twice under two webhook-ids.
   */
  start: {
    to: ['processing'],
    from: any(
      status('queued'),
      all(status('processing'), any({ kind: 'lease_expired' }, { kind: 'lease_owner', owned: true })),
      all(status('failed'), { kind: 'retryable_failure' }, { kind: 'sent_after_finish' }),
    ),
    lease: 'take',
    countsAttempt: true,
    deadline: 'lease',
  },
  /** A transient failure hands the job back for the next retry (still in flight: due when the retry is). */
  release: { to: ['queued'], from: status('processing'), lease: 'drop', countsAttempt: false, deadline: 'retry' },
  /** The extractor stores the outcome. */
  finish: { to: ['completed', 'failed'], from: status('processing'), lease: 'drop', countsAttempt: false, deadline: 'clear' },
  /** Only a job nobody is processing can be cancelled (also one waiting for a retry). */
  cancel: { to: ['cancelled'], from: status('queued'), lease: 'none', countsAttempt: false, deadline: 'clear' },
} as const satisfies Record<string, JobTransition>;

export type JobTransitionName = keyof typeof JOB_TRANSITIONS;

/** True when `guard` holds for `job` at `now`, asked by `context` (the message taking a lease). */
export function allows(guard: JobStateGuard, job: JobStateView, now: Date, context: TransitionContext = {}): boolean {
  switch (guard.kind) {
    case 'status':
      return job.status === guard.status;
    case 'lease_expired':
      // ISO-8601 UTC strings of one format compare like the instants they name (as DynamoDB compares them).
      return job.lease_until !== undefined && job.lease_until < now.toISOString();
    case 'retryable_failure':
      return job.error?.retryable === true;
    case 'lease_owner': {
      const mine = context.leaseOwner !== undefined && job.lease_owner === context.leaseOwner;
      return guard.owned ? mine : !mine;
    }
    case 'sent_after_finish':
      // Without a finish time (older items) or a send time, any message counts as a redrive.
      return job.finished_at === undefined || context.messageSentAt === undefined || job.finished_at < context.messageSentAt;
    case 'all':
      return guard.guards.every((g) => allows(g, job, now, context));
    case 'any':
      return guard.guards.some((g) => allows(g, job, now, context));
  }
}

/** True when the job (undefined: it does not exist) may take `transition` at `now`. */
export function canTransition(
  transition: JobTransitionName,
  job: JobStateView | undefined,
  now: Date,
  context: TransitionContext = {},
): boolean {
  return job !== undefined && allows(JOB_TRANSITIONS[transition].from, job, now, context);
}

export interface AttemptLimits {
  /** Attempts a job gets (settings.extraction.maxAttempts). */
  readonly maxAttempts: number;
  /** SQS receives the jobs queue allows before moving a message by count (settings.extraction.maxReceiveCount). */
  readonly maxReceiveCount: number;
}

/**
 * After attempt `attempt` (the job's stored counter) failed transiently, on receive `receiveCount`:
 * retry on the schedule; or fail the job because its attempts are used up; or fail it because this
 * is the last receive SQS allows (the message would otherwise go to the DLQ by count, with no reason).
 */
export function attemptDecision(attempt: number, receiveCount: number, limits: AttemptLimits): 'retry' | 'attempts_exhausted' | 'receive_limit' {
  if (attempt >= limits.maxAttempts) return 'attempts_exhausted';
  if (receiveCount >= limits.maxReceiveCount) return 'receive_limit';
  return 'retry';
}

/** A start whose attempt is beyond the budget (the job was requeued after its last attempt never finished). */
export const attemptsUsedUp = (attempt: number, limits: Pick<AttemptLimits, 'maxAttempts'>): boolean => attempt > limits.maxAttempts;

/** The states a job can never leave (no transition starts from them). */
export function isFinalState(state: JobStateView, now: Date): boolean {
  return (Object.keys(JOB_TRANSITIONS) as JobTransitionName[]).every((name) => !canTransition(name, state, now));
}
