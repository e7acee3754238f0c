// Use case: extractor handler -> extractJob -> (JobLifecycle, BatchProgressStore, MediaSource, MetadataProvider, DeliveryQueue).
// Moves one job from queued to a terminal state and queues its webhook. Safe to run twice
// for the same message: a finished job only has its delivery (same webhook-id) queued again.
import { createHash } from 'node:crypto';
import type { Settings } from '../../lib/settings';
import { PermanentJobError, TransientJobError, type JobFailureCode } from './errors';
import { batchEventId, jobEventId } from './ids';
import type { SniffResult } from './media-type';
import type {
  BatchProgressStore,
  DeliveryQueue,
  JobLifecycle,
  JobMessage,
  JobOutcomeUpdate,
  MediaSource,
  MetadataProvider,
  TenantDirectory,
} from './ports';
import type { JobRecord } from './records';

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
}

export type ExtractJobOutcome =
  | { readonly outcome: 'completed'; readonly jobId: string }
  /** exhausted: transient failures ran out of retries; the message belongs in the dead-letter queue. */
  | { readonly outcome: 'failed'; readonly jobId: string; readonly exhausted: boolean; readonly code: string }
  | { readonly outcome: 'redelivered'; readonly jobId: string }
  | { readonly outcome: 'skipped'; readonly jobId: string; readonly reason: string }
  /** A disabled tenant's job is not processed; it waits in the dead-letter queue for a redrive. */
  | { readonly outcome: 'held'; readonly jobId: string; readonly reason: 'tenant_disabled' };

/** Thrown when the job is being processed elsewhere under a live lease: retry later. */
export class JobBusyError extends TransientJobError {}

export async function extractJob(
  deps: ExtractJobDeps,
  message: JobMessage,
  attempt: { readonly receiveCount: number },
): Promise<ExtractJobOutcome> {
  const tenant = await deps.tenants.getTenant(message.tenant_id);
  if (!tenant || tenant.status !== 'active') return { outcome: 'held', jobId: message.job_id, reason: 'tenant_disabled' };
  const now = deps.now();
  const leaseUntil = new Date(now.getTime() + deps.settings.extraction.functionTimeoutSeconds * 1000);
  const claim = await deps.jobs.startProcessing(message.tenant_id, message.job_id, now, leaseUntil);
  if (!claim.started) {
    const job = claim.job;
    if (!job) return { outcome: 'skipped', jobId: message.job_id, reason: 'job not found' };
    if (job.status === 'cancelled') return { outcome: 'skipped', jobId: job.job_id, reason: 'job cancelled' };
    if (job.status === 'completed' || job.status === 'failed') {
      // A retry after a crash between storing the result and queuing its webhook.
      await announce(deps, job, job.status);
      return { outcome: 'redelivered', jobId: job.job_id };
    }
    // Wait until the lease ends, not a schedule step: a shorter wait only burns receives.
    const leaseEnds = claim.leaseUntil ? Date.parse(claim.leaseUntil) : now.getTime();
    const retryAfterSeconds = Math.max(1, Math.ceil((leaseEnds - now.getTime()) / 1000) + 1);
    throw new JobBusyError('extraction_failed', `job ${job.job_id} is being processed by another worker`, { retryAfterSeconds });
  }

  const job = claim.job;
  let outcome: JobOutcomeUpdate;
  try {
    outcome = await extract(deps, job);
  } catch (error) {
    const lastAttempt = attempt.receiveCount >= deps.settings.extraction.maxReceiveCount;
    if (error instanceof PermanentJobError) {
      outcome = { status: 'failed', error: { code: error.code, message: error.message } };
    } else if (lastAttempt) {
      const code: JobFailureCode = error instanceof TransientJobError ? error.code : 'extraction_failed';
      const reason = error instanceof Error ? error.message : String(error);
      outcome = {
        status: 'failed',
        error: { code, message: `gave up after ${attempt.receiveCount} attempts: ${reason}`, retryable: true },
      };
    } else {
      // Without this the retry would find the job still leased and wait out the lease.
      await deps.jobs.releaseLease(job, deps.now()).catch(() => undefined);
      throw error;
    }
  }

  const finishedAt = deps.now();
  if (!(await deps.jobs.finish(job, outcome, finishedAt))) {
    return { outcome: 'skipped', jobId: job.job_id, reason: 'job changed state while processing' };
  }
  await announce(deps, job, outcome.status);
  if (outcome.status === 'completed') return { outcome: 'completed', jobId: job.job_id };
  return { outcome: 'failed', jobId: job.job_id, exhausted: outcome.error.retryable === true, code: outcome.error.code };
}

async function extract(deps: ExtractJobDeps, job: JobRecord): Promise<JobOutcomeUpdate> {
  const limits = deps.settings.extraction;
  const maxBytes =
    job.declared_media_type === 'image'
      ? limits.maxImageBytes
      : job.declared_media_type === 'audio'
        ? limits.maxAudioBytes
        : Math.max(limits.maxImageBytes, limits.maxAudioBytes);
  const fetched = await deps.media.fetch(job.url, { maxBytes });
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
  });
  return {
    status: 'completed',
    mediaType: sniffed.kind,
    result: extracted.result,
    model: extracted.model,
    source: { ...source, content_type: sniffed.mime },
    ...(extracted.usage ? { usage: extracted.usage } : {}),
  };
}

/** Queues the job's webhook and, when this job was its batch's last, the batch's. */
async function announce(deps: ExtractJobDeps, job: JobRecord, status: 'completed' | 'failed'): Promise<void> {
  await deps.deliveries.enqueueDeliveries([
    { kind: 'job', tenant_id: job.tenant_id, job_id: job.job_id, event_id: jobEventId(job.job_id, status) },
  ]);
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
