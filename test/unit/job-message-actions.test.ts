// What the extractor does with a job message after extractJob (lambdas/core/job-message-actions.ts):
// the receive-count rules that keep a message from reaching the DLQ without a reason, as a table.
import { describe, expect, it } from 'vitest';
import { resolveSettings } from '../../lib/settings';
import { TransientJobError } from '../../lambdas/core/errors';
import type { ExtractJobOutcome } from '../../lambdas/core/extract-job';
import { actionForError, actionForOutcome, actionForUnsentWebhooks, countedOutcome, isLastReceive } from '../../lambdas/core/job-message-actions';

// Schedule 5 s, 7 s: steps a delay can only come from.
const settings = resolveSettings({ METAHOOK_EXTRACTION_RETRY_SCHEDULE: '5,7' });
const last = settings.extraction.maxReceiveCount;

describe('job message actions', () => {
  it('knows the last receive from the queue\'s maxReceiveCount', () => {
    expect(last).toBeGreaterThan(2);
    expect(isLastReceive(settings, last - 1)).toBe(false);
    expect(isLastReceive(settings, last)).toBe(true);
    expect(isLastReceive(settings, last + 1)).toBe(true);
  });

  it.each<[string, ExtractJobOutcome, ReturnType<typeof actionForOutcome>, string]>([
    ['completed', { outcome: 'completed', jobId: 'j' }, { kind: 'done' }, 'completed'],
    ['skipped', { outcome: 'skipped', jobId: 'j', reason: 'terminal' }, { kind: 'done' }, 'skipped'],
    ['retry', { outcome: 'retry', jobId: 'j', delaySeconds: 42, reason: 'model_throttled' }, { kind: 'postpone', seconds: 42 }, 'retried'],
    ['failed, retryable later', { outcome: 'failed', jobId: 'j', code: 'file_unreadable' }, { kind: 'done' }, 'failed'],
    ['failed, retries out', { outcome: 'failed', jobId: 'j', code: 'model_error', deadLetter: 'attempts_exhausted' },
      { kind: 'dead_letter', queue: 'dead_letter', reason: 'attempts_exhausted', detail: 'model_error' }, 'dead_lettered'],
    ['redelivered on the last receive', { outcome: 'redelivered', jobId: 'j', deadLetter: 'receive_limit' },
      { kind: 'dead_letter', queue: 'dead_letter', reason: 'receive_limit', detail: 'job failed' }, 'dead_lettered'],
    ['held (tenant disabled)', { outcome: 'held', jobId: 'j', reason: 'tenant_disabled' },
      { kind: 'dead_letter', queue: 'held', reason: 'tenant_disabled', detail: 'tenant is disabled; released by tenants enable' }, 'held'],
  ])('answers %s', (_name, outcome, action, counted) => {
    expect(actionForOutcome(outcome)).toEqual(action);
    expect(countedOutcome(outcome)).toBe(counted);
  });

  it('postpones a thrown error by the schedule (or the error\'s Retry-After), and dead-letters it with the error on the last receive', () => {
    const error = new Error('DynamoDB timed out');
    expect(actionForError(settings, 1, error)).toEqual({ kind: 'postpone', seconds: 5 });
    expect(actionForError(settings, 2, error)).toEqual({ kind: 'postpone', seconds: 7 });
    expect(actionForError(settings, 1, new TransientJobError('model_error', 'slow down', { retryAfterSeconds: 60 }))).toEqual({ kind: 'postpone', seconds: 60 });
    expect(actionForError(settings, last, error)).toEqual({ kind: 'dead_letter', queue: 'dead_letter', reason: 'handler_error', detail: 'DynamoDB timed out' });
    expect(actionForError(settings, last, 'not an Error')).toMatchObject({ kind: 'dead_letter', detail: 'not an Error' });
  });

  it('hands unsent webhooks to the sweeper only on the last receive, and retries them on the schedule before', () => {
    expect(actionForUnsentWebhooks(settings, 1)).toEqual({ kind: 'postpone', seconds: 5 });
    expect(actionForUnsentWebhooks(settings, last - 1)).toEqual({ kind: 'postpone', seconds: 7 });
    // If the hand-over fails too, the record is retried on the schedule's last step.
    expect(actionForUnsentWebhooks(settings, last)).toEqual({ kind: 'defer_to_sweeper', otherwise: { kind: 'postpone', seconds: 7 } });
  });
});
