// Ports: what the use cases need from the outside world. Adapters in ../adapters
// implement them; tests pass fakes. Ports never import adapters.
import type { ExtractionOptions, MediaKind } from './api-schemas';
import type { AudioDurationLimit } from './audio-limit';
import type { MediaScope, MediaSourceGrant } from './media-scope';
import type { MetadataResult } from './metadata-result';
import type { JobRecord, BatchRecord, DeliveryAttemptRecord, TenantRecord, SigningSecret, JobError, Provenance, SealedSigningSecret, StoredSigningSecret } from './records';
import type { SubmitJobsResponse } from './api-schemas';

// ---------- media ----------

/** What an integrator needs to PUT one object: a URL signed for exactly this key, type and size. */
export interface PresignedUpload {
  readonly url: string;
  /** Headers the PUT must carry as they are: the signature covers them. */
  readonly headers: Readonly<Record<string, string>>;
}

/** Signs uploads into the media bucket (POST /v1/uploads); on AWS a SigV4 presigned PutObject. */
export interface UploadSigner {
  presignPut(input: {
    readonly key: string;
    readonly contentType: string;
    readonly contentLength: number;
    readonly expiresInSeconds: number;
  }): Promise<PresignedUpload>;
}

export interface FetchedMedia {
  readonly bytes: Uint8Array;
  /** Content-Type the source claimed; informational only, the bytes decide. */
  readonly contentType?: string;
  /** Set when the file lives in S3, so a provider can pass an s3Location instead of bytes. */
  readonly s3Location?: { readonly bucket: string; readonly key: string };
}

/** Reads a file by URL (s3:// or https://) with a byte cap. Throws PermanentJobError / TransientJobError. */
export interface MediaSource {
  /**
   * `scope`: whose job this is. The S3 reader refuses (file_url_forbidden) a key outside it, and
   * any s3:// read without one (fail closed); HTTP sources ignore it.
   */
  fetch(url: string, options: { maxBytes: number; scope?: MediaScope }): Promise<FetchedMedia>;
}

export interface SniffedMedia {
  readonly kind: MediaKind;
  /** Short format name: jpeg, png, gif, webp, mp3, wav, flac, ogg, opus, m4a, aac, webm. */
  readonly format: string;
  readonly mime: string;
}

export interface ExtractionInput {
  readonly kind: MediaKind;
  readonly format: string;
  readonly mime: string;
  readonly bytes: Uint8Array;
  readonly s3Location?: { readonly bucket: string; readonly key: string };
  /** The request's options for the prompt (language, vocabulary, keyword count, alt text). */
  readonly options?: ExtractionOptions;
  /** Longest recording this job may send (the tenant's or the deployment's, core/audio-limit.ts). @default the provider's own */
  readonly audioLimit?: AudioDurationLimit;
}

export interface ModelUsage {
  readonly input_tokens: number;
  readonly output_tokens: number;
  readonly latency_ms: number;
  /** Seconds of (normalised) audio sent to the model, repairs included; absent for images. */
  readonly audio_seconds?: number;
  /** Pixels of the image(s) sent to the model (after any downscaling); absent for audio. */
  readonly image_pixels?: number;
}

export interface ExtractionOutput {
  readonly result: MetadataResult;
  readonly model: { readonly provider: string; readonly id: string };
  readonly usage?: ModelUsage;
  /** core/prompts PROMPT_VERSION for a prompted model; the analyzer's own version otherwise. */
  readonly promptVersion?: string;
  /** BCP 47 tag of the language the provider wrote in (the requested one when it can). */
  readonly language?: string;
}

/** Turns media bytes into metadata. Throws PermanentJobError / TransientJobError. */
export interface MetadataProvider {
  readonly name: string;
  extract(input: ExtractionInput): Promise<ExtractionOutput>;
}

// ---------- webhooks ----------

export interface WebhookRequest {
  readonly url: string;
  readonly headers: Record<string, string>;
  readonly body: string;
  readonly timeoutMs: number;
  readonly maxResponseBytes: number;
}

export type WebhookResponse =
  | { readonly kind: 'response'; readonly status: number; readonly headers: Record<string, string>; readonly body: string; readonly durationMs: number }
  | { readonly kind: 'error'; readonly errorClass: string; readonly message: string; readonly durationMs: number };

export interface WebhookSender {
  post(request: WebhookRequest): Promise<WebhookResponse>;
}

// ---------- queues ----------

export interface JobMessage {
  readonly tenant_id: string;
  readonly job_id: string;
}

export type DeliveryMessage =
  | {
      readonly kind: 'job';
      readonly tenant_id: string;
      readonly job_id: string;
      readonly event_id: string;
      /** Set by POST /v1/jobs/{id}/redeliver: send again even if already delivered. */
      readonly redelivery?: boolean;
    }
  | { readonly kind: 'batch'; readonly tenant_id: string; readonly batch_id: string; readonly event_id: string };

export interface JobQueue {
  enqueueJobs(messages: readonly JobMessage[]): Promise<void>;
}

export interface DeliveryQueue {
  enqueueDeliveries(messages: readonly DeliveryMessage[]): Promise<void>;
}

// ---------- storage ----------

export type ReservationResult =
  | { readonly reserved: true; readonly jobId: string }
  | { readonly reserved: false; readonly jobId: string; readonly reservedAt: string };

export interface DedupeReservation {
  readonly tenantId: string;
  readonly dedupeKey: string;
  readonly jobId: string;
  readonly now: Date;
  readonly expiresAt: Date;
}

/** A started attempt's hold on a job: until the function's timeout, owned by the SQS message that took it. */
export interface JobLease {
  readonly until: Date;
  /** The SQS message id: another receive of this same message takes the lease back at once. */
  readonly owner: string;
  /** When that message was sent: only one sent after a job failed may restart it (a redrive). */
  readonly messageSentAt?: Date;
}

export type StartProcessingResult =
  /** attempt: the job's stored attempt counter after this start (1 for the first attempt). */
  | { readonly started: true; readonly job: JobRecord; readonly attempt: number }
  /** leaseUntil: when a processing job's current lease ends (a retry waits exactly that long). */
  | { readonly started: false; readonly job: JobRecord | undefined; readonly leaseUntil?: string };

/**
 * The intake's promise to queue a batch's jobs, written before the jobs. Deleted once their
 * messages are sent; one still there after the intake's lifetime means the request died (or
 * SQS failed) between the job writes and the messages, and the sweeper finishes the enqueue.
 */
export interface EnqueueOutboxEntry {
  readonly tenantId: string;
  readonly batchId: string;
  readonly jobIds: readonly string[];
  /** ISO timestamp of the intake request. */
  readonly createdAt: string;
}

// The job store, split by concern: each use case asks only for the ports it uses, and each
// port has its own adapter (lambdas/adapters/dynamo/*) whose writes are unit-tested alone.

/** Intake: one claim per dedupe key, so two requests for one file create one job. */
export interface DedupeClaims {
  /**
   * Conditionally claims each dedupe key for a new job; an unexpired claim wins and is returned.
   * All or nothing: when any claim fails with an error, the claims this call made are released
   * (best effort) before the error is thrown.
   */
  reserve(reservations: readonly DedupeReservation[]): Promise<ReservationResult[]>;
  /** Replaces a stale claim whose job never materialised. False when someone else changed it first. */
  takeOverReservation(reservation: DedupeReservation, staleJobId: string): Promise<boolean>;
  /** Best-effort undo of claims made by a request that then failed. */
  releaseReservations(reservations: readonly DedupeReservation[]): Promise<void>;
}

/** Intake and sweeper: the promise to queue a batch's jobs, kept until their messages are sent. */
export interface EnqueueOutbox {
  openEnqueueOutbox(entry: EnqueueOutboxEntry): Promise<void>;
  closeEnqueueOutbox(entry: Pick<EnqueueOutboxEntry, 'batchId' | 'createdAt'>): Promise<void>;
  /** Outbox entries created before `before`, oldest first, across all shards. */
  listStaleEnqueueOutbox(before: Date, limit: number): Promise<EnqueueOutboxEntry[]>;
}

/** A job from creation to a terminal state (transitions: core/job-state.ts). */
export interface JobLifecycle {
  /** Writes a new batch and its jobs (intake). */
  createBatch(batch: BatchRecord, jobs: readonly JobRecord[]): Promise<void>;
  getJob(tenantId: string, jobId: string): Promise<JobRecord | undefined>;
  getJobs(tenantId: string, jobIds: readonly string[]): Promise<JobRecord[]>;
  /**
   * queued -> processing, counting the attempt; also a processing job whose lease ran out or is
   * owned by this same message, and a job failed only because its retries ran out (a redrive; not
   * by the message that failed it). Returns the job either way.
   */
  startProcessing(tenantId: string, jobId: string, now: Date, lease: JobLease): Promise<StartProcessingResult>;
  // The job returned by startProcessing carries the initial delivery summary, not the stored one
  // (the extractor never decides from it); getJob, getJobs and cancel return the stored one.
  /**
   * processing -> queued: a transient failure hands the job back for the next retry, due at
   * `retryAt` (the sweeper's deadline for it: a job still waiting long after has lost its message).
   */
  releaseLease(job: JobRecord, now: Date, retryAt: Date): Promise<void>;
  /** processing -> completed | failed. False when the job was no longer processing. */
  finish(job: JobRecord, outcome: JobOutcomeUpdate, now: Date): Promise<boolean>;
  /** queued -> cancelled. Returns the job as it is afterwards (or was, when not cancellable). */
  cancel(tenantId: string, jobId: string, now: Date): Promise<{ cancelled: boolean; job: JobRecord | undefined }>;
  /**
   * Failure path only: a finished job's webhook messages could not be queued on its message's last
   * receive. Stores them on the job and puts it back in the lease index, due `now`, for the sweeper
   * to send (sweep-leases.ts). False when the job is not finished (nothing to announce for it).
   */
  deferAnnouncement(tenantId: string, jobId: string, messages: readonly DeliveryMessage[], now: Date): Promise<boolean>;
}

/** A batch's record and how many of its jobs have finished; batch.completed exactly once. */
export interface BatchProgressStore {
  getBatch(tenantId: string, batchId: string): Promise<BatchRecord | undefined>;
  /**
   * Records the job as finished in its batch; returns the counts afterwards (idempotent per job).
   * `slot`: the job's `batch_slot`, when the caller has it (saves a lookup).
   */
  recordBatchProgress(
    tenantId: string,
    batchId: string,
    jobId: string,
    status: 'completed' | 'failed' | 'cancelled',
    slot?: number,
  ): Promise<BatchProgress>;
  /**
   * True for exactly one job of the batch (and again for that same job's retries, so a crash
   * after claiming still emits): its caller queues batch.completed.
   */
  claimBatchCompletion(tenantId: string, batchId: string, jobId: string, now: Date): Promise<boolean>;
  /**
   * Sweeper: jobs of the batch whose write failed no longer count towards its total, so the batch
   * can still complete. Returns the progress afterwards, or undefined when the batch was never written.
   */
  markJobsNeverWritten(tenantId: string, batchId: string, jobIds: readonly string[]): Promise<BatchProgress | undefined>;
}

/** The delivery side of a job or batch: its summary and the attempts behind it. */
export interface DeliveryLedger {
  recordDeliveryOutcome(update: DeliverySummaryUpdate): Promise<void>;
  /** A job's delivery attempts, oldest first. */
  listAttempts(tenantId: string, jobId: string): Promise<DeliveryAttemptRecord[]>;
}

/** A tenant's jobs, paged (GET /v1/jobs). */
export interface JobListings {
  listJobs(tenantId: string, query: JobListQuery): Promise<{ jobs: JobRecord[]; cursor: string | null }>;
}

/** A job in flight (processing, or waiting for its retry) whose deadline has passed. */
export interface OverdueJob {
  readonly tenantId: string;
  readonly jobId: string;
  /** ISO: the lease end or retry time it was found with (the requeue is conditional on it). */
  readonly deadline: string;
}

/** Sweeper: jobs in flight by deadline (a sparse, sharded index), so stalled ones are found without a scan. */
export interface StalledJobs {
  /** Jobs whose deadline is before `before`, oldest first, across all shards. */
  listOverdue(before: Date, limit: number): Promise<OverdueJob[]>;
  /**
   * Counts a requeue and moves the job's deadline to `nextDeadline(requeues)`, only if the job is
   * still in flight with the deadline it was found with. Returns the requeue count, or undefined
   * when the job moved on (finished, restarted, or another sweep took it).
   */
  claimRequeue(job: OverdueJob, now: Date, nextDeadline: (requeues: number) => Date): Promise<RequeueClaim | undefined>;
  /** Takes a finished job out of the lease index once its deferred announcement is queued, if still at `job.deadline`. */
  closeAnnouncement(job: OverdueJob): Promise<void>;
}

/**
 * A claimed overdue job: in flight (requeue it), or finished with webhook messages its extractor
 * could not queue (send them; JobLifecycle.deferAnnouncement). `deadline` is where the claim moved it.
 */
export type RequeueClaim =
  | { readonly kind: 'requeue'; readonly requeues: number; readonly deadline: string }
  | { readonly kind: 'announce'; readonly requeues: number; readonly deadline: string; readonly messages: readonly DeliveryMessage[] };

/** A batch without batch.completed whose check time has passed (the open-batch index). */
export interface OverdueBatch {
  readonly tenantId: string;
  readonly batchId: string;
  /** ISO: the check time it was found with (every change the sweeper makes is conditional on it). */
  readonly checkAt: string;
}

/** What the sweeper reads of an open batch: its record, each job's slot, and who claimed batch.completed. */
export interface OpenBatchState {
  readonly batch: BatchRecord;
  /** One per job of `batch.job_ids`: 'pending' until its finish is recorded, or 'never_written'. */
  readonly slots: readonly ('pending' | 'completed' | 'failed' | 'cancelled' | 'never_written')[];
  readonly claimedBy?: string;
  /** How often the sweeper has looked at it before (for the backoff). */
  readonly checks: number;
}

/** Sweeper: batches still without batch.completed, by check time (a sparse, sharded index on the progress item). */
export interface OpenBatches {
  listOverdue(before: Date, limit: number): Promise<OverdueBatch[]>;
  /** The batch as stored, or undefined when its entry is no longer the one found (completed, or another sweep moved it). */
  inspect(entry: OverdueBatch): Promise<OpenBatchState | undefined>;
  /** Records finished jobs the batch's progress missed (idempotent: each slot is set to its job's status). */
  recordFinished(entry: OverdueBatch, finished: readonly { readonly slot: number; readonly status: 'completed' | 'failed' | 'cancelled' }[]): Promise<BatchProgress>;
  /** Claims batch.completed for the sweeper while the entry is the one found; true also when the sweeper already holds it. */
  claimCompletion(entry: OverdueBatch, now: Date): Promise<boolean>;
  /** Takes the batch out of the index (after its batch.completed is queued); a no-op if the entry moved. */
  close(entry: OverdueBatch): Promise<void>;
  /** Moves the check time on, conditionally on the one found; false when another sweep or the claim got there first. */
  postpone(entry: OverdueBatch, checkAt: Date): Promise<boolean>;
}

export interface JobListQuery {
  readonly batchId?: string;
  readonly status?: string;
  /** ISO timestamp: jobs created at or after it. */
  readonly since?: string;
  readonly limit: number;
  readonly cursor?: string;
}

export type JobOutcomeUpdate =
  | {
      readonly status: 'completed';
      readonly mediaType: MediaKind;
      readonly result: MetadataResult;
      readonly model: { readonly provider: string; readonly id: string };
      readonly source: { readonly sha256: string; readonly bytes: number; readonly content_type: string };
      readonly usage?: ModelUsage;
      readonly provenance?: Provenance;
    }
  | {
      readonly status: 'failed';
      readonly error: JobError;
      readonly mediaType?: MediaKind;
      readonly source?: { readonly sha256: string; readonly bytes: number; readonly content_type: string };
    };

export interface BatchProgress {
  readonly total: number;
  readonly completed: number;
  readonly failed: number;
  readonly cancelled: number;
}

export interface DeliverySummaryUpdate {
  readonly tenantId: string;
  readonly jobId?: string;
  readonly batchId?: string;
  readonly eventId: string;
  readonly status: 'pending' | 'delivered' | 'failed';
  readonly attempt: number;
  /** Failed attempts in this round (0 once delivered). */
  readonly failures: number;
  /** When the next attempt is due; null unless pending. */
  readonly nextAttemptAt: Date | null;
  readonly lastStatusCode: number | null;
  readonly lastError: string | null;
  readonly at: Date;
}

export interface DeliveryAttemptLog {
  /**
   * Writes the audit row of one attempt, never over another: returns false (writing nothing)
   * when a row with this event and attempt number already exists.
   */
  record(attempt: DeliveryAttemptRecord): Promise<boolean>;
}

export interface TenantDirectory {
  findByApiKeyId(apiKeyId: string): Promise<TenantRecord | undefined>;
  getTenant(tenantId: string): Promise<TenantRecord | undefined>;
  /**
   * Secrets valid now, newest first, opened (plaintext): more than one during a rotation's
   * overlap window. Needs a SecretSealer allowed to open signing secrets (only the callback's).
   */
  getSigningSecrets(tenantId: string, now: Date): Promise<SigningSecret[]>;
}

export interface StoredSigningSecrets {
  readonly secrets: StoredSigningSecret[];
  /** Bumped by every replaceSecrets; 0 before the first. */
  readonly version: number;
}

/** Tenant writes for the operator commands (create, disable, rotate, seal-secrets). */
export interface TenantWriter {
  putTenant(tenant: TenantRecord, secrets: SealedSigningSecret[]): Promise<void>;
  setStatus(tenantId: string, status: TenantRecord['status']): Promise<void>;
  /**
   * The secrets as stored (sealed, or plaintext from before sealing), expired ones too, with the
   * version replaceSecrets compares against; undefined: no tenant.
   */
  getStoredSigningSecrets(tenantId: string): Promise<StoredSigningSecrets | undefined>;
  /**
   * Replaces the secrets if their version is still `expectedVersion` (from getStoredSigningSecrets);
   * false, writing nothing, when someone changed them first.
   */
  replaceSecrets(tenantId: string, secrets: SealedSigningSecret[], expectedVersion: number): Promise<boolean>;
  listTenants(): Promise<TenantRecord[]>;
  /** Replaces the tenant's allowed media sources (issue 16); fails for an unknown tenant. */
  setMediaSources(tenantId: string, sources: readonly MediaSourceGrant[]): Promise<void>;
  /** Sets (or, with undefined, removes) the tenant's own audio duration limit; fails for an unknown tenant. */
  setMaxAudioSeconds(tenantId: string, seconds: number | undefined): Promise<void>;
}

/**
 * Seals small secrets (webhook signing secrets, receiver credentials) so that anyone who can read
 * the table sees ciphertext only. `context` binds a sealed value to where it belongs (tenant,
 * purpose): opening it under another context fails, so a ciphertext copied to another tenant's
 * item is useless. On AWS: KMS envelope encryption with the stack's key; locally: the same code
 * against a local key service.
 * @public A port: its adapters (KMS, local) and its users come from the `secrets` branch.
 */
export interface SecretSealer {
  seal(plaintext: string, context: Readonly<Record<string, string>>): Promise<string>;
  open(sealed: string, context: Readonly<Record<string, string>>): Promise<string>;
}

/** API keys live in the gateway (API Gateway usage plan, or the local gateway); we keep only their id. */
export interface ApiKeyRegistry {
  createKey(name: string): Promise<{ readonly id: string; readonly value: string }>;
  setEnabled(id: string, enabled: boolean): Promise<void>;
}

export type IdempotencyBegin =
  | { readonly state: 'new' }
  | { readonly state: 'replay'; readonly response: SubmitJobsResponse }
  | { readonly state: 'in_progress' }
  | { readonly state: 'mismatch' };

/** Idempotency-Key persistence: one record per tenant + key, holding the request hash and response. */
export interface IdempotencyStore {
  begin(tenantId: string, key: string, requestHash: string, now: Date): Promise<IdempotencyBegin>;
  complete(tenantId: string, key: string, response: SubmitJobsResponse, now: Date): Promise<void>;
  release(tenantId: string, key: string): Promise<void>;
}

// ---------- audio normalisation ----------

/** What the original upload was, kept in the result's `properties` (the model sees only the normalised copy). */
export interface OriginalAudioFacts {
  readonly duration_seconds: number;
  /** Codec of the original stream, e.g. `pcm_s16le`, `mp3`, `flac`, `opus`, `aac`, `vorbis`. */
  readonly codec: string;
  readonly channels: number;
  readonly sample_rate: number;
  /** Container/ID3/Vorbis tags worth keeping (title, artist, album, ...), bounded in count and length. */
  readonly tags: Readonly<Record<string, string>>;
}

/** One piece of the recording, re-encoded for the model: mono, 16 kHz, compact MP3. */
export interface NormalisedAudioSegment {
  readonly bytes: Uint8Array;
  readonly format: 'mp3';
  readonly channels: 1;
  readonly sampleRate: 16_000;
  readonly bitrateKbps: number;
  /** Offset of this segment in the original recording. */
  readonly startSeconds: number;
  readonly durationSeconds: number;
}

export interface NormalisedAudio {
  readonly original: OriginalAudioFacts;
  /** In order; one segment when the recording fits the model's audio window. */
  readonly segments: readonly NormalisedAudioSegment[];
}

export interface AudioNormaliseOptions {
  /** Longest segment the model takes in one call (its documented audio window). */
  readonly segmentSeconds: number;
  /** Recordings longer than this fail with PermanentJobError('file_too_long') before any encoding. */
  readonly maxDurationSeconds: number;
  /** Whose limit maxDurationSeconds is, named in the file_too_long message. @default 'deployment' */
  readonly limitSetBy?: AudioDurationLimit['setBy'];
}

/**
 * Decodes any accepted audio input (mp3, wav, flac, ogg/opus, m4a/aac, webm) and re-encodes it
 * mono 16 kHz MP3, split at `segmentSeconds`. Throws PermanentJobError (`file_unreadable`,
 * `unsupported_media_type`, `file_too_long`) for input it cannot or will not take; never hangs.
 */
export interface AudioNormaliser {
  normalise(input: { readonly bytes: Uint8Array; readonly format: string }, options: AudioNormaliseOptions): Promise<NormalisedAudio>;
}
