// Use case: callback handler -> deliverEvent -> (JobRepository, TenantDirectory, WebhookSender, DeliveryAttemptLog).
// One delivery attempt of one event: sign, POST, record the attempt, decide what happens next.
// The handler turns the decision into SQS actions (visibility backoff or dead-lettering).
import type { Settings } from '../../lib/settings';
import { buildBatchCompletedEvent, buildJobEvent, serializeEvent, type WebhookEvent } from './events';
import type { DeliveryAttemptLog, DeliveryMessage, JobRepository, TenantDirectory, WebhookSender } from './ports';
import type { DeliveryAttemptRecord, DeliverySummary } from './records';
import { parseRetryAfter } from './retry-after';
import { signWebhook } from './webhook-signature';

export interface DeliverEventDeps {
  readonly jobs: JobRepository;
  readonly tenants: TenantDirectory;
  readonly sender: WebhookSender;
  readonly attempts: DeliveryAttemptLog;
  readonly settings: Settings;
  readonly now: () => Date;
  /** Uniform in [0, 1): jitter source, injectable so tests are exact. */
  readonly random: () => number;
}

export type DeadLetterReason = 'endpoint_gone' | 'attempts_exhausted';

export type DeliveryDecision =
  | { readonly outcome: 'delivered'; readonly attempt: number; readonly status: number }
  | { readonly outcome: 'skipped'; readonly reason: string }
  | { readonly outcome: 'retry'; readonly attempt: number; readonly delaySeconds: number; readonly error: string }
  | { readonly outcome: 'dead_letter'; readonly attempt: number; readonly reason: DeadLetterReason; readonly error: string };

interface Subject {
  readonly event: WebhookEvent;
  readonly callbackUrl: string;
  readonly delivery: DeliverySummary | undefined;
  readonly jobId: string | null;
  readonly batchId: string | null;
}

async function loadSubject(deps: DeliverEventDeps, message: DeliveryMessage): Promise<Subject | string> {
  if (message.kind === 'job') {
    const job = await deps.jobs.getJob(message.tenant_id, message.job_id);
    if (!job) return 'job not found';
    if (job.status !== 'completed' && job.status !== 'failed') return `job is ${job.status}`;
    const event = buildJobEvent(job);
    if (event.id !== message.event_id) return 'job outcome changed since this delivery was queued';
    return { event, callbackUrl: job.callback_url, delivery: job.delivery, jobId: job.job_id, batchId: job.batch_id };
  }
  const batch = await deps.jobs.getBatch(message.tenant_id, message.batch_id);
  if (!batch || !batch.completed_event_at) return 'batch not found or not complete';
  return {
    event: buildBatchCompletedEvent(batch),
    callbackUrl: batch.callback_url,
    delivery: batch.delivery,
    jobId: null,
    batchId: batch.batch_id,
  };
}

/**
 * Delay before the next attempt: the schedule's step with +-jitter, or Retry-After within the
 * schedule's bounds. Steps that fall inside the promise window get their upward jitter trimmed
 * so the worst case still lands inside it (the first five attempts within 15 minutes).
 */
export function retryDelaySeconds(
  settings: Settings['delivery'],
  failedAttemptIndex: number,
  random: () => number,
  retryAfterSeconds?: number,
): number {
  const schedule = settings.retryScheduleSeconds;
  const index = Math.min(failedAttemptIndex, schedule.length - 1);
  const step = schedule[index] ?? 0;
  if (retryAfterSeconds !== undefined) {
    const lower = Math.min(...schedule);
    const upper = Math.max(...schedule);
    return Math.round(Math.min(Math.max(retryAfterSeconds, lower), upper));
  }
  const nominalElapsed = schedule.slice(0, index + 1).reduce((sum, s) => sum + s, 0);
  const window = settings.promiseWindowSeconds;
  // 5% of the window is left for the attempts themselves.
  const upJitter =
    nominalElapsed <= window && nominalElapsed > 0
      ? Math.max(0, Math.min(settings.retryJitter, (window * 0.95) / nominalElapsed - 1))
      : settings.retryJitter;
  const factor = 1 - settings.retryJitter + random() * (settings.retryJitter + upJitter);
  return Math.max(0, Math.min(43_200, Math.round(step * factor)));
}

/** The callback URL as stored in audit records: query strings often carry tokens. */
export function redactUrl(raw: string): string {
  try {
    const url = new URL(raw);
    const redacted = `${url.origin}${url.pathname}`;
    return url.search ? `${redacted}?[redacted]` : redacted;
  } catch {
    return '[unparseable url]';
  }
}

export async function deliverEvent(
  deps: DeliverEventDeps,
  message: DeliveryMessage,
  receive: { readonly receiveCount: number },
): Promise<DeliveryDecision> {
  const subject = await loadSubject(deps, message);
  if (typeof subject === 'string') return { outcome: 'skipped', reason: subject };
  const { event } = subject;
  const previous = subject.delivery?.event_id === event.id ? subject.delivery : undefined;
  const redelivery = message.kind === 'job' && message.redelivery === true;
  if (previous?.status === 'delivered' && !redelivery) return { outcome: 'skipped', reason: 'already delivered' };

  const startedAt = deps.now();
  const secrets = await deps.tenants.getSigningSecrets(message.tenant_id, startedAt);
  const body = serializeEvent(event);
  const headers = {
    'content-type': 'application/json',
    ...signWebhook({ id: event.id, timestamp: startedAt, body, secrets: secrets.map((s) => s.secret) }),
  };
  const attemptNumber = (previous?.attempts ?? 0) + 1;
  const response = await deps.sender.post({
    url: subject.callbackUrl,
    headers,
    body,
    timeoutMs: deps.settings.delivery.httpTimeoutMs,
    maxResponseBytes: deps.settings.delivery.maxStoredResponseBytes,
  });

  const status = response.kind === 'response' ? response.status : null;
  const ok = status !== null && status >= 200 && status < 300;
  const errorText = ok
    ? null
    : response.kind === 'response'
      ? `HTTP ${response.status}`
      : `${response.errorClass}: ${response.message}`;

  let decision: DeliveryDecision;
  if (ok) {
    decision = { outcome: 'delivered', attempt: attemptNumber, status: status! };
  } else if (status === 410) {
    decision = { outcome: 'dead_letter', attempt: attemptNumber, reason: 'endpoint_gone', error: errorText! };
  } else if (receive.receiveCount >= deps.settings.delivery.maxReceiveCount) {
    decision = { outcome: 'dead_letter', attempt: attemptNumber, reason: 'attempts_exhausted', error: errorText! };
  } else {
    const retryAfter =
      response.kind === 'response' && (status === 429 || status === 503)
        ? parseRetryAfter(response.headers['retry-after'], startedAt)
        : undefined;
    decision = {
      outcome: 'retry',
      attempt: attemptNumber,
      delaySeconds: retryDelaySeconds(deps.settings.delivery, receive.receiveCount - 1, deps.random, retryAfter),
      error: errorText!,
    };
  }

  const record: DeliveryAttemptRecord = {
    tenant_id: message.tenant_id,
    event_id: event.id,
    event_type: event.type,
    job_id: subject.jobId,
    batch_id: subject.batchId,
    attempt: attemptNumber,
    started_at: startedAt.toISOString(),
    duration_ms: response.durationMs,
    url: redactUrl(subject.callbackUrl),
    http_status: status,
    error_class: response.kind === 'error' ? response.errorClass : ok ? null : `http_${status}`,
    response_body: response.kind === 'response' ? response.body : null,
    outcome: decision.outcome === 'delivered' ? 'delivered' : decision.outcome === 'retry' ? 'retrying' : 'dead_lettered',
  };
  await deps.attempts.record(record);
  await deps.jobs.recordDeliveryOutcome({
    tenantId: message.tenant_id,
    ...(subject.jobId ? { jobId: subject.jobId } : { batchId: subject.batchId! }),
    eventId: event.id,
    status: decision.outcome === 'delivered' ? 'delivered' : decision.outcome === 'retry' ? 'pending' : 'failed',
    attempt: attemptNumber,
    lastStatusCode: status,
    lastError: decision.outcome === 'dead_letter' ? `${decision.reason}: ${errorText}` : errorText,
    at: deps.now(),
  });
  return decision;
}
