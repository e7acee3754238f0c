// Adapter detail: core/job-state.ts guards as DynamoDB ConditionExpressions. No rule lives
// here: each guard kind has one translation, and the names/values it uses are collected so a
// command carries exactly the placeholders its expressions reference.
import { JOB_TRANSITIONS, type JobStateGuard, type JobTransitionName, type TransitionContext } from '../../core/job-state';

export interface ConditionParts {
  readonly expression: string;
  readonly names: Record<string, string>;
  readonly values: Record<string, unknown>;
}

function translate(
  guard: JobStateGuard,
  now: Date,
  context: TransitionContext,
  out: { names: Record<string, string>; values: Record<string, unknown> },
): string {
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
    case 'lease_owner': {
      // No asking message: nobody owns the lease as far as this write is concerned.
      if (context.leaseOwner === undefined) return guard.owned ? 'attribute_not_exists(pk)' : 'attribute_exists(pk)';
      out.values[':owner'] = context.leaseOwner;
      return guard.owned ? 'lease_owner = :owner' : '(attribute_not_exists(lease_owner) OR lease_owner <> :owner)';
    }
    case 'sent_after_finish': {
      if (context.messageSentAt === undefined) return 'attribute_exists(pk)';
      out.values[':sentAt'] = context.messageSentAt;
      return '(attribute_not_exists(finished_at) OR finished_at < :sentAt)';
    }
    case 'all':
    case 'any': {
      const parts = guard.guards.map((g) => translate(g, now, context, out));
      const joined = parts.join(guard.kind === 'all' ? ' AND ' : ' OR ');
      return parts.length > 1 ? `(${joined})` : joined;
    }
  }
}

/** The condition of `transition`: the job exists and its guard holds. */
export function transitionCondition(transition: JobTransitionName, now: Date, context: TransitionContext = {}): ConditionParts {
  const out = { names: {} as Record<string, string>, values: {} as Record<string, unknown> };
  const guard = translate(JOB_TRANSITIONS[transition].from, now, context, out);
  return { expression: `attribute_exists(pk) AND ${guard}`, names: out.names, values: out.values };
}
