// Domain rule: the job state machine as data. Each transition names the states it may start
// from (guards) and what it does to the lease; `allows` evaluates a guard against a job in
// memory, and the DynamoDB adapter translates the same guard into a ConditionExpression
// (adapters/dynamo/job-conditions.ts), so the rule is written once and both sides are tested
// against it.
//
//   queued --start--> processing --finish--> completed | failed
//     |  ^                |   |
//     |  +----release-----+   +--start (lease ran out: its worker died)--> processing
//     +--cancel--> cancelled
//   failed (retries ran out, retryable) --start (operator redrive)--> processing
import type { JobStatus } from './api-schemas';

/** What a guard may look at: the job's status, its lease and whether its failure was retryable. */
export interface JobStateView {
  readonly status: JobStatus;
  /** ISO time the current processing lease ends; absent unless processing. */
  readonly lease_until?: string;
  readonly error?: { readonly retryable?: boolean };
}

export type JobStateGuard =
  | { readonly kind: 'status'; readonly status: JobStatus }
  /** The processing lease ended before `now`: the worker that held it is gone. */
  | { readonly kind: 'lease_expired' }
  /** The job failed only because transient retries ran out. */
  | { readonly kind: 'retryable_failure' }
  | { readonly kind: 'all'; readonly guards: readonly JobStateGuard[] }
  | { readonly kind: 'any'; readonly guards: readonly JobStateGuard[] };

const status = (value: JobStatus): JobStateGuard => ({ kind: 'status', status: value });
const all = (...guards: JobStateGuard[]): JobStateGuard => ({ kind: 'all', guards });
const any = (...guards: JobStateGuard[]): JobStateGuard => ({ kind: 'any', guards });

export type LeaseEffect = 'take' | 'drop' | 'none';

export interface JobTransition {
  /** Target states; `finish` picks one by the outcome. */
  readonly to: readonly JobStatus[];
  /** The job must exist and satisfy this. */
  readonly from: JobStateGuard;
  /** take: set a new lease_until; drop: remove it; none: leave it. */
  readonly lease: LeaseEffect;
  /** The transition counts one processing attempt. */
  readonly countsAttempt: boolean;
}

export const JOB_TRANSITIONS = {
  /** An extractor claims the job: queued; or processing under a dead lease; or an operator's redrive of a retryable failure. */
  start: {
    to: ['processing'],
    from: any(status('queued'), all(status('processing'), { kind: 'lease_expired' }), all(status('failed'), { kind: 'retryable_failure' })),
    lease: 'take',
    countsAttempt: true,
  },
  /** A transient failure hands the job back for the next retry. */
  release: { to: ['queued'], from: status('processing'), lease: 'drop', countsAttempt: false },
  /** The extractor stores the outcome. */
  finish: { to: ['completed', 'failed'], from: status('processing'), lease: 'drop', countsAttempt: false },
  /** Only a job nobody has started can be cancelled. */
  cancel: { to: ['cancelled'], from: status('queued'), lease: 'none', countsAttempt: false },
} as const satisfies Record<string, JobTransition>;

export type JobTransitionName = keyof typeof JOB_TRANSITIONS;

/** True when `guard` holds for `job` at `now`. */
export function allows(guard: JobStateGuard, job: JobStateView, now: Date): boolean {
  switch (guard.kind) {
    case 'status':
      return job.status === guard.status;
    case 'lease_expired':
      // ISO-8601 UTC strings of one format compare like the instants they name (as DynamoDB compares them).
      return job.lease_until !== undefined && job.lease_until < now.toISOString();
    case 'retryable_failure':
      return job.error?.retryable === true;
    case 'all':
      return guard.guards.every((g) => allows(g, job, now));
    case 'any':
      return guard.guards.some((g) => allows(g, job, now));
  }
}

/** True when the job (undefined: it does not exist) may take `transition` at `now`. */
export function canTransition(transition: JobTransitionName, job: JobStateView | undefined, now: Date): boolean {
  return job !== undefined && allows(JOB_TRANSITIONS[transition].from, job, now);
}

/** The states a job can never leave (no transition starts from them). */
export function isFinalState(state: JobStateView, now: Date): boolean {
  return (Object.keys(JOB_TRANSITIONS) as JobTransitionName[]).every((name) => !canTransition(name, state, now));
}
