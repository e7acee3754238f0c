// Use case: intake handler -> submitJobs -> (DedupeClaims, EnqueueOutbox, JobLifecycle, JobQueue, IdempotencyStore).
// Validates a batch submission, applies Idempotency-Key and per-file de-duplication,
// records the new jobs and queues one message per new file.
import { createHash } from 'node:crypto';
import type { Settings } from '../../lib/settings';
import type { OutboundPolicy, SourcePolicy } from '../runtime-config';
import {
  submitJobsRequestSchema,
  type SubmitJobsRequest,
  type SubmitJobsResponse,
  type SubmittedJob,
} from './api-schemas';
import { ApiError, type ErrorDetail } from './errors';
import { checkMediaScope, type MediaScope, type MediaSourceGrant } from './media-scope';
import { inferKindFromUrl } from './media-type';
import type { DedupeClaims, DedupeReservation, EnqueueOutbox, IdempotencyStore, JobLifecycle, JobQueue, SecretSealer } from './ports';
import { checkCallbackHeaders, sealCallbackHeaders } from './callback-headers';
import { canonicalOptions, checkExtractionOptions, type StoredExtractionOptions } from './extraction-options';
import { INITIAL_DELIVERY_SUMMARY, type BatchRecord, type JobRecord } from './records';
import { checkCallbackUrl, checkFileUrl } from './url-policy';

export interface SubmitJobsDeps {
  readonly claims: DedupeClaims;
  readonly outbox: Pick<EnqueueOutbox, 'openEnqueueOutbox' | 'closeEnqueueOutbox'>;
  readonly jobs: Pick<JobLifecycle, 'createBatch' | 'getJobs'>;
  readonly queue: JobQueue;
  readonly idempotency: IdempotencyStore;
  readonly outbound: OutboundPolicy;
  readonly sources: SourcePolicy;
  readonly settings: Settings;
  readonly now: () => Date;
  readonly newJobId: () => string;
  readonly newBatchId: () => string;
  /** Seals callback_headers (core/callback-headers); a request with headers fails without one. */
  readonly sealer?: SecretSealer;
}

export interface SubmitJobsCommand {
  readonly tenantId: string;
  /** The parsed JSON body, not yet validated. */
  readonly body: unknown;
  readonly idempotencyKey?: string;
  /** The tenant's allowed source buckets/prefixes besides its own upload prefix (issue 16). @default none */
  readonly mediaSources?: readonly MediaSourceGrant[];
}

const IDEMPOTENCY_KEY_PATTERN = /^[\x21-\x7e]{1,255}$/;

/** JSON path like files[3].url, as callers see it in error details. */
export function formatPath(path: readonly PropertyKey[]): string {
  return path.reduce<string>((acc, part) => {
    if (typeof part === 'number') return `${acc}[${part}]`;
    return acc === '' ? String(part) : `${acc}.${String(part)}`;
  }, '');
}

/** Schema and size checks; throws ApiError invalid_request with one detail per problem. */
export function parseSubmission(body: unknown, settings: Settings): SubmitJobsRequest {
  const parsed = submitJobsRequestSchema.safeParse(body);
  if (!parsed.success) {
    const details: ErrorDetail[] = parsed.error.issues.slice(0, 20).map((issue) => ({
      path: formatPath(issue.path),
      message: issue.message,
    }));
    throw new ApiError('invalid_request', 'The request body does not match the API contract.', details);
  }
  const request = parsed.data;
  if (request.metadata !== undefined) {
    const size = Buffer.byteLength(JSON.stringify(request.metadata));
    if (size > settings.api.maxMetadataBytes) {
      throw new ApiError('invalid_request', 'metadata is too large.', [
        { path: 'metadata', message: `metadata may be at most ${settings.api.maxMetadataBytes} bytes of JSON, got ${size}` },
      ]);
    }
  }
  return request;
}

/**
 * URL, tenant-scope and media-type rules that need no network: refused requests never create jobs.
 * No S3 call either, so an out-of-scope key is refused the same way whether or not it exists.
 */
export function checkSubmissionUrls(
  request: SubmitJobsRequest,
  deps: Pick<SubmitJobsDeps, 'outbound' | 'sources'>,
  scope: MediaScope,
): void {
  const callback = checkCallbackUrl(request.callback_url, deps.outbound);
  if (!callback.ok) {
    throw new ApiError('callback_url_forbidden', `callback_url is not allowed: ${callback.reason}`, [
      { path: 'callback_url', message: callback.reason },
    ]);
  }
  const forbidden: ErrorDetail[] = [];
  const unsupported: ErrorDetail[] = [];
  request.files.forEach((file, index) => {
    const check = checkFileUrl(file.url, deps.outbound, deps.sources);
    if (!check.ok) {
      forbidden.push({ path: `files[${index}].url`, message: check.reason });
      return;
    }
    if (check.kind === 's3') {
      const inScope = checkMediaScope({ bucket: check.bucket!, key: check.key! }, scope, deps.sources);
      if (!inScope.ok) {
        forbidden.push({ path: `files[${index}].url`, message: inScope.reason });
        return;
      }
    }
    if (inferKindFromUrl(file.url) === 'unsupported') {
      unsupported.push({
        path: `files[${index}].url`,
        message: 'the file extension names a type Metahook cannot process (images: jpeg, png, gif, webp; audio: mp3, wav, flac, ogg, opus, m4a, aac, webm)',
      });
    }
  });
  if (forbidden.length > 0) {
    throw new ApiError('file_url_forbidden', 'One or more file URLs are not allowed.', forbidden);
  }
  if (unsupported.length > 0) {
    throw new ApiError('unsupported_media_type', 'One or more files have an unsupported media type.', unsupported);
  }
}

const sha256 = (text: string): string => createHash('sha256').update(text).digest('hex');

/** Stable JSON (sorted keys) so the same body in any key order hashes the same. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/**
 * The de-duplication identity of a file: same tenant, same file URL, same callback URL, same
 * extraction options (`options`, canonical; requests without options keep their old keys).
 */
export function dedupeKey(tenantId: string, fileUrl: string, callbackUrl: string, options: StoredExtractionOptions | null = null): string {
  const normalise = (raw: string) => {
    try {
      return new URL(raw).href;
    } catch {
      return raw;
    }
  };
  const identity = `${tenantId}\n${normalise(fileUrl)}\n${normalise(callbackUrl)}`;
  const chosen = canonicalOptions(options);
  return sha256(chosen === '' ? identity : `${identity}\n${chosen}`);
}

interface PlannedFile {
  readonly index: number;
  readonly key: string;
}

/** What a request asks of its jobs besides the files (issue 14), checked and canonical. */
interface JobControls {
  readonly options: StoredExtractionOptions | null;
  /** null = every event type. */
  readonly events: SubmitJobsRequest['events'] | null;
  readonly callbackHeaders: Record<string, string> | null;
}

export async function submitJobs(deps: SubmitJobsDeps, command: SubmitJobsCommand): Promise<SubmitJobsResponse> {
  const request = parseSubmission(command.body, deps.settings);
  const { idempotencyKey, tenantId } = command;
  checkSubmissionUrls(request, deps, { tenantId, grants: command.mediaSources ?? [] });
  const controls: JobControls = {
    options: checkExtractionOptions(request.options),
    events: request.events ? [...new Set(request.events)] : null,
    callbackHeaders: checkCallbackHeaders(request.callback_headers),
  };
  if (idempotencyKey !== undefined && !IDEMPOTENCY_KEY_PATTERN.test(idempotencyKey)) {
    throw new ApiError('invalid_request', 'Idempotency-Key must be 1 to 255 printable ASCII characters.', [
      { path: 'headers.Idempotency-Key', message: 'invalid format' },
    ]);
  }

  const startedAt = deps.now();
  if (idempotencyKey !== undefined) {
    const begun = await deps.idempotency.begin(tenantId, idempotencyKey, sha256(canonicalJson(request)), startedAt);
    if (begun.state === 'replay') return begun.response;
    if (begun.state === 'mismatch') {
      throw new ApiError(
        'idempotency_key_reused',
        'This Idempotency-Key was already used with a different request body.',
      );
    }
    if (begun.state === 'in_progress') {
      throw new ApiError(
        'idempotency_key_in_progress',
        'A request with this Idempotency-Key is still being processed; retry shortly.',
      );
    }
  }

  try {
    const response = await createJobs(deps, tenantId, request, controls, startedAt);
    if (idempotencyKey !== undefined) await deps.idempotency.complete(tenantId, idempotencyKey, response, deps.now());
    return response;
  } catch (error) {
    if (idempotencyKey !== undefined) await deps.idempotency.release(tenantId, idempotencyKey).catch(() => undefined);
    throw error;
  }
}

async function createJobs(
  deps: SubmitJobsDeps,
  tenantId: string,
  request: SubmitJobsRequest,
  controls: JobControls,
  now: Date,
): Promise<SubmitJobsResponse> {
  const expiresAt = new Date(now.getTime() + deps.settings.idempotency.dedupeWindowSeconds * 1000);

  // The same file twice in one request is one job.
  const planned: PlannedFile[] = request.files.map((file, index) => ({
    index,
    key: dedupeKey(tenantId, file.url, request.callback_url, controls.options),
  }));
  const uniqueKeys = [...new Set(planned.map((file) => file.key))];
  const reservations = uniqueKeys.map<DedupeReservation>((key) => ({
    tenantId,
    dedupeKey: key,
    jobId: deps.newJobId(),
    now,
    expiresAt,
  }));
  const results = await deps.claims.reserve(reservations);

  const jobIdByKey = new Map<string, string>();
  const duplicateByKey = new Map<string, boolean>();
  const ownReservations: DedupeReservation[] = [];
  const existing: { reservation: DedupeReservation; jobId: string; reservedAt: string }[] = [];
  results.forEach((result, i) => {
    const reservation = reservations[i]!;
    if (result.reserved) {
      ownReservations.push(reservation);
      jobIdByKey.set(reservation.dedupeKey, reservation.jobId);
      duplicateByKey.set(reservation.dedupeKey, false);
    } else {
      existing.push({ reservation, jobId: result.jobId, reservedAt: result.reservedAt });
      jobIdByKey.set(reservation.dedupeKey, result.jobId);
      duplicateByKey.set(reservation.dedupeKey, true);
    }
  });

  const statusById = new Map<string, SubmittedJob['status']>();
  try {
    if (existing.length > 0) {
      const found = await deps.jobs.getJobs(tenantId, existing.map((e) => e.jobId));
      for (const job of found) statusById.set(job.job_id, job.status);
      // A claim whose job never appeared belongs to a request that died midway (take it over once
      // that request cannot still be running) or to one still running: never answer it as a duplicate.
      const staleBefore = now.getTime() - deps.settings.idempotency.staleReservationSeconds * 1000;
      const inProgress: ErrorDetail[] = [];
      for (const claim of existing) {
        if (statusById.has(claim.jobId)) continue;
        const tookOver =
          Date.parse(claim.reservedAt) <= staleBefore && (await deps.claims.takeOverReservation(claim.reservation, claim.jobId));
        if (tookOver) {
          ownReservations.push(claim.reservation);
          jobIdByKey.set(claim.reservation.dedupeKey, claim.reservation.jobId);
          duplicateByKey.set(claim.reservation.dedupeKey, false);
        } else {
          const index = planned.find((file) => file.key === claim.reservation.dedupeKey)!.index;
          inProgress.push({ path: `files[${index}].url`, message: 'another request for this file is still being processed' });
        }
      }
      if (inProgress.length > 0) {
        throw new ApiError(
          'request_in_progress',
          `Another request for the same files is still being processed; retry in ${deps.settings.idempotency.staleReservationSeconds} seconds.`,
          inProgress,
          { retryAfterSeconds: deps.settings.idempotency.staleReservationSeconds },
        );
      }
    }
  } catch (error) {
    await deps.claims.releaseReservations(ownReservations).catch(() => undefined);
    throw error;
  }

  const batchId = deps.newBatchId();
  const createdAt = now.toISOString();
  let sealedHeaders: string | null = null;
  if (controls.callbackHeaders) {
    try {
      if (!deps.sealer) throw new Error('the intake has no SecretSealer configured (METAHOOK_SECRETS_KEY_ID)');
      sealedHeaders = await sealCallbackHeaders(deps.sealer, tenantId, batchId, controls.callbackHeaders);
    } catch (error) {
      await deps.claims.releaseReservations(ownReservations).catch(() => undefined);
      throw error;
    }
  }
  const jobControls = {
    ...(controls.options ? { options: controls.options } : {}),
    ...(controls.events ? { events: controls.events } : {}),
    ...(sealedHeaders ? { callback_headers_sealed: sealedHeaders } : {}),
  };
  const ownKeys = new Set(ownReservations.map((r) => r.dedupeKey));
  const newJobs: JobRecord[] = [];
  for (const file of planned) {
    if (!ownKeys.has(file.key)) continue;
    ownKeys.delete(file.key); // first occurrence in the request defines the job
    const source = request.files[file.index]!;
    newJobs.push({
      job_id: jobIdByKey.get(file.key)!,
      tenant_id: tenantId,
      batch_id: batchId,
      url: source.url,
      external_id: source.external_id ?? null,
      declared_media_type: source.media_type ?? null,
      callback_url: request.callback_url,
      metadata: request.metadata ?? null,
      ...jobControls,
      status: 'queued',
      created_at: createdAt,
      updated_at: createdAt,
      delivery: INITIAL_DELIVERY_SUMMARY,
    });
  }
  const newJobIds = new Set(newJobs.map((job) => job.job_id));
  const duplicateIds = [...new Set([...jobIdByKey.values()].filter((id) => !newJobIds.has(id)))];
  const batch: BatchRecord = {
    batch_id: batchId,
    tenant_id: tenantId,
    callback_url: request.callback_url,
    metadata: request.metadata ?? null,
    job_ids: newJobs.map((job) => job.job_id),
    duplicate_job_ids: duplicateIds,
    total: newJobs.length,
    counts: { completed: 0, failed: 0, cancelled: 0 },
    created_at: createdAt,
    ...(controls.events ? { events: controls.events } : {}),
    ...(sealedHeaders ? { callback_headers_sealed: sealedHeaders } : {}),
  };

  await persistAndEnqueue(deps, batch, newJobs, ownReservations);

  const answered = new Set<string>();
  return {
    batch_id: batchId,
    jobs: planned.map((file) => {
      const source = request.files[file.index]!;
      const jobId = jobIdByKey.get(file.key)!;
      // A file repeated inside one request is a duplicate of its first occurrence.
      const duplicate = duplicateByKey.get(file.key) === true || answered.has(file.key);
      answered.add(file.key);
      return {
        job_id: jobId,
        url: source.url,
        external_id: source.external_id ?? null,
        status: duplicate ? (statusById.get(jobId) ?? 'queued') : 'queued',
        duplicate,
      };
    }),
  };
}

/**
 * Writes the jobs and queues their messages so that any single failure converges (issue 17):
 * 1. the outbox entry (the promise to enqueue) first: if it fails nothing else exists, and the
 *    claims are released so a retry starts clean;
 * 2. batch + jobs: if this fails the claims whose jobs did get written stay (their jobs are real
 *    and the sweeper queues them from the outbox); the others are released when we can tell;
 * 3. the messages: if SQS fails (or committed but reported failure), the jobs exist and the
 *    sweeper queues them again after the intake's lifetime; a second message for a job is
 *    harmless (the extractor's lease and terminal states make it a no-op);
 * 4. the outbox entry is deleted; if that fails the sweeper sends duplicate, harmless messages.
 */
async function persistAndEnqueue(
  deps: SubmitJobsDeps,
  batch: BatchRecord,
  jobs: readonly JobRecord[],
  claims: readonly DedupeReservation[],
): Promise<void> {
  const outbox = { tenantId: batch.tenant_id, batchId: batch.batch_id, jobIds: batch.job_ids, createdAt: batch.created_at };
  if (jobs.length > 0) {
    try {
      await deps.outbox.openEnqueueOutbox(outbox);
    } catch (error) {
      await deps.claims.releaseReservations(claims).catch(() => undefined);
      throw error;
    }
  }
  try {
    await deps.jobs.createBatch(batch, jobs);
  } catch (error) {
    // Release only the claims whose job is known not to exist; an unknown stays and goes stale.
    await deps.jobs
      .getJobs(batch.tenant_id, batch.job_ids)
      .then((written) => {
        const writtenIds = new Set(written.map((job) => job.job_id));
        return deps.claims.releaseReservations(claims.filter((claim) => !writtenIds.has(claim.jobId)));
      })
      .catch(() => undefined);
    throw error;
  }
  if (jobs.length === 0) return;
  await deps.queue.enqueueJobs(jobs.map((job) => ({ tenant_id: job.tenant_id, job_id: job.job_id })));
  await deps.outbox.closeEnqueueOutbox(outbox).catch(() => undefined);
}
