// The one place for queue timings, batch sizes, retry schedule and limits.
// Read by the CDK constructs (lib/) AND by the local runtime (local/) and handlers,
// so the local stack and the cloud stack cannot drift. No AWS imports here.
import { BATCH_EVENT_MAX_BYTES } from '../lambdas/core/batch-results';
import { deriveCapacityPlan, type CapacityInputs, type CapacityPlan } from './capacity';

/** Seconds to wait before delivery attempt n+1 after attempt n failed (index 0 = after attempt 1). */
export const DEFAULT_DELIVERY_RETRY_SCHEDULE_SECONDS: readonly number[] = [
  5, 30, 120, 600, 1800, 3600, 10800, 21600, 43200,
];

/** Seconds to wait before re-trying an extraction that failed transiently (throttling, 5xx, network). */
export const DEFAULT_EXTRACTION_RETRY_SCHEDULE_SECONDS: readonly number[] = [30, 120, 600, 1800];

/**
 * Bedrock models used when METAHOOK_IMAGE_MODEL_ID / METAHOOK_AUDIO_MODEL_ID are not set.
 * docs/bedrock.md explains the choice, the regions and the cost per file. The CDK grants
 * bedrock:InvokeModel on exactly these (or the configured) models.
 */
export const DEFAULT_BEDROCK_MODEL_IDS = {
  /** Amazon Nova Lite through the US cross-region inference profile: image input, forced tool use. */
  image: 'us.amazon.nova-lite-v1:0',
  /** Mistral Voxtral Small: audio through InvokeModel (Mistral chat body, JSON mode); see bedrock-model-traits.ts. In-region model ID. */
  audio: 'mistral.voxtral-small-24b-2507',
} as const;

/**
 * Capacity inputs used when neither METAHOOK_CAPACITY_* variables nor CDK context override them.
 * The Bedrock quotas are ASSUMED placeholders, not read from any account: quotas are per account,
 * Region and model (Bedrock User Guide, "Quotas for the bedrock-runtime endpoint",
 * https://docs.aws.amazon.com/bedrock/latest/userguide/quotas-runtime.html). Read yours with
 * `aws service-quotas list-service-quotas --service-code bedrock` and pass them as context
 * (docs/deploy.md, "Capacity"). Tokens per file: docs/bedrock.md ("What a file costs").
 */
export const DEFAULT_CAPACITY: Omit<CapacityInputs, 'maxFilesPerRequest'> = {
  filesPerSecond: 20,
  tenantsAtFullRate: 1,
  secondsPerFile: 3,
  maxExtractorConcurrency: 200,
  latencyAllowanceSeconds: 300,
  deliverySecondsPerEvent: 1,
  imageShare: 0.75,
  monthlyDutyCycle: 0.25,
  bedrock: {
    image: { requestsPerMinute: 2_000, tokensPerMinute: 4_000_000, tokensPerFile: 2_150 + 200 },
    audio: { requestsPerMinute: 1_000, tokensPerMinute: 1_000_000, tokensPerFile: 1_350 + 200 },
  },
};

/** API Gateway's integration timeout is 29 s; the intake may not outlive it. */
const INTAKE_TIMEOUT_SECONDS = 29;

export interface Settings {
  /** The capacity plan: extraction.batchSize/maxConcurrency and the usage plan derive from it. */
  readonly capacity: CapacityPlan;
  readonly fairness: {
    /**
     * A batch holding more records of one tenant than this, whose records already waited
     * requeueAfterDwellSeconds in the queue, sends the excess to the back of the jobs queue
     * (a fresh message, so no receive count is spent) and lets other tenants' files go first.
     */
    readonly maxRecordsPerTenantPerBatch: number;
    readonly requeueAfterDwellSeconds: number;
  };
  readonly api: {
    readonly maxFilesPerRequest: number;
    readonly maxBodyBytes: number;
    readonly maxUrlLength: number;
    readonly maxMetadataBytes: number;
    /** Nesting levels of `metadata` (the object itself is 1); DynamoDB stores at most 32 per item. */
    readonly maxMetadataDepth: number;
    readonly maxExternalIdLength: number;
    /**
     * How long a POST /v1/uploads URL stays valid. Short: it is a bearer credential for one key.
     * A presigned URL also stops working when the signer's session credentials expire, whichever
     * comes first (https://docs.aws.amazon.com/AmazonS3/latest/userguide/using-presigned-url.html).
     */
    readonly uploadUrlExpirySeconds: number;
  };
  readonly idempotency: {
    /** Same file URL + callback URL from the same tenant inside this window returns the existing job. */
    readonly dedupeWindowSeconds: number;
    /** How long an Idempotency-Key replays its first response. */
    readonly idempotencyKeyTtlSeconds: number;
    /** A reservation older than this whose job never materialised is taken over (intake crashed). */
    readonly staleReservationSeconds: number;
  };
  readonly extraction: {
    readonly functionTimeoutSeconds: number;
    readonly memoryMb: number;
    readonly batchSize: number;
    readonly maxConcurrency: number;
    /** Lambda's guidance: queue visibility >= 6x the function timeout. */
    readonly queueVisibilityTimeoutSeconds: number;
    readonly retryScheduleSeconds: readonly number[];
    /**
     * Extraction attempts a job gets (schedule + 1), counted on the job item when processing
     * starts (`processing_attempts`): retries are decided from this, never from SQS receive counts.
     */
    readonly maxAttempts: number;
    /**
     * How long a started attempt holds the job: the function timeout (a receive cannot outlive it).
     * METAHOOK_EXTRACTION_LEASE_SECONDS shortens it for local time compression only.
     */
    readonly leaseSeconds: number;
    /**
     * Last-resort net only (extractionReceiveBudget): the attempts, one lease wait before each, plus
     * headroom for receives that end without an attempt (timeouts, init failures, infrastructure
     * errors). The extractor fails the job and dead-letters the message itself, with a reason, on
     * the last receive SQS allows.
     */
    readonly maxReceiveCount: number;
    readonly maxImageBytes: number;
    readonly maxAudioBytes: number;
    /**
     * Longest recording the extractor takes (METAHOOK_MAX_AUDIO_SECONDS); longer ones fail
     * job.failed with `file_too_long` and this limit, before decoding when the header tells.
     */
    readonly maxAudioDurationSeconds: number;
  };
  readonly delivery: {
    readonly functionTimeoutSeconds: number;
    readonly memoryMb: number;
    readonly batchSize: number;
    readonly maxConcurrency: number;
    readonly queueVisibilityTimeoutSeconds: number;
    readonly retryScheduleSeconds: readonly number[];
    /** +-fraction of random jitter applied to each retry delay. */
    readonly retryJitter: number;
    /**
     * Attempts the schedule places inside this window stay inside it even with jitter
     * (the 15-minute end-to-end promise: the first five attempts happen within it).
     */
    readonly promiseWindowSeconds: number;
    /**
     * Last-resort net only: retries are decided from the stored delivery state. Attempts
     * (schedule + 1), plus the extra receives of steps longer than one visibility window, plus
     * headroom for receives that end without an attempt (timeouts, errors, duplicates).
     * The callback dead-letters a message itself, with a reason, on the last allowed receive.
     */
    readonly maxReceiveCount: number;
    /**
     * The longest a receipt may hide a message: SQS caps total visibility at 12 h from the receive
     * (ChangeMessageVisibility), minus this margin for the time between SQS's receive and the
     * handler's clock reading (event-source batching, the invocation itself).
     */
    readonly visibilityCapSeconds: number;
    readonly httpTimeoutMs: number;
    readonly maxStoredResponseBytes: number;
    /**
     * Largest batch.completed body with inline results (events: ["batch.completed"]); past it the
     * event carries the first pages and `results_next`. BATCH_EVENT_MAX_BYTES (the documented
     * contract) unless METAHOOK_BATCH_EVENT_MAX_BYTES lowers it, so a test can page a small batch.
     */
    readonly batchEventMaxBytes: number;
  };
  readonly queues: {
    readonly messageRetentionSeconds: number;
    readonly deadLetterRetentionSeconds: number;
  };
  readonly retention: {
    readonly deliveryAttemptDays: number;
    readonly jobDays: number;
  };
  readonly sweeper: {
    /** How often the sweeper runs (EventBridge schedule; a timer in the local stack). */
    readonly intervalSeconds: number;
    /** Outbox entries younger than this may belong to a running intake. */
    readonly outboxMinAgeSeconds: number;
    readonly maxEntriesPerRun: number;
    /**
     * A job `processing` (or waiting for a retry) this long past its deadline has no live message:
     * a timed-out receive's message is visible again after the queue's visibility timeout, which
     * starts about when the lease does, so by then it would have taken the job back.
     */
    readonly leaseGraceSeconds: number;
    /**
     * A batch without batch.completed this long after it was created is looked at by the sweeper
     * (METAHOOK_SWEEP_BATCH_CHECK_SECONDS): the longest its jobs take when nothing goes wrong
     * (every attempt's lease and retry step) plus the lease grace, so a healthy batch is never visited.
     */
    readonly openBatchCheckSeconds: number;
    readonly functionTimeoutSeconds: number;
  };
  readonly intake: {
    readonly functionTimeoutSeconds: number;
    readonly memoryMb: number;
  };
  /**
   * What one hostile file may cost the extractor before it is refused (docs/security.md,
   * "Decode budgets"). Checked from headers before anything decodes; breaches fail the job
   * with `file_too_large` or `file_unreadable` and a message naming the budget.
   */
  readonly decode: {
    /** width x height from the header (METAHOOK_MAX_IMAGE_PIXELS); sharp's own default is 268 MP. */
    readonly maxImagePixels: number;
    /** Longest side from the header (METAHOOK_MAX_IMAGE_SIDE_PX): a 1 x 40,000,000 strip costs time per row. */
    readonly maxImageSidePx: number;
    /** Wall clock for one sharp pipeline (METAHOOK_IMAGE_DECODE_TIMEOUT_SECONDS). */
    readonly imageDecodeTimeoutSeconds: number;
    /** Wall clock for one EXIF/XMP/IPTC or audio-tag parse in the parser worker (METAHOOK_METADATA_PARSE_TIMEOUT_MS). */
    readonly metadataParseTimeoutMs: number;
    /** V8 heap of the parser worker (METAHOOK_METADATA_PARSE_MEMORY_MB); past it the worker is stopped. */
    readonly metadataParseMemoryMb: number;
    /** Bytes of embedded metadata segments (EXIF, XMP, IPTC) handed to the parser; bigger segments are skipped. */
    readonly maxImageMetadataBytes: number;
    /**
     * Bytes of text tags handed to the parser: ID3v2 frames other than pictures, one FLAC Vorbis
     * comment block. A tag over it (or over 1024 ID3 frames) is skipped and the audio still described.
     */
    readonly maxAudioTagBytes: number;
  };
}

/** SQS's cap on a message's total visibility from one receipt, and on one ChangeMessageVisibility. */
export const SQS_MAX_VISIBILITY_SECONDS = 43_200;

/** Receives the jobs queue allows beyond the attempts and their lease waits, before SQS dead-letters by count. */
export const EXTRACTION_RECEIVE_HEADROOM = 5;

/** Attempts (schedule + 1), a possible lease wait before each, plus headroom: no extra receive uses up a retry. */
export function extractionReceiveBudget(schedule: readonly number[]): number {
  const attempts = schedule.length + 1;
  return 2 * attempts + EXTRACTION_RECEIVE_HEADROOM;
}

/** Receives SQS may see before dead-lettering by count that our delivery schedule never reaches. */
export const DELIVERY_RECEIVE_HEADROOM = 5;

/** Receives the schedule needs at worst (max jitter; steps longer than a window take extra receives) plus headroom. */
export function deliveryReceiveBudget(schedule: readonly number[], jitter: number, windowSeconds: number): number {
  const attempts = schedule.length + 1;
  const extraWakeUps = schedule.reduce((sum, step) => sum + Math.max(0, Math.ceil((step * (1 + jitter)) / windowSeconds) - 1), 0);
  return attempts + extraWakeUps + DELIVERY_RECEIVE_HEADROOM;
}

export class SettingsError extends Error {
  override readonly name = 'SettingsError';
}

/** Parses "1,2,3" into [1, 2, 3]; refuses anything that is not a list of positive integers. */
export function parseSchedule(raw: string, variable: string): number[] {
  const parts = raw.split(',').map((part) => part.trim());
  const values = parts.map(Number);
  if (parts.length === 0 || values.some((v) => !Number.isInteger(v) || v < 0 || v > 43_200)) {
    throw new SettingsError(
      `${variable} must be a comma-separated list of whole seconds between 0 and 43200, got "${raw}"`,
    );
  }
  return values;
}

function positiveInt(env: Record<string, string | undefined>, variable: string, fallback: number): number {
  const raw = env[variable];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value <= 0) {
    throw new SettingsError(`${variable} must be a positive whole number, got "${raw}"`);
  }
  return value;
}

function positiveNumber(env: Record<string, string | undefined>, variable: string, fallback: number): number {
  const raw = env[variable];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0) {
    throw new SettingsError(`${variable} must be a positive number, got "${raw}"`);
  }
  return value;
}

function nonNegativeInt(env: Record<string, string | undefined>, variable: string, fallback: number): number {
  const raw = env[variable];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 0) {
    throw new SettingsError(`${variable} must be a whole number >= 0, got "${raw}"`);
  }
  return value;
}

/** Capacity inputs from METAHOOK_CAPACITY_* variables (the CDK app sets the same from context). */
export function capacityInputs(env: Record<string, string | undefined>, maxFilesPerRequest: number): CapacityInputs {
  const d = DEFAULT_CAPACITY;
  const quota = (kind: 'image' | 'audio', prefix: string) => ({
    requestsPerMinute: positiveNumber(env, `METAHOOK_BEDROCK_${prefix}_REQUESTS_PER_MINUTE`, d.bedrock[kind].requestsPerMinute),
    tokensPerMinute: positiveNumber(env, `METAHOOK_BEDROCK_${prefix}_TOKENS_PER_MINUTE`, d.bedrock[kind].tokensPerMinute),
    tokensPerFile: d.bedrock[kind].tokensPerFile,
  });
  return {
    ...d,
    filesPerSecond: positiveNumber(env, 'METAHOOK_CAPACITY_FILES_PER_SECOND', d.filesPerSecond),
    tenantsAtFullRate: positiveInt(env, 'METAHOOK_CAPACITY_TENANTS_AT_FULL_RATE', d.tenantsAtFullRate),
    secondsPerFile: positiveNumber(env, 'METAHOOK_CAPACITY_SECONDS_PER_FILE', d.secondsPerFile),
    maxExtractorConcurrency: positiveInt(env, 'METAHOOK_CAPACITY_MAX_EXTRACTOR_CONCURRENCY', d.maxExtractorConcurrency),
    maxFilesPerRequest,
    bedrock: { image: quota('image', 'IMAGE'), audio: quota('audio', 'AUDIO') },
  };
}

/**
 * Builds the settings. Overrides come only from METAHOOK_* variables so the local stack and
 * the tests can compress time (e.g. METAHOOK_RETRY_SCHEDULE=1,2,3) without touching code.
 */
export function resolveSettings(env: Record<string, string | undefined> = {}): Settings {
  const deliverySchedule = env.METAHOOK_RETRY_SCHEDULE
    ? parseSchedule(env.METAHOOK_RETRY_SCHEDULE, 'METAHOOK_RETRY_SCHEDULE')
    : [...DEFAULT_DELIVERY_RETRY_SCHEDULE_SECONDS];
  const extractionSchedule = env.METAHOOK_EXTRACTION_RETRY_SCHEDULE
    ? parseSchedule(env.METAHOOK_EXTRACTION_RETRY_SCHEDULE, 'METAHOOK_EXTRACTION_RETRY_SCHEDULE')
    : [...DEFAULT_EXTRACTION_RETRY_SCHEDULE_SECONDS];
  // Overridable only to compress time (the local crash test): the extractor's lease and its
  // queue's visibility follow it. Lambda's ceiling is 900 s.
  const extractorTimeout = positiveInt(env, 'METAHOOK_EXTRACTOR_TIMEOUT_SECONDS', 120);
  if (extractorTimeout > 900) throw new SettingsError('METAHOOK_EXTRACTOR_TIMEOUT_SECONDS must be at most 900 (the Lambda limit)');
  const callbackTimeout = 60;
  // SQS: "you can't extend the timeout of a message ... to more than a total visibility timeout
  // of 12 hours" from its receipt (API Reference, ChangeMessageVisibility).
  const deliveryVisibilityCap = SQS_MAX_VISIBILITY_SECONDS - 2 * callbackTimeout;
  const deliveryJitter = 0.2;
  const httpTimeoutMs = positiveInt(env, 'METAHOOK_CALLBACK_TIMEOUT_MS', 15_000);
  if (httpTimeoutMs >= callbackTimeout * 1000) {
    throw new SettingsError('METAHOOK_CALLBACK_TIMEOUT_MS must be shorter than the callback function timeout');
  }
  const batchEventMaxBytes = positiveInt(env, 'METAHOOK_BATCH_EVENT_MAX_BYTES', BATCH_EVENT_MAX_BYTES);
  if (batchEventMaxBytes > BATCH_EVENT_MAX_BYTES) {
    // Receivers are promised at most this much (docs/api.md); a deployment may only lower it.
    throw new SettingsError(`METAHOOK_BATCH_EVENT_MAX_BYTES may only lower the limit of ${BATCH_EVENT_MAX_BYTES} bytes, got ${batchEventMaxBytes}`);
  }
  const maxFilesPerRequest = 100;
  const leaseSeconds = positiveInt(env, 'METAHOOK_EXTRACTION_LEASE_SECONDS', extractorTimeout);
  const leaseGraceSeconds = positiveInt(env, 'METAHOOK_SWEEP_LEASE_GRACE_SECONDS', 6 * extractorTimeout - extractorTimeout + 60);
  const extractionLifetime = extractionSchedule.reduce((sum, step) => sum + step, 0) + (extractionSchedule.length + 1) * leaseSeconds;
  const capacity = deriveCapacityPlan(capacityInputs(env, maxFilesPerRequest));
  return {
    capacity,
    fairness: {
      maxRecordsPerTenantPerBatch: positiveInt(env, 'METAHOOK_FAIRNESS_MAX_RECORDS_PER_TENANT', 2),
      requeueAfterDwellSeconds: nonNegativeInt(env, 'METAHOOK_FAIRNESS_DWELL_SECONDS', 60),
    },
    api: {
      maxFilesPerRequest,
      maxBodyBytes: 256 * 1024,
      maxUrlLength: 2048,
      maxMetadataBytes: 16 * 1024,
      maxMetadataDepth: 16,
      maxExternalIdLength: 128,
      uploadUrlExpirySeconds: 15 * 60,
    },
    idempotency: {
      dedupeWindowSeconds: positiveInt(env, 'METAHOOK_DEDUPE_WINDOW_SECONDS', 24 * 3600),
      idempotencyKeyTtlSeconds: 24 * 3600,
      // A claim older than the intake's own timeout (plus clock slack) cannot belong to a live request.
      staleReservationSeconds: positiveInt(env, 'METAHOOK_STALE_CLAIM_SECONDS', INTAKE_TIMEOUT_SECONDS + 6),
    },
    extraction: {
      functionTimeoutSeconds: extractorTimeout,
      memoryMb: 1024,
      batchSize: capacity.extractor.batchSize,
      maxConcurrency: capacity.extractor.maxConcurrency,
      queueVisibilityTimeoutSeconds: 6 * extractorTimeout,
      retryScheduleSeconds: extractionSchedule,
      maxAttempts: extractionSchedule.length + 1,
      leaseSeconds,
      maxReceiveCount: extractionReceiveBudget(extractionSchedule),
      maxImageBytes: 20 * 1024 * 1024,
      maxAudioBytes: 50 * 1024 * 1024,
      maxAudioDurationSeconds: positiveInt(env, 'METAHOOK_MAX_AUDIO_SECONDS', 2 * 60 * 60),
    },
    delivery: {
      functionTimeoutSeconds: callbackTimeout,
      memoryMb: 256,
      batchSize: capacity.callback.batchSize,
      maxConcurrency: capacity.callback.maxConcurrency,
      queueVisibilityTimeoutSeconds: 6 * callbackTimeout,
      retryScheduleSeconds: deliverySchedule,
      retryJitter: deliveryJitter,
      promiseWindowSeconds: 15 * 60,
      maxReceiveCount: deliveryReceiveBudget(deliverySchedule, deliveryJitter, deliveryVisibilityCap),
      visibilityCapSeconds: deliveryVisibilityCap,
      httpTimeoutMs,
      maxStoredResponseBytes: 1024,
      batchEventMaxBytes,
    },
    queues: {
      messageRetentionSeconds: 4 * 24 * 3600,
      deadLetterRetentionSeconds: 14 * 24 * 3600,
    },
    retention: {
      deliveryAttemptDays: positiveInt(env, 'METAHOOK_ATTEMPT_RETENTION_DAYS', 90),
      jobDays: positiveInt(env, 'METAHOOK_JOB_RETENTION_DAYS', 90),
    },
    sweeper: {
      intervalSeconds: positiveInt(env, 'METAHOOK_SWEEP_INTERVAL_SECONDS', 60),
      outboxMinAgeSeconds: positiveInt(env, 'METAHOOK_SWEEP_MIN_AGE_SECONDS', INTAKE_TIMEOUT_SECONDS + 6),
      maxEntriesPerRun: 200,
      leaseGraceSeconds,
      openBatchCheckSeconds: positiveInt(env, 'METAHOOK_SWEEP_BATCH_CHECK_SECONDS', extractionLifetime + leaseGraceSeconds),
      functionTimeoutSeconds: 60,
    },
    intake: {
      functionTimeoutSeconds: INTAKE_TIMEOUT_SECONDS,
      memoryMb: 512,
    },
    decode: {
      // 50 MP: an 8160x6120 phone photo fits; BENCHMARKS.md ("Decode budgets") has the peak RSS at this size.
      maxImagePixels: positiveInt(env, 'METAHOOK_MAX_IMAGE_PIXELS', 50_000_000),
      maxImageSidePx: positiveInt(env, 'METAHOOK_MAX_IMAGE_SIDE_PX', 32_768),
      imageDecodeTimeoutSeconds: positiveInt(env, 'METAHOOK_IMAGE_DECODE_TIMEOUT_SECONDS', 30),
      metadataParseTimeoutMs: positiveInt(env, 'METAHOOK_METADATA_PARSE_TIMEOUT_MS', 5_000),
      metadataParseMemoryMb: positiveInt(env, 'METAHOOK_METADATA_PARSE_MEMORY_MB', 128),
      maxImageMetadataBytes: 1024 * 1024,
      maxAudioTagBytes: 1024 * 1024,
    },
  };
}
