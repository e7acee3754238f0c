// Adapter detail: core/job-state.ts guards as DynamoDB ConditionExpressions. No rule lives
// here: each guard kind has one translation, and the names/values it uses are collected so a
// command carries exactly the placeholders its expressions reference.
import { JOB_TRANSITIONS, type JobStateGuard, type JobTransitionName } from '../../core/job-state';

export interface ConditionParts {
  readonly expression: string;
  readonly names: Record<string, string>;
  readonly values: Record<string, unknown>;
}

function translate(guard: JobStateGuard, now: Date, out: { names: Record<string, string>; values: Record<string, unknown> }): string {
  switch (guard.kind) {
    case 'status':
      out.names['#status'] = 'status';
      out.values[`:${guard.status}`] = guard.status;
      return `#status = :${guard.status}`;
    case 'lease_expired':
      out.values[':now'] = now.toISOString();
      return 'lease_until < :now';
    case 'retryable_failure':
      out.names['#error'] = 'error';
      out.values[':true'] = true;
      return '#error.retryable = :true';
    case 'all':
    case 'any': {
      const parts = guard.guards.map((g) => translate(g, now, out));
      const joined = parts.join(guard.kind === 'all' ? ' AND ' : ' OR ');
      return parts.length > 1 ? `(${joined})` : joined;
    }
  }
}

/** The condition of `transition`: the job exists and its guard holds. */
export function transitionCondition(transition: JobTransitionName, now: Date): ConditionParts {
  const out = { names: {} as Record<string, string>, values: {} as Record<string, unknown> };
  const guard = translate(JOB_TRANSITIONS[transition].from, now, out);
  return { expression: `attribute_exists(pk) AND ${guard}`, names: out.names, values: out.values };
}
