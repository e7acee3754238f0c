// Use cases: jobs-api handler -> job queries and commands -> (JobLifecycle, BatchProgressStore, JobListings, DeliveryLedger, DeliveryQueue).
// Everything is keyed by the caller's tenant: another tenant's id simply is not found.
import { ApiError } from './errors';
import { completeBatchIfDone } from './extract-job';
import { jobEventId } from './ids';
import type { BatchProgressStore, DeliveryLedger, DeliveryQueue, JobLifecycle, JobListings } from './ports';
import type { BatchRecord, DeliveryAttemptRecord, JobRecord } from './records';
import { JOB_STATUSES } from './api-schemas';

export interface JobQueryDeps {
  readonly jobs: Pick<JobLifecycle, 'getJob' | 'getJobs' | 'cancel'>;
  readonly batches: BatchProgressStore;
  readonly listings: JobListings;
  readonly ledger: Pick<DeliveryLedger, 'listAttempts'>;
  readonly deliveries: DeliveryQueue;
  readonly now: () => Date;
}

/** What callers see of a job: no tenant id, no internal flags. */
export function jobView(job: JobRecord) {
  return {
    job_id: job.job_id,
    batch_id: job.batch_id,
    status: job.status,
    url: job.url,
    external_id: job.external_id,
    media_type: job.media_type ?? job.declared_media_type,
    callback_url: job.callback_url,
    metadata: job.metadata,
    ...(job.result ? { result: job.result } : {}),
    ...(job.error ? { error: { code: job.error.code, message: job.error.message } } : {}),
    ...(job.model ? { model: job.model } : {}),
    ...(job.source ? { source: job.source } : {}),
    ...(job.usage ? { usage: job.usage } : {}),
    created_at: job.created_at,
    updated_at: job.updated_at,
    finished_at: job.finished_at ?? null,
    delivery: {
      status: job.delivery.status,
      attempts: job.delivery.attempts,
      last_status_code: job.delivery.last_status_code,
      last_error: job.delivery.last_error,
      updated_at: job.delivery.updated_at,
    },
  };
}

export function attemptView(attempt: DeliveryAttemptRecord) {
  const { tenant_id: _tenant, ...rest } = attempt;
  return rest;
}

const notFound = (what: string) => new ApiError('not_found', `No ${what} with this id exists for your API key.`);

export async function getJob(deps: JobQueryDeps, tenantId: string, jobId: string) {
  const job = await deps.jobs.getJob(tenantId, jobId);
  if (!job) throw notFound('job');
  return jobView(job);
}

export async function listJobs(
  deps: JobQueryDeps,
  tenantId: string,
  params: Record<string, string | undefined>,
) {
  const limit = params.limit === undefined ? 50 : Number(params.limit);
  const problems: { path: string; message: string }[] = [];
  if (!Number.isInteger(limit) || limit < 1 || limit > 100) problems.push({ path: 'limit', message: 'limit must be 1 to 100' });
  if (params.status !== undefined && !(JOB_STATUSES as readonly string[]).includes(params.status)) {
    problems.push({ path: 'status', message: `status must be one of ${JOB_STATUSES.join(', ')}` });
  }
  if (params.since !== undefined && Number.isNaN(Date.parse(params.since))) {
    problems.push({ path: 'since', message: 'since must be an ISO 8601 timestamp' });
  }
  if (problems.length > 0) throw new ApiError('invalid_request', 'The query parameters are not valid.', problems);
  const page = await deps.listings.listJobs(tenantId, {
    limit,
    ...(params.batch_id ? { batchId: params.batch_id } : {}),
    ...(params.status ? { status: params.status } : {}),
    ...(params.since ? { since: new Date(params.since).toISOString() } : {}),
    ...(params.cursor ? { cursor: params.cursor } : {}),
  });
  return { jobs: page.jobs.map(jobView), next_cursor: page.cursor };
}

export async function getBatch(deps: JobQueryDeps, tenantId: string, batchId: string) {
  const batch: BatchRecord | undefined = await deps.batches.getBatch(tenantId, batchId);
  if (!batch) throw notFound('batch');
  const jobs = await deps.jobs.getJobs(tenantId, [...batch.job_ids, ...batch.duplicate_job_ids]);
  const counts: Record<string, number> = Object.fromEntries(JOB_STATUSES.map((status) => [status, 0]));
  for (const job of jobs) counts[job.status] = (counts[job.status] ?? 0) + 1;
  return {
    batch_id: batch.batch_id,
    created_at: batch.created_at,
    total: batch.total,
    duplicates: batch.duplicate_job_ids.length,
    completed_at: batch.completed_event_at ?? null,
    counts,
    metadata: batch.metadata,
    jobs: jobs.map(jobView),
  };
}

export async function cancelJob(deps: JobQueryDeps, tenantId: string, jobId: string) {
  const { cancelled, job } = await deps.jobs.cancel(tenantId, jobId, deps.now());
  if (!job) throw notFound('job');
  if (!cancelled) {
    throw new ApiError('job_not_cancellable', `The job is ${job.status}; only queued jobs can be cancelled.`);
  }
  // A cancelled job counts as finished for its batch's batch.completed.
  await completeBatchIfDone(deps, tenantId, job.batch_id, job.job_id, 'cancelled', job.batch_slot);
  return jobView(job);
}

export async function listDeliveries(deps: JobQueryDeps, tenantId: string, jobId: string) {
  const job = await deps.jobs.getJob(tenantId, jobId);
  if (!job) throw notFound('job');
  const attempts = await deps.ledger.listAttempts(tenantId, jobId);
  return { job_id: jobId, delivery: jobView(job).delivery, attempts: attempts.map(attemptView) };
}

export async function redeliverJob(deps: JobQueryDeps, tenantId: string, jobId: string) {
  const job = await deps.jobs.getJob(tenantId, jobId);
  if (!job) throw notFound('job');
  if (job.status !== 'completed' && job.status !== 'failed') {
    throw new ApiError('job_not_terminal', `The job is ${job.status}; only finished jobs can be redelivered.`);
  }
  const eventId = jobEventId(job.job_id, job.status);
  await deps.deliveries.enqueueDeliveries([
    { kind: 'job', tenant_id: tenantId, job_id: job.job_id, event_id: eventId, redelivery: true },
  ]);
  return { job_id: job.job_id, event_id: eventId, status: 'queued' as const };
}
