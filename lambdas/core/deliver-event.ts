// Use case: callback handler -> deliverEvent -> (JobLifecycle, BatchProgressStore, DeliveryLedger, TenantDirectory, WebhookSender, DeliveryAttemptLog).
// One delivery attempt of one event: sign, POST, record the attempt, decide what happens next.
// The handler turns the decision into SQS actions (visibility backoff or dead-lettering).
import type { Settings } from '../../lib/settings';
import { buildBatchCompletedEvent, buildJobEvent, serializeEvent, type WebhookEvent } from './events';
import { onlyBatchCompleted, wantsEvent, withInlineResults } from './batch-results';
import { openCallbackHeaders } from './callback-headers';
import type {
  BatchProgressStore,
  DeliveryAttemptLog,
  DeliveryLedger,
  DeliveryMessage,
  JobLifecycle,
  JobListings,
  SecretSealer,
  TenantDirectory,
  WebhookResponse,
  WebhookSender,
} from './ports';
import type { DeliveryAttemptRecord, DeliverySummary } from './records';
import { parseRetryAfter } from './retry-after';
import { signWebhook } from './webhook-signature';

export interface DeliverEventDeps {
  readonly jobs: Pick<JobLifecycle, 'getJob'>;
  readonly batches: Pick<BatchProgressStore, 'getBatch'>;
  readonly ledger: Pick<DeliveryLedger, 'recordDeliveryOutcome'>;
  /** Reads a batch's jobs for batch.completed with inline results (events: ["batch.completed"]). */
  readonly listings: Pick<JobListings, 'listJobs'>;
  readonly tenants: TenantDirectory;
  readonly sender: WebhookSender;
  readonly attempts: DeliveryAttemptLog;
  readonly settings: Settings;
  readonly now: () => Date;
  /** Uniform in [0, 1): jitter source, injectable so tests are exact. */
  readonly random: () => number;
  /** Opens a request's sealed callback_headers; an event with headers fails (and retries) without one. */
  readonly sealer?: SecretSealer;
}

export type DeadLetterReason = 'endpoint_gone' | 'attempts_exhausted' | 'receive_limit';

export type DeliveryDecision =
  | { readonly outcome: 'delivered'; readonly attempt: number; readonly status: number }
  | { readonly outcome: 'skipped'; readonly reason: string }
  /** Received before its next attempt is due: hide it again, no attempt made, no retry used. */
  | { readonly outcome: 'wait'; readonly delaySeconds: number }
  | { readonly outcome: 'retry'; readonly attempt: number; readonly delaySeconds: number; readonly error: string }
  | { readonly outcome: 'dead_letter'; readonly attempt: number; readonly reason: DeadLetterReason; readonly error: string };

/** What the handler knows about this receipt of the message. */
export interface ReceiptInfo {
  /** SQS ApproximateReceiveCount: only to act before SQS dead-letters the message by count. */
  readonly receiveCount: number;
}

/** Attempts numbered from the same stored state may race; the loser takes the next free number. */
const MAX_ATTEMPT_NUMBER_RACES = 5;

interface Subject {
  readonly event: WebhookEvent;
  readonly callbackUrl: string;
  readonly delivery: DeliverySummary | undefined;
  readonly jobId: string | null;
  readonly batchId: string | null;
  /** Sealed callback_headers of the request, bound to the batch that sealed them. */
  readonly sealedHeaders: { readonly batchId: string; readonly sealed: string } | null;
}

const sealedHeadersOf = (record: { readonly batch_id: string; readonly callback_headers_sealed?: string | null }) =>
  record.callback_headers_sealed ? { batchId: record.batch_id, sealed: record.callback_headers_sealed } : null;

async function loadSubject(deps: DeliverEventDeps, message: DeliveryMessage): Promise<Subject | string> {
  if (message.kind === 'job') {
    const job = await deps.jobs.getJob(message.tenant_id, message.job_id);
    if (!job) return 'job not found';
    if (job.status !== 'completed' && job.status !== 'failed') return `job is ${job.status}`;
    const event = buildJobEvent(job);
    if (event.id !== message.event_id) return 'job outcome changed since this delivery was queued';
    // An event the request did not choose is never sent; an explicit redelivery is.
    if (!wantsEvent(job.events, event.type) && message.redelivery !== true) return `${event.type} not chosen in events`;
    return { event, callbackUrl: job.callback_url, delivery: job.delivery, jobId: job.job_id, batchId: job.batch_id, sealedHeaders: sealedHeadersOf(job) };
  }
  const batch = await deps.batches.getBatch(message.tenant_id, message.batch_id);
  if (!batch || !batch.completed_event_at) return 'batch not found or not complete';
  if (!wantsEvent(batch.events, 'batch.completed')) return 'batch.completed not chosen in events';
  const event = buildBatchCompletedEvent(batch);
  return {
    event: onlyBatchCompleted(batch.events) ? await withInlineResults(deps.listings, batch, event, deps.settings.delivery.batchEventMaxBytes) : event,
    callbackUrl: batch.callback_url,
    delivery: batch.delivery,
    jobId: null,
    batchId: batch.batch_id,
    sealedHeaders: sealedHeadersOf(batch),
  };
}

/** The request's receiver-authentication headers, opened for this attempt only (never logged or stored). */
async function receiverHeaders(deps: DeliverEventDeps, tenantId: string, subject: Subject): Promise<Record<string, string>> {
  if (!subject.sealedHeaders) return {};
  if (!deps.sealer) throw new Error('the callback has no SecretSealer configured (METAHOOK_SECRETS_KEY_ID) to open callback_headers');
  return openCallbackHeaders(deps.sealer, tenantId, subject.sealedHeaders.batchId, subject.sealedHeaders.sealed);
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
  // No 43,200 s clamp: a wait longer than one SQS visibility window is split by the handler
  // (stored next_attempt_at), so the last step keeps its full jitter.
  return Math.max(0, Math.round(step * factor));
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

/**
 * The last receive SQS allows: if this one does not end the message, SQS moves it to the DLQ on
 * the next receive, without a reason and without a failed delivery. We dead-letter it ourselves.
 */
const lastAllowedReceive = (deps: DeliverEventDeps, receive: ReceiptInfo) =>
  receive.receiveCount >= deps.settings.delivery.maxReceiveCount;

export async function deliverEvent(deps: DeliverEventDeps, message: DeliveryMessage, receive: ReceiptInfo): Promise<DeliveryDecision> {
  const subject = await loadSubject(deps, message);
  if (typeof subject === 'string') return { outcome: 'skipped', reason: subject };
  const { event } = subject;
  const previous = subject.delivery?.event_id === event.id ? subject.delivery : undefined;
  const redelivery = message.kind === 'job' && message.redelivery === true;
  if (previous?.status === 'delivered' && !redelivery) return { outcome: 'skipped', reason: 'already delivered' };

  const startedAt = deps.now();
  const target = subject.jobId ? { jobId: subject.jobId } : { batchId: subject.batchId! };
  // Retries are decided from the stored state: a receive before the due time (SQS visibility is
  // capped at 12 h per receipt, or a duplicate receive) waits again without an attempt.
  const dueAt = previous?.status === 'pending' && previous.next_attempt_at ? Date.parse(previous.next_attempt_at) : NaN;
  const waitSeconds = Math.ceil((dueAt - startedAt.getTime()) / 1000);
  if (waitSeconds > 1) {
    if (!lastAllowedReceive(deps, receive)) return { outcome: 'wait', delaySeconds: waitSeconds };
    const error = `SQS receive limit (${deps.settings.delivery.maxReceiveCount}) reached before attempt ${previous!.attempts + 1} was due`;
    await deps.ledger.recordDeliveryOutcome({
      tenantId: message.tenant_id,
      ...target,
      eventId: event.id,
      status: 'failed',
      attempt: previous!.attempts,
      failures: previous!.failures ?? previous!.attempts,
      nextAttemptAt: null,
      lastStatusCode: previous!.last_status_code,
      lastError: `receive_limit: ${error}`,
      at: startedAt,
    });
    return { outcome: 'dead_letter', attempt: previous!.attempts, reason: 'receive_limit', error };
  }

  const secrets = await deps.tenants.getSigningSecrets(message.tenant_id, startedAt);
  const body = serializeEvent(event);
  const headers = {
    ...(await receiverHeaders(deps, message.tenant_id, subject)),
    'content-type': 'application/json',
    ...signWebhook({ id: event.id, timestamp: startedAt, body, secrets: secrets.map((s) => s.secret) }),
  };
  // A redelivery of a delivered event, or a redrive of a failed one, starts a fresh round of the schedule.
  const failuresBefore = previous?.status === 'pending' ? (previous.failures ?? previous.attempts) : 0;
  let attemptNumber = (previous?.attempts ?? 0) + 1;
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
  const schedule = deps.settings.delivery.retryScheduleSeconds;
  const failures = ok ? 0 : failuresBefore + 1;

  const decide = (attempt: number): DeliveryDecision => {
    if (ok) return { outcome: 'delivered', attempt, status: status! };
    if (status === 410) return { outcome: 'dead_letter', attempt, reason: 'endpoint_gone', error: errorText! };
    if (failures > schedule.length) return { outcome: 'dead_letter', attempt, reason: 'attempts_exhausted', error: errorText! };
    if (lastAllowedReceive(deps, receive)) return { outcome: 'dead_letter', attempt, reason: 'receive_limit', error: errorText! };
    const retryAfter =
      response.kind === 'response' && (status === 429 || status === 503)
        ? parseRetryAfter(response.headers['retry-after'], startedAt)
        : undefined;
    return {
      outcome: 'retry',
      attempt,
      delaySeconds: retryDelaySeconds(deps.settings.delivery, failures - 1, deps.random, retryAfter),
      error: errorText!,
    };
  };

  // The attempt row is written only if its number is free: two receipts of one message that
  // read the same state both POSTed; the loser records its POST under the next number, so every
  // request sent under this webhook-id has its own audit row.
  let decision = decide(attemptNumber);
  for (let race = 0; ; race++) {
    const written = await deps.attempts.record(attemptRecord(message, subject, attemptNumber, startedAt, response, decision));
    if (written) break;
    if (race + 1 >= MAX_ATTEMPT_NUMBER_RACES) {
      throw new Error(`attempt rows ${attemptNumber - race}..${attemptNumber} of ${event.id} already exist`);
    }
    attemptNumber++;
    decision = decide(attemptNumber);
  }
  await deps.ledger.recordDeliveryOutcome({
    tenantId: message.tenant_id,
    ...target,
    eventId: event.id,
    status: decision.outcome === 'delivered' ? 'delivered' : decision.outcome === 'retry' ? 'pending' : 'failed',
    attempt: attemptNumber,
    failures,
    nextAttemptAt: decision.outcome === 'retry' ? new Date(startedAt.getTime() + decision.delaySeconds * 1000) : null,
    lastStatusCode: status,
    lastError: decision.outcome === 'dead_letter' ? `${decision.reason}: ${errorText}` : errorText,
    at: deps.now(),
  });
  return decision;
}

function attemptRecord(
  message: DeliveryMessage,
  subject: Subject,
  attempt: number,
  startedAt: Date,
  response: WebhookResponse,
  decision: DeliveryDecision,
): DeliveryAttemptRecord {
  const status = response.kind === 'response' ? response.status : null;
  const ok = status !== null && status >= 200 && status < 300;
  return {
    tenant_id: message.tenant_id,
    event_id: subject.event.id,
    event_type: subject.event.type,
    job_id: subject.jobId,
    batch_id: subject.batchId,
    attempt,
    started_at: startedAt.toISOString(),
    duration_ms: response.durationMs,
    url: redactUrl(subject.callbackUrl),
    http_status: status,
    error_class: response.kind === 'error' ? response.errorClass : ok ? null : `http_${status}`,
    response_body: response.kind === 'response' ? response.body : null,
    outcome: decision.outcome === 'delivered' ? 'delivered' : decision.outcome === 'retry' ? 'retrying' : 'dead_lettered',
  };
}
