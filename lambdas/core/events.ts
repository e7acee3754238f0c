// Webhook event payloads. Built from stored records only, so every attempt, retry and
// redelivery of an event sends the same body under the same webhook-id.
import type { JobStatus } from './api-schemas';
import type { MetadataResult } from './metadata-result';
import type { BatchRecord, JobRecord, Provenance } from './records';
import { batchEventId, jobEventId } from './ids';

export type JobEventType = 'job.completed' | 'job.failed';

export interface JobEvent {
  readonly type: JobEventType;
  readonly id: string;
  readonly created_at: string;
  readonly data: {
    readonly job_id: string;
    readonly batch_id: string;
    readonly external_id: string | null;
    readonly url: string;
    readonly media_type: string | null;
    readonly result?: unknown;
    readonly error?: { readonly code: string; readonly message: string };
    readonly model: { readonly provider: string; readonly id: string } | null;
    readonly source: { readonly sha256: string; readonly bytes: number; readonly content_type: string } | null;
    readonly metadata: Record<string, unknown> | null;
    /** job.completed only: model, prompt, what was sent and the cost (issue 14). */
    readonly provenance?: Provenance | null;
  };
}

/** One job's outcome inside batch.completed (requests with `events: ["batch.completed"]`). */
export interface BatchJobResult {
  readonly job_id: string;
  readonly external_id: string | null;
  readonly url: string;
  readonly status: JobStatus;
  readonly media_type: string | null;
  readonly result?: MetadataResult;
  readonly error?: { readonly code: string; readonly message: string };
  readonly source: NonNullable<JobRecord['source']> | null;
  readonly provenance: Provenance | null;
}

export interface BatchCompletedEvent {
  readonly type: 'batch.completed';
  readonly id: string;
  readonly created_at: string;
  readonly data: {
    readonly batch_id: string;
    readonly total: number;
    readonly completed: number;
    readonly failed: number;
    readonly cancelled: number;
    readonly metadata: Record<string, unknown> | null;
    /** Present when batch.completed is the only event chosen: the jobs' results, as many as fit. */
    readonly results?: BatchJobResult[];
    /** The GET that returns the results not inline; null when all are inline. */
    readonly results_next?: { readonly method: 'GET'; readonly path: string } | null;
  };
}

export type WebhookEvent = JobEvent | BatchCompletedEvent;

export class EventNotReadyError extends Error {
  override readonly name = 'EventNotReadyError';
}

/** The terminal event of a finished job. Throws if the job has not finished. */
export function buildJobEvent(job: JobRecord): JobEvent {
  if (job.status !== 'completed' && job.status !== 'failed') {
    throw new EventNotReadyError(`job ${job.job_id} is ${job.status}, not finished`);
  }
  const base = {
    job_id: job.job_id,
    batch_id: job.batch_id,
    external_id: job.external_id,
    url: job.url,
    media_type: job.media_type ?? job.declared_media_type,
    model: job.model ?? null,
    source: job.source ?? null,
    metadata: job.metadata,
  };
  return {
    type: job.status === 'completed' ? 'job.completed' : 'job.failed',
    id: jobEventId(job.job_id, job.status),
    created_at: job.finished_at ?? job.updated_at,
    data:
      job.status === 'completed'
        ? { ...base, result: job.result, provenance: job.provenance ?? null }
        : { ...base, error: { code: job.error?.code ?? 'extraction_failed', message: job.error?.message ?? 'extraction failed' } },
  };
}

export function batchJobResultOf(job: JobRecord): BatchJobResult {
  return {
    job_id: job.job_id,
    external_id: job.external_id,
    url: job.url,
    status: job.status,
    media_type: job.media_type ?? job.declared_media_type,
    ...(job.status === 'completed' && job.result ? { result: job.result } : {}),
    ...(job.error ? { error: { code: job.error.code, message: job.error.message } } : {}),
    source: job.source ?? null,
    provenance: job.provenance ?? null,
  };
}

export function buildBatchCompletedEvent(batch: BatchRecord): BatchCompletedEvent {
  if (!batch.completed_event_at) throw new EventNotReadyError(`batch ${batch.batch_id} has not completed`);
  return {
    type: 'batch.completed',
    id: batchEventId(batch.batch_id),
    created_at: batch.completed_event_at,
    data: { batch_id: batch.batch_id, total: batch.total, ...batch.counts, metadata: batch.metadata },
  };
}

/** Event serialisation is the signed content: one function so attempts cannot differ. */
export const serializeEvent = (event: WebhookEvent): string => JSON.stringify(event);
