// The public API's request and response shapes (zod/mini keeps handler bundles small).
// The OpenAPI document and the API Gateway request model are generated from these.
import { z, type Infer, type ZodMiniType } from './zod';
import { resolveSettings } from '../../lib/settings';
import { API_ERROR_STATUS, type ApiErrorCode } from './errors';
import { audioResultSchema, imageResultSchema, MAX_KEYWORDS } from './metadata-result';
import { findUnstorableValue } from './storable-json';

const limits = resolveSettings().api;
const extractionLimits = resolveSettings().extraction;

export const MEDIA_KINDS = ['image', 'audio'] as const;
export type MediaKind = (typeof MEDIA_KINDS)[number];

export const EXTERNAL_ID_PATTERN = /^[A-Za-z0-9._:@/+=-]+$/;

export const fileReferenceSchema = z.strictObject({
  url: z.string().check(z.minLength(1), z.maxLength(limits.maxUrlLength)),
  media_type: z.optional(z.enum(MEDIA_KINDS)),
  external_id: z.optional(
    z.string().check(
      z.minLength(1),
      z.maxLength(limits.maxExternalIdLength),
      z.regex(EXTERNAL_ID_PATTERN, 'external_id may contain letters, digits and . _ : @ / + = - only'),
    ),
  ),
});

/** Webhook event types a request may choose from (`events`). */
export const WEBHOOK_EVENT_TYPES = ['job.completed', 'job.failed', 'batch.completed'] as const;
export type WebhookEventType = (typeof WEBHOOK_EVENT_TYPES)[number];

/**
 * Header names a caller may ask Metahook to send to its receiver. Short on purpose: the ones
 * receivers authenticate with. Anything else (Host, Content-Type, webhook-*) would let a request
 * change how the delivery is signed or routed. Checked at intake (callback_header_forbidden).
 */
export const CALLBACK_HEADER_NAMES = ['authorization', 'x-api-key', 'x-webhook-token'] as const;
export const MAX_CALLBACK_HEADER_VALUE_LENGTH = 1024;

export const callbackHeadersSchema = z.record(
  z.string().check(z.minLength(1), z.maxLength(64)),
  z.string().check(
    z.minLength(1),
    z.maxLength(MAX_CALLBACK_HEADER_VALUE_LENGTH),
    // Visible ASCII and spaces: a CR or LF would smuggle another header into the delivery.
    z.regex(/^[\x20-\x7e]+$/, 'header values may contain printable ASCII characters only'),
  ),
);

export const MAX_VOCABULARY_TERMS = 500;

export const extractionOptionsSchema = z.strictObject({
  /** BCP 47 tag of the language to write description, caption/summary and alt text in. */
  language: z.optional(z.string().check(z.minLength(2), z.maxLength(35), z.regex(/^[A-Za-z0-9-]+$/, 'language must be a BCP 47 tag such as en, de-CH or pt-BR'))),
  max_keywords: z.optional(z.int().check(z.gte(1), z.lte(MAX_KEYWORDS))),
  /** Keywords are chosen from these terms only; the model's other keywords come back as unmatched_keywords. */
  vocabulary: z.optional(
    z.array(z.string().check(z.trim(), z.minLength(1), z.maxLength(64))).check(
      z.minLength(1, 'vocabulary must list at least one term'),
      z.maxLength(MAX_VOCABULARY_TERMS, `vocabulary may list at most ${MAX_VOCABULARY_TERMS} terms`),
    ),
  ),
  /** Images: also write alt text of at most MAX_ALT_TEXT_LENGTH characters. */
  alt_text: z.optional(z.boolean()),
});

export type ExtractionOptions = Infer<typeof extractionOptionsSchema>;

export const submitJobsRequestSchema = z.strictObject({
  callback_url: z.string().check(z.minLength(1), z.maxLength(limits.maxUrlLength)),
  files: z
    .array(fileReferenceSchema)
    .check(
      z.minLength(1, 'files must list at least one file'),
      z.maxLength(limits.maxFilesPerRequest, `files may list at most ${limits.maxFilesPerRequest} files`),
    ),
  /** Which events to deliver (issue 14); all three when absent. */
  events: z.optional(
    z.array(z.enum(WEBHOOK_EVENT_TYPES)).check(
      z.minLength(1, 'events must list at least one event type; leave it out to receive all'),
      z.maxLength(WEBHOOK_EVENT_TYPES.length),
    ),
  ),
  /** Sent on every delivery attempt to authenticate Metahook to the receiver; stored sealed, never returned. */
  callback_headers: z.optional(callbackHeadersSchema),
  options: z.optional(extractionOptionsSchema),
  metadata: z.optional(
    z.record(z.string(), z.unknown()).check(
      // Stored in DynamoDB as-is: refuse here what the write would reject (a 500 otherwise).
      z.superRefine((metadata, ctx) => {
        const problem = findUnstorableValue(metadata, limits.maxMetadataDepth);
        if (problem) ctx.addIssue({ code: 'custom', message: problem.message, path: problem.path, input: metadata });
      }),
    ),
  ),
});


/** POST /v1/webhooks/test: one signed webhook.test event to this URL, answered with the attempt. */
export const webhookTestRequestSchema = z.strictObject({
  callback_url: z.string().check(z.minLength(1), z.maxLength(limits.maxUrlLength)),
  /** As on POST /v1/jobs: sent with the test event, never stored. */
  callback_headers: z.optional(callbackHeadersSchema),
});
export type SubmitJobsRequest = Infer<typeof submitJobsRequestSchema>;

export const JOB_STATUSES = ['queued', 'processing', 'completed', 'failed', 'cancelled'] as const;
export type JobStatus = (typeof JOB_STATUSES)[number];

export interface SubmittedJob {
  readonly job_id: string;
  readonly url: string;
  readonly external_id: string | null;
  readonly status: JobStatus;
  readonly duplicate: boolean;
}

export interface SubmitJobsResponse {
  readonly batch_id: string;
  readonly jobs: readonly SubmittedJob[];
}

export interface ErrorEnvelope {
  readonly error: {
    readonly code: string;
    readonly message: string;
    readonly details?: readonly unknown[];
    readonly request_id: string;
  };
}

// ---------- responses and webhook payloads ----------
// Documented in docs/openapi.json (lib/openapi.ts); the contract test parses live responses
// with these, so the document, the handlers and these shapes cannot drift apart unnoticed.

const nullable = <T extends ZodMiniType>(schema: T) => z.union([schema, z.null()]);
const jsonObject = z.record(z.string(), z.unknown());

export const submittedJobSchema = z.object({
  job_id: z.string(),
  url: z.string(),
  external_id: nullable(z.string()),
  status: z.enum(JOB_STATUSES),
  duplicate: z.boolean(),
});

export const submitJobsResponseSchema = z.object({
  batch_id: z.string(),
  jobs: z.array(submittedJobSchema),
});

export const errorEnvelopeSchema = z.object({
  error: z.object({
    code: z.enum(Object.keys(API_ERROR_STATUS) as [ApiErrorCode, ...ApiErrorCode[]]),
    message: z.string(),
    details: z.optional(z.array(z.object({ path: z.optional(z.string()), message: z.string() }))),
    request_id: z.string(),
  }),
});

export const jobErrorSchema = z.object({ code: z.string(), message: z.string() });

export const webhookTestResponseSchema = z.object({
  event_id: z.string(),
  event_type: z.literal('webhook.test'),
  /** True when the receiver answered 2xx. */
  delivered: z.boolean(),
  http_status: nullable(z.number()),
  latency_ms: z.number(),
  /** The first bytes (at most 1 KB) of the receiver's answer. */
  response_body: nullable(z.string()),
  /** As in delivery attempts: `http_<status>` for a non-2xx answer, else the network or policy error class. */
  error_class: nullable(z.string()),
  error: nullable(z.string()),
});

export const provenanceSchema = z.object({
  provider: z.string(),
  model_id: z.string(),
  prompt_version: z.string(),
  input_tokens: z.number(),
  output_tokens: z.number(),
  audio_seconds: z.optional(z.number()),
  image_pixels: z.optional(z.number()),
  cost_usd: nullable(z.number()),
  price_table: z.string(),
});
const modelRefSchema = z.object({ provider: z.string(), id: z.string() });
const sourceFileSchema = z.object({ sha256: z.string(), bytes: z.number(), content_type: z.string() });
const modelUsageSchema = z.object({
  input_tokens: z.number(),
  output_tokens: z.number(),
  latency_ms: z.number(),
  audio_seconds: z.optional(z.number()),
  image_pixels: z.optional(z.number()),
});
export const metadataResultSchema = z.union([imageResultSchema, audioResultSchema]);

export const deliverySummarySchema = z.object({
  status: z.enum(['pending', 'delivered', 'failed']),
  attempts: z.number(),
  last_status_code: nullable(z.number()),
  last_error: nullable(z.string()),
  updated_at: nullable(z.string()),
});

export const jobViewSchema = z.object({
  job_id: z.string(),
  batch_id: z.string(),
  status: z.enum(JOB_STATUSES),
  url: z.string(),
  external_id: nullable(z.string()),
  media_type: nullable(z.enum(MEDIA_KINDS)),
  callback_url: z.string(),
  metadata: nullable(jsonObject),
  result: z.optional(metadataResultSchema),
  error: z.optional(jobErrorSchema),
  model: z.optional(modelRefSchema),
  source: z.optional(sourceFileSchema),
  usage: z.optional(modelUsageSchema),
  provenance: z.optional(provenanceSchema),
  options: z.optional(extractionOptionsSchema),
  events: z.optional(z.array(z.enum(WEBHOOK_EVENT_TYPES))),
  created_at: z.string(),
  updated_at: z.string(),
  finished_at: nullable(z.string()),
  delivery: deliverySummarySchema,
});

export const jobListSchema = z.object({
  jobs: z.array(jobViewSchema),
  /** Pass as `cursor` for the next page; null on the last page. */
  next_cursor: nullable(z.string()),
});

export const batchViewSchema = z.object({
  batch_id: z.string(),
  created_at: z.string(),
  total: z.number(),
  duplicates: z.number(),
  completed_at: nullable(z.string()),
  counts: z.object({
    queued: z.number(),
    processing: z.number(),
    completed: z.number(),
    failed: z.number(),
    cancelled: z.number(),
  }),
  metadata: nullable(jsonObject),
  jobs: z.array(jobViewSchema),
});

export const deliveryAttemptSchema = z.object({
  event_id: z.string(),
  event_type: z.string(),
  job_id: nullable(z.string()),
  batch_id: nullable(z.string()),
  attempt: z.number(),
  started_at: z.string(),
  duration_ms: z.number(),
  url: z.string(),
  http_status: nullable(z.number()),
  error_class: nullable(z.string()),
  response_body: nullable(z.string()),
  outcome: z.enum(['delivered', 'retrying', 'failed', 'dead_lettered']),
});

export const jobDeliveriesSchema = z.object({
  job_id: z.string(),
  delivery: deliverySummarySchema,
  attempts: z.array(deliveryAttemptSchema),
});

export const redeliverResponseSchema = z.object({
  job_id: z.string(),
  event_id: z.string(),
  status: z.literal('queued'),
});

const jobEventData = {
  job_id: z.string(),
  batch_id: z.string(),
  external_id: nullable(z.string()),
  url: z.string(),
  media_type: nullable(z.string()),
  model: nullable(modelRefSchema),
  source: nullable(sourceFileSchema),
  metadata: nullable(jsonObject),
};

export const jobCompletedEventSchema = z.object({
  type: z.literal('job.completed'),
  id: z.string(),
  created_at: z.string(),
  data: z.object({ ...jobEventData, result: metadataResultSchema, provenance: nullable(provenanceSchema) }),
});

export const jobFailedEventSchema = z.object({
  type: z.literal('job.failed'),
  id: z.string(),
  created_at: z.string(),
  data: z.object({ ...jobEventData, error: jobErrorSchema }),
});

const batchJobResultSchema = z.object({
  job_id: z.string(),
  external_id: nullable(z.string()),
  url: z.string(),
  status: z.enum(JOB_STATUSES),
  media_type: nullable(z.string()),
  result: z.optional(metadataResultSchema),
  error: z.optional(jobErrorSchema),
  source: nullable(sourceFileSchema),
  provenance: nullable(provenanceSchema),
});

export const batchCompletedEventSchema = z.object({
  type: z.literal('batch.completed'),
  id: z.string(),
  created_at: z.string(),
  data: z.object({
    batch_id: z.string(),
    total: z.number(),
    completed: z.number(),
    failed: z.number(),
    cancelled: z.number(),
    metadata: nullable(jsonObject),
    /** Only when the request chose `events: ["batch.completed"]` alone: each job's outcome, as many as fit. */
    results: z.optional(z.array(batchJobResultSchema)),
    /** The GET that lists the results not inline (same API key); null when all are inline. */
    results_next: z.optional(nullable(z.object({ method: z.literal('GET'), path: z.string() }))),
  }),
});

// ---------- POST /v1/uploads (issue 16): stage a file under the tenant's own prefix ----------

/** Content types an upload may declare: the supported formats' MIME types (without parameters). */
export const UPLOAD_CONTENT_TYPES = [
  'image/jpeg', 'image/png', 'image/gif', 'image/webp',
  'audio/mpeg', 'audio/wav', 'audio/flac', 'audio/ogg', 'audio/mp4', 'audio/aac', 'audio/webm',
] as const;

/** One path segment: starts with a letter or digit (so never `.` or `..`), no separators. */
export const UPLOAD_FILENAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

export const createUploadRequestSchema = z.strictObject({
  filename: z.string().check(
    z.minLength(1),
    z.maxLength(128),
    z.regex(UPLOAD_FILENAME_PATTERN, 'filename must start with a letter or digit and contain only letters, digits and . _ - (at most 128)'),
  ),
  content_type: z.enum(UPLOAD_CONTENT_TYPES),
  /** Exact size of the file: the upload URL is signed for this Content-Length. */
  size_bytes: z.int().check(z.minimum(1), z.maximum(Math.max(extractionLimits.maxImageBytes, extractionLimits.maxAudioBytes))),
});


export const createUploadResponseSchema = z.object({
  /** Submit this as a file `url` to POST /v1/jobs once the upload succeeded. */
  file_url: z.string(),
  upload: z.object({
    method: z.literal('PUT'),
    url: z.string(),
    /** Send exactly these headers with the PUT: the signature covers them. */
    headers: z.record(z.string(), z.string()),
    expires_at: z.string(),
  }),
});

export type CreateUploadResponse = Infer<typeof createUploadResponseSchema>;
export const webhookTestEventSchema = z.object({
  type: z.literal('webhook.test'),
  id: z.string(),
  created_at: z.string(),
  data: z.object({ message: z.string() }),
});
