// Use case: extractor handler -> extractJob -> (JobLifecycle, BatchProgressStore, MediaSource, MetadataProvider, DeliveryQueue).
// Moves one job from queued to a terminal state and queues its webhook. Safe to run twice
// for the same message: a finished job only has its delivery (same webhook-id) queued again.
// Retries are decided from the attempt counter stored on the job (incremented when processing
// starts), not from SQS receive counts. The lease belongs to the SQS message that took it, so a
// later receive of that same message (after a timeout, a lost response, a crash) takes it straight
// back; only a different message (a duplicate, a sweeper requeue) waits for the lease to end.
import { createHash } from 'node:crypto';
import type { Settings } from '../../lib/settings';
import { audioLimitFor, type AudioDurationLimit } from './audio-limit';
import { PermanentJobError, TransientJobError, type JobFailureCode } from './errors';
import { batchEventId, jobEventId } from './ids';
import { attemptDecision, attemptsUsedUp } from './job-state';
import type { MediaScope } from './media-scope';
import type { SniffResult } from './media-type';
import type {
  BatchProgressStore,
  DeliveryQueue,
  ExtractionOutput,
  JobLifecycle,
  JobMessage,
  JobOutcomeUpdate,
  MediaSource,
  MetadataProvider,
  TenantDirectory,
} from './ports';
import type { JobRecord, Provenance } from './records';
import { wantsEvent } from './batch-results';
import { applyExtractionOptions, DEFAULT_LANGUAGE } from './extraction-options';
import { costUsd, DEFAULT_PRICE_TABLE, type PriceTable } from './model-prices';

export interface ExtractJobDeps {
  readonly jobs: Pick<JobLifecycle, 'startProcessing' | 'releaseLease' | 'finish'>;
  readonly batches: Pick<BatchProgressStore, 'recordBatchProgress' | 'claimBatchCompletion'>;
  readonly tenants: Pick<TenantDirectory, 'getTenant'>;
  readonly media: MediaSource;
  readonly sniff: (bytes: Uint8Array) => Promise<SniffResult>;
  readonly provider: MetadataProvider;
  readonly deliveries: DeliveryQueue;
  readonly settings: Settings;
  readonly now: () => Date;
  /** The deployed price table for each job's cost. @default DEFAULT_PRICE_TABLE */
  readonly prices?: PriceTable;
}

export type ExtractJobOutcome =
  | { readonly outcome: 'completed'; readonly jobId: string }
  /** deadLetter: the reason the message belongs in the dead-letter queue (retries ran out, so a redrive may help). */
  | { readonly outcome: 'failed'; readonly jobId: string; readonly code: string; readonly deadLetter?: DeadLetterReason }
  | { readonly outcome: 'redelivered'; readonly jobId: string; readonly deadLetter?: DeadLetterReason }
  | { readonly outcome: 'skipped'; readonly jobId: string; readonly reason: string }
  /** Try this message again after delaySeconds (a retry step, or until another message's lease ends). */
  | { readonly outcome: 'retry'; readonly jobId: string; readonly delaySeconds: number; readonly reason: string; readonly attempt?: number }
  /** A disabled tenant's job is not processed; it waits in the held-jobs queue until the tenant is enabled. */
  | { readonly outcome: 'held'; readonly jobId: string; readonly reason: 'tenant_disabled' };

export type DeadLetterReason = 'attempts_exhausted' | 'receive_limit';

/** The SQS receive being handled: its message id owns the lease; its count only guards SQS's own limit. */
export interface JobReceipt {
  readonly messageId: string;
  readonly receiveCount: number;
  /** SentTimestamp: a failed job is restarted only by a message sent after it failed (a redrive). */
  readonly sentAt?: Date;
}

export async function extractJob(deps: ExtractJobDeps, message: JobMessage, receipt: JobReceipt): Promise<ExtractJobOutcome> {
  const tenant = await deps.tenants.getTenant(message.tenant_id);
  if (!tenant || tenant.status !== 'active') return { outcome: 'held', jobId: message.job_id, reason: 'tenant_disabled' };
  const limits = deps.settings.extraction;
  // The last receive SQS allows: whatever happens now, this message must not go on to the DLQ without a reason.
  const lastReceive = receipt.receiveCount >= limits.maxReceiveCount;
  const now = deps.now();
  const lease = {
    until: new Date(now.getTime() + limits.leaseSeconds * 1000),
    owner: receipt.messageId,
    ...(receipt.sentAt ? { messageSentAt: receipt.sentAt } : {}),
  };
  const claim = await deps.jobs.startProcessing(message.tenant_id, message.job_id, now, lease);
  if (!claim.started) {
    const job = claim.job;
    if (!job) return { outcome: 'skipped', jobId: message.job_id, reason: 'job not found' };
    if (job.status === 'cancelled') return { outcome: 'skipped', jobId: job.job_id, reason: 'job cancelled' };
    if (job.status === 'completed' || job.status === 'failed') {
      // A retry after a crash between storing the result and queuing its webhook (or the dead letter).
      await announce(deps, job, job.status);
      const deadLetter = job.status === 'failed' ? deadLetterReasonOf(job.error) : undefined;
      return { outcome: 'redelivered', jobId: job.job_id, ...(deadLetter ? { deadLetter } : {}) };
    }
    // Another message holds a live lease on the job, and that message carries it to its end.
    if (lastReceive) return { outcome: 'skipped', jobId: job.job_id, reason: 'another message holds the job' };
    return { outcome: 'retry', jobId: job.job_id, delaySeconds: leaseWaitSeconds(claim.leaseUntil, now), reason: 'job leased by another message' };
  }

  const job = claim.job;
  const attempt = claim.attempt;
  let outcome: JobOutcomeUpdate;
  let deadLetter: DeadLetterReason | undefined;
  if (attemptsUsedUp(attempt, limits)) {
    // Its attempts were used up but it never reached a terminal state (e.g. dead-lettered by count, then requeued).
    outcome = exhausted('extraction_failed', attempt - 1, 'no attempt left');
    deadLetter = 'attempts_exhausted';
  } else {
    try {
      // The tenant as read now (cached briefly): its grants and its own audio limit, if any.
      const audioLimit = audioLimitFor(tenant, limits.maxAudioDurationSeconds);
      outcome = await extract(deps, job, { tenantId: job.tenant_id, grants: tenant.media_sources ?? [] }, audioLimit);
    } catch (error) {
      if (error instanceof PermanentJobError) {
        outcome = { status: 'failed', error: { code: error.code, message: error.message } };
      } else {
        const code: JobFailureCode = error instanceof TransientJobError ? error.code : 'extraction_failed';
        const reason = error instanceof Error ? error.message : String(error);
        const decision = attemptDecision(attempt, receipt.receiveCount, limits);
        if (decision === 'attempts_exhausted') {
          outcome = exhausted(code, attempt, reason);
          deadLetter = 'attempts_exhausted';
        } else if (decision === 'receive_limit') {
          outcome = {
            status: 'failed',
            error: { code, message: `SQS receive limit (${limits.maxReceiveCount}) reached after ${attempt} attempts: ${reason}`, retryable: true },
          };
          deadLetter = 'receive_limit';
        } else {
          const delaySeconds = retryDelaySeconds(deps.settings, attempt, error);
          // The job waits for this message's next receive; the sweeper watches the deadline in case it never comes.
          await deps.jobs.releaseLease(job, deps.now(), new Date(deps.now().getTime() + delaySeconds * 1000)).catch(() => undefined);
          return { outcome: 'retry', jobId: job.job_id, delaySeconds, reason, attempt };
        }
      }
    }
  }

  const finishedAt = deps.now();
  if (!(await deps.jobs.finish(job, outcome, finishedAt))) {
    return { outcome: 'skipped', jobId: job.job_id, reason: 'job changed state while processing' };
  }
  await announce(deps, job, outcome.status);
  if (outcome.status === 'completed') return { outcome: 'completed', jobId: job.job_id };
  return { outcome: 'failed', jobId: job.job_id, code: outcome.error.code, ...(deadLetter ? { deadLetter } : {}) };
}

function exhausted(code: JobFailureCode, attempts: number, reason: string): JobOutcomeUpdate {
  return { status: 'failed', error: { code, message: `gave up after ${attempts} attempts: ${reason}`, retryable: true } };
}

/** A job that failed only because its retries ran out belongs in the DLQ, where a redrive can start it again. */
const deadLetterReasonOf = (error: JobRecord['error']): DeadLetterReason | undefined =>
  error?.retryable === true ? 'attempts_exhausted' : undefined;

/** The schedule step after `attempt` failed, or longer when the provider asked for it (Retry-After). */
export function retryDelaySeconds(settings: Settings, attempt: number, error: unknown): number {
  const schedule = settings.extraction.retryScheduleSeconds;
  const step = schedule[Math.min(attempt - 1, schedule.length - 1)] ?? 0;
  return error instanceof TransientJobError && error.retryAfterSeconds !== undefined ? Math.max(step, error.retryAfterSeconds) : step;
}

/** Wait until the other message's lease ends, not a schedule step: a shorter wait only burns receives. */
function leaseWaitSeconds(leaseUntil: string | undefined, now: Date): number {
  const leaseEnds = leaseUntil ? Date.parse(leaseUntil) : now.getTime();
  return Math.max(1, Math.ceil((leaseEnds - now.getTime()) / 1000) + 1);
}

async function extract(deps: ExtractJobDeps, job: JobRecord, scope: MediaScope, audioLimit: AudioDurationLimit): Promise<JobOutcomeUpdate> {
  const limits = deps.settings.extraction;
  const maxBytes =
    job.declared_media_type === 'image'
      ? limits.maxImageBytes
      : job.declared_media_type === 'audio'
        ? limits.maxAudioBytes
        : Math.max(limits.maxImageBytes, limits.maxAudioBytes);
  // The tenant's scope as it is now: a reference accepted earlier, or forged, is checked again.
  const fetched = await deps.media.fetch(job.url, { maxBytes, scope });
  const bytes = fetched.bytes;
  const source = {
    sha256: createHash('sha256').update(bytes).digest('hex'),
    bytes: bytes.byteLength,
    content_type: fetched.contentType ?? 'application/octet-stream',
  };

  const sniffed = await deps.sniff(bytes);
  if (sniffed.kind === 'unsupported') {
    throw new PermanentJobError(
      'unsupported_media_type',
      `the file's bytes are ${sniffed.mime ?? 'of an unknown type'}, not a supported image or audio format`,
    );
  }
  const kindLimit = sniffed.kind === 'image' ? limits.maxImageBytes : limits.maxAudioBytes;
  if (bytes.byteLength > kindLimit) {
    throw new PermanentJobError('file_too_large', `${sniffed.kind} files may be at most ${kindLimit} bytes`);
  }

  const extracted = await deps.provider.extract({
    kind: sniffed.kind,
    format: sniffed.format,
    mime: sniffed.mime,
    bytes,
    ...(fetched.s3Location ? { s3Location: fetched.s3Location } : {}),
    ...(job.options ? { options: job.options } : {}),
    ...(sniffed.kind === 'audio' ? { audioLimit } : {}),
  });
  const language = extracted.language ?? DEFAULT_LANGUAGE;
  return {
    status: 'completed',
    mediaType: sniffed.kind,
    result: applyExtractionOptions(extracted.result, sniffed.kind, job.options, language),
    model: extracted.model,
    source: { ...source, content_type: sniffed.mime },
    ...(extracted.usage ? { usage: extracted.usage } : {}),
    provenance: provenanceOf(extracted, deps.prices ?? DEFAULT_PRICE_TABLE),
  };
}

/**
 * Audio seconds or image pixels the model was sent. A provider without a model (the local
 * analyzer) reports none: what it read is the file itself, as its properties tell.
 */
function mediaSent(extracted: ExtractionOutput): { audio_seconds?: number; image_pixels?: number } {
  const usage = extracted.usage;
  if (usage?.audio_seconds !== undefined) return { audio_seconds: usage.audio_seconds };
  if (usage?.image_pixels !== undefined) return { image_pixels: usage.image_pixels };
  const facts = extracted.result.properties ?? {};
  if (typeof facts.width === 'number' && typeof facts.height === 'number') return { image_pixels: facts.width * facts.height };
  if (typeof facts.duration_seconds === 'number') return { audio_seconds: facts.duration_seconds };
  return {};
}

/** Model, prompt, what was sent and what it cost: computed once, so every delivery sends the same. */
export function provenanceOf(extracted: ExtractionOutput, prices: PriceTable): Provenance {
  const tokens = { input_tokens: extracted.usage?.input_tokens ?? 0, output_tokens: extracted.usage?.output_tokens ?? 0 };
  return {
    provider: extracted.model.provider,
    model_id: extracted.model.id,
    prompt_version: extracted.promptVersion ?? 'unknown',
    ...tokens,
    ...mediaSent(extracted),
    cost_usd: costUsd(prices, extracted.model.id, tokens) ?? null,
    price_table: prices.version,
  };
}

/** Queues the job's webhook and, when this job was its batch's last, the batch's. */
async function announce(deps: ExtractJobDeps, job: JobRecord, status: 'completed' | 'failed'): Promise<void> {
  // A job event the request did not choose (`events`) is not queued; the callback refuses it too.
  if (wantsEvent(job.events, `job.${status}`)) {
    await deps.deliveries.enqueueDeliveries([
      { kind: 'job', tenant_id: job.tenant_id, job_id: job.job_id, event_id: jobEventId(job.job_id, status) },
    ]);
  }
  await completeBatchIfDone(deps, job.tenant_id, job.batch_id, job.job_id, status, job.batch_slot);
}

export async function completeBatchIfDone(
  deps: Pick<ExtractJobDeps, 'batches' | 'deliveries' | 'now'>,
  tenantId: string,
  batchId: string,
  jobId: string,
  status: 'completed' | 'failed' | 'cancelled',
  slot?: number,
): Promise<void> {
  const progress = await deps.batches.recordBatchProgress(tenantId, batchId, jobId, status, slot);
  const finished = progress.completed + progress.failed + progress.cancelled;
  if (progress.total === 0 || finished < progress.total) return;
  // One job wins the claim however many extractors finish at once; its own retries win again.
  if (await deps.batches.claimBatchCompletion(tenantId, batchId, jobId, deps.now())) {
    await deps.deliveries.enqueueDeliveries([
      { kind: 'batch', tenant_id: tenantId, batch_id: batchId, event_id: batchEventId(batchId) },
    ]);
  }
}
