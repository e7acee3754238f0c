// Use case (pure): extractor handler -> here. What becomes of a job's SQS message once extractJob
// has answered or thrown, and of a finished job whose webhooks SQS did not take. The handler only
// carries the action out (sqs-queues.ts), so the receive-count rules sit in one table-tested place:
// a message is dead-lettered by us, with a reason, on the last receive SQS allows, never left to
// SQS's silent move by count.
import type { Settings } from '../../lib/settings';
import { retryDelaySeconds, type ExtractJobOutcome } from './extract-job';

export type JobMessageAction =
  /** Nothing more to do: the batch response lets SQS delete the message. */
  | { readonly kind: 'done' }
  /** Copy the message to a queue with its reason, then let SQS delete it. */
  | { readonly kind: 'dead_letter'; readonly queue: 'dead_letter' | 'held'; readonly reason: string; readonly detail: string }
  /** Hide the message for `seconds` and report the record failed, so SQS gives it back then. */
  | { readonly kind: 'postpone'; readonly seconds: number };

/** The receive SQS would follow with its own move to the DLQ by count (maxReceiveCount). */
export const isLastReceive = (settings: Settings, receiveCount: number): boolean => receiveCount >= settings.extraction.maxReceiveCount;

/** The JobsProcessed metric's outcome for an answer of extractJob. */
export function countedOutcome(outcome: ExtractJobOutcome): string {
  if (outcome.outcome === 'retry') return 'retried';
  if ((outcome.outcome === 'failed' || outcome.outcome === 'redelivered') && outcome.deadLetter !== undefined) return 'dead_lettered';
  return outcome.outcome;
}

/** After extractJob answered. */
export function actionForOutcome(outcome: ExtractJobOutcome): JobMessageAction {
  switch (outcome.outcome) {
    case 'retry':
      return { kind: 'postpone', seconds: outcome.delaySeconds };
    case 'failed':
    case 'redelivered':
      if (outcome.deadLetter === undefined) return { kind: 'done' };
      return { kind: 'dead_letter', queue: 'dead_letter', reason: outcome.deadLetter, detail: outcome.outcome === 'failed' ? outcome.code : 'job failed' };
    case 'held':
      // Not the dead-letter queue: a routine disable must not page on-call. `tenants enable` releases it.
      return { kind: 'dead_letter', queue: 'held', reason: outcome.reason, detail: 'tenant is disabled; released by tenants enable' };
    case 'completed':
    case 'skipped':
      return { kind: 'done' };
  }
}

/**
 * After extractJob threw: infrastructure failed mid-way (a DynamoDB or SQS call) and nothing was
 * decided. Tried again on the extraction schedule; on the last receive dead-lettered with the error
 * (the sweeper still finds the job by its lease deadline).
 */
export function actionForError(settings: Settings, receiveCount: number, error: unknown): JobMessageAction {
  if (isLastReceive(settings, receiveCount)) {
    return { kind: 'dead_letter', queue: 'dead_letter', reason: 'handler_error', detail: error instanceof Error ? error.message : String(error) };
  }
  return { kind: 'postpone', seconds: retryDelaySeconds(settings, receiveCount, error) };
}

type Postpone = Extract<JobMessageAction, { kind: 'postpone' }>;

/**
 * A finished job's webhooks SQS did not take. On the last receive they are handed to the sweeper
 * (nothing else would announce the job: it has left the lease index), and `otherwise` applies if
 * that hand-over fails too; before it, the record is retried on the extraction schedule, as a
 * failed record would be, not after the queue's visibility.
 */
export function actionForUnsentWebhooks(settings: Settings, receiveCount: number): { readonly kind: 'defer_to_sweeper'; readonly otherwise: Postpone } | Postpone {
  const retry: Postpone = { kind: 'postpone', seconds: retryDelaySeconds(settings, receiveCount, undefined) };
  return isLastReceive(settings, receiveCount) ? { kind: 'defer_to_sweeper', otherwise: retry } : retry;
}
