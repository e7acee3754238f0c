// The published API contract: an OpenAPI 3.1 document generated from the zod schemas the
// handlers use (lambdas/core/api-schemas.ts) and the route list the CDK stack and the local
// gateway share (lambdas/jobs-api/routes.ts). Written to docs/openapi.json by
// scripts/write-openapi.ts and served by the local stack at GET /openapi.json.
import { registry, toJSONSchema, type $ZodType } from 'zod/v4/core';
import {
  batchCompletedEventSchema,
  batchViewSchema,
  createUploadRequestSchema,
  createUploadResponseSchema,
  deliveryAttemptSchema,
  deliverySummarySchema,
  errorEnvelopeSchema,
  fileReferenceSchema,
  JOB_STATUSES,
  jobCompletedEventSchema,
  jobDeliveriesSchema,
  jobFailedEventSchema,
  jobListSchema,
  jobViewSchema,
  metadataResultSchema,
  redeliverResponseSchema,
  submitJobsRequestSchema,
  submitJobsResponseSchema,
  submittedJobSchema,
  webhookTestEventSchema,
  webhookTestRequestSchema,
  webhookTestResponseSchema,
} from '../lambdas/core/api-schemas';
import { BATCH_EVENT_MAX_BYTES } from '../lambdas/core/batch-results';
import { API_ERROR_STATUS, type ApiErrorCode } from '../lambdas/core/errors';
import { JOBS_API_ROUTES, splitRoute, WEBHOOK_TEST_ROUTE, type JobsApiRoute } from '../lambdas/jobs-api/routes';
import { resolveSettings } from './settings';

/** Every route of the API: the intake's POST /jobs, the uploads function's POST /uploads, the jobs API's routes and the callback's webhook test. */
export type ApiRoute = 'POST /jobs' | 'POST /uploads' | JobsApiRoute | typeof WEBHOOK_TEST_ROUTE;
export const API_ROUTES: readonly ApiRoute[] = ['POST /jobs', 'POST /uploads', ...JOBS_API_ROUTES, WEBHOOK_TEST_ROUTE];

/** Named component schemas; a schema used by several responses is one $ref. */
export const COMPONENT_SCHEMAS = {
  SubmitJobsRequest: submitJobsRequestSchema,
  FileReference: fileReferenceSchema,
  SubmitJobsResponse: submitJobsResponseSchema,
  SubmittedJob: submittedJobSchema,
  ErrorEnvelope: errorEnvelopeSchema,
  MetadataResult: metadataResultSchema,
  DeliverySummary: deliverySummarySchema,
  JobView: jobViewSchema,
  JobList: jobListSchema,
  BatchView: batchViewSchema,
  DeliveryAttempt: deliveryAttemptSchema,
  JobDeliveries: jobDeliveriesSchema,
  RedeliverResponse: redeliverResponseSchema,
  CreateUploadRequest: createUploadRequestSchema,
  CreateUploadResponse: createUploadResponseSchema,
  JobCompletedEvent: jobCompletedEventSchema,
  JobFailedEvent: jobFailedEventSchema,
  BatchCompletedEvent: batchCompletedEventSchema,
  WebhookTestRequest: webhookTestRequestSchema,
  WebhookTestResult: webhookTestResponseSchema,
  WebhookTestEvent: webhookTestEventSchema,
} as const satisfies Record<string, $ZodType>;

export type ComponentName = keyof typeof COMPONENT_SCHEMAS;

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };

interface Parameter {
  readonly name: string;
  readonly in: 'path' | 'query' | 'header';
  readonly required?: boolean;
  readonly description: string;
  readonly schema: JsonObject;
}

export interface RouteContract {
  readonly operationId: string;
  readonly summary: string;
  readonly description: string;
  readonly parameters?: readonly Parameter[];
  readonly requestBody?: ComponentName;
  readonly success: { readonly status: number; readonly schema: ComponentName; readonly description: string };
  /** Codes this route itself can answer with, besides the ones every route shares. */
  readonly errors: readonly ApiErrorCode[];
}

/** Answered by the gateway or any handler on every route. */
export const COMMON_ERRORS: readonly ApiErrorCode[] = [
  'missing_api_key',
  'invalid_api_key',
  'rate_limited',
  'quota_exceeded',
  'internal_error',
];

const jobIdParameter: Parameter = {
  name: 'job_id',
  in: 'path',
  required: true,
  description: 'A job id from the submit response (`job_...`).',
  schema: { type: 'string' },
};

const api = resolveSettings().api;

export const ROUTE_CONTRACTS: Readonly<Record<ApiRoute, RouteContract>> = {
  'POST /jobs': {
    operationId: 'submitJobs',
    summary: 'Submit media files for metadata extraction',
    description:
      'Queues one job per file and answers at once. Each finished job is POSTed, signed, to `callback_url` ' +
      '(see `webhooks`). The same file URL with the same callback URL within 24 hours is the same job (`duplicate: true`). ' +
      "An `s3://` URL must lie in the tenant's media scope: its own upload prefix (`tenants/<tenant id>/` of the media bucket, " +
      'see POST /uploads) or a source an operator allowed for the tenant; anything else is `file_url_forbidden`, ' +
      'whether or not the object exists.',
    parameters: [
      {
        name: 'Idempotency-Key',
        in: 'header',
        description: 'Replays the first 202 for a retried request with the same body within 24 hours.',
        schema: { type: 'string', minLength: 1, maxLength: 255 },
      },
    ],
    requestBody: 'SubmitJobsRequest',
    success: { status: 202, schema: 'SubmitJobsResponse', description: 'Accepted: one job per file, in the order of `files`.' },
    errors: [
      'invalid_request',
      'idempotency_key_in_progress',
      'payload_too_large',
      'unsupported_content_type',
      'unsupported_media_type',
      'idempotency_key_reused',
      'callback_url_forbidden',
      'file_url_forbidden',
      'unsupported_language',
      'callback_header_forbidden',
    ],
  },
  'POST /uploads': {
    operationId: 'createUpload',
    summary: "Get a presigned URL to stage one file under the tenant's own prefix",
    description:
      'For integrators without a bucket of their own. PUT the file to `upload.url` with exactly `upload.headers` ' +
      `(the signature covers the size and type) within ${api.uploadUrlExpirySeconds / 60} minutes, then submit \`file_url\` to POST /jobs. ` +
      "The key is chosen by Metahook under the tenant's prefix, so an upload never overwrites another. Staged files expire with the bucket's lifecycle rule.",
    requestBody: 'CreateUploadRequest',
    success: { status: 201, schema: 'CreateUploadResponse', description: 'Signed: PUT the file, then submit `file_url`.' },
    errors: ['invalid_request', 'payload_too_large', 'unsupported_content_type', 'unsupported_media_type'],
  },
  'GET /jobs': {
    operationId: 'listJobs',
    summary: "List the caller's jobs, newest first (or a batch's jobs)",
    description: 'Paginated: pass `next_cursor` back as `cursor` until it is null. A cursor only works for the listing that made it.',
    parameters: [
      { name: 'batch_id', in: 'query', description: 'Only the jobs of this batch (in submission order).', schema: { type: 'string' } },
      { name: 'status', in: 'query', description: 'Only jobs in this status.', schema: { type: 'string', enum: [...JOB_STATUSES] } },
      {
        name: 'since',
        in: 'query',
        description: 'Only jobs created at or after this instant (ISO 8601).',
        schema: { type: 'string', format: 'date-time' },
      },
      { name: 'limit', in: 'query', description: 'Page size.', schema: { type: 'integer', minimum: 1, maximum: 100, default: 50 } },
      { name: 'cursor', in: 'query', description: '`next_cursor` of the previous page.', schema: { type: 'string' } },
    ],
    success: { status: 200, schema: 'JobList', description: 'One page of jobs.' },
    errors: ['invalid_request'],
  },
  'GET /jobs/{job_id}': {
    operationId: 'getJob',
    summary: 'Look up a job: status, result or error, source and delivery summary',
    description: 'The polling fallback when a callback has not arrived. Jobs expire after the retention period.',
    parameters: [jobIdParameter],
    success: { status: 200, schema: 'JobView', description: 'The job.' },
    errors: ['not_found'],
  },
  'DELETE /jobs/{job_id}': {
    operationId: 'cancelJob',
    summary: 'Cancel a queued job',
    description: 'The job is not processed and no callback is sent. Refused once the job is processing or finished.',
    parameters: [jobIdParameter],
    success: { status: 200, schema: 'JobView', description: 'The cancelled job.' },
    errors: ['not_found', 'job_not_cancellable'],
  },
  'GET /jobs/{job_id}/deliveries': {
    operationId: 'listJobDeliveries',
    summary: "A job's callback delivery attempts",
    description: 'Every attempt with its HTTP status or error class and the first 1 KB of the response body.',
    parameters: [jobIdParameter],
    success: { status: 200, schema: 'JobDeliveries', description: 'The delivery summary and the attempt log, oldest first.' },
    errors: ['not_found'],
  },
  'POST /jobs/{job_id}/redeliver': {
    operationId: 'redeliverJob',
    summary: "Send a finished job's event again",
    description: 'Queues a fresh delivery of the stored event under the same `webhook-id`, even if it was delivered before.',
    parameters: [jobIdParameter],
    success: { status: 202, schema: 'RedeliverResponse', description: 'The delivery is queued.' },
    errors: ['not_found', 'job_not_terminal'],
  },
  'GET /batches/{batch_id}': {
    operationId: 'getBatch',
    summary: 'A batch with per-status counts and its jobs',
    description: '`jobs` includes the jobs the request matched as duplicates.',
    parameters: [
      { name: 'batch_id', in: 'path', required: true, description: 'A batch id from the submit response (`bat_...`).', schema: { type: 'string' } },
    ],
    success: { status: 200, schema: 'BatchView', description: 'The batch.' },
    errors: ['not_found'],
  },
  'POST /webhooks/test': {
    operationId: 'sendTestWebhook',
    summary: 'Send one signed webhook.test event to a receiver and see the attempt',
    description:
      'Signs a `webhook.test` event with your signing secret and POSTs it to `callback_url` (with `callback_headers`, if given) ' +
      'through the same URL policy and SSRF-safe client as deliveries. Answers 200 with the attempt: `delivered`, ' +
      '`http_status`, `latency_ms`, the first 1 KB of the body and `error_class`. Nothing is retried or stored.',
    requestBody: 'WebhookTestRequest',
    success: { status: 200, schema: 'WebhookTestResult', description: 'The attempt, whatever the receiver answered.' },
    errors: ['invalid_request', 'payload_too_large', 'unsupported_content_type', 'callback_url_forbidden', 'callback_header_forbidden'],
  },
};

/** Error codes a route documents for one HTTP status (common ones included). */
export function documentedErrorCodes(route: ApiRoute): Map<number, ApiErrorCode[]> {
  const byStatus = new Map<number, ApiErrorCode[]>();
  for (const code of [...ROUTE_CONTRACTS[route].errors, ...COMMON_ERRORS]) {
    const status = API_ERROR_STATUS[code];
    byStatus.set(status, [...(byStatus.get(status) ?? []), code]);
  }
  return byStatus;
}

const ref = (name: ComponentName) => ({ $ref: `#/components/schemas/${name}` });

function componentSchemas(): JsonObject {
  const components = registry<{ id: string }>();
  for (const [id, schema] of Object.entries(COMPONENT_SCHEMAS)) components.add(schema as $ZodType, { id });
  // io 'input': response objects stay open (new fields may appear; clients ignore them),
  // while the strict request object keeps additionalProperties: false.
  const generated = toJSONSchema(components, {
    target: 'draft-2020-12',
    io: 'input',
    uri: (id) => `#/components/schemas/${id}`,
  }) as unknown as { schemas: Record<string, JsonObject> };
  return Object.fromEntries(
    Object.entries(generated.schemas).map(([id, schema]) => {
      const { $schema: _schema, $id: _id, ...rest } = schema;
      return [id, rest];
    }),
  );
}

function errorResponses(route: ApiRoute): JsonObject {
  const responses: JsonObject = {};
  for (const [status, codes] of [...documentedErrorCodes(route)].sort(([a], [b]) => a - b)) {
    responses[String(status)] = {
      description: `Error: ${codes.map((code) => `\`${code}\``).join(', ')}`,
      content: {
        'application/json': {
          schema: {
            allOf: [ref('ErrorEnvelope'), { type: 'object', properties: { error: { type: 'object', properties: { code: { enum: codes } } } } }],
          },
        },
      },
    };
  }
  return responses;
}

function operation(route: ApiRoute): JsonObject {
  const contract = ROUTE_CONTRACTS[route];
  return {
    operationId: contract.operationId,
    summary: contract.summary,
    description: contract.description,
    ...(contract.parameters ? { parameters: contract.parameters.map((p) => ({ ...p }) as JsonObject) } : {}),
    ...(contract.requestBody
      ? { requestBody: { required: true, content: { 'application/json': { schema: ref(contract.requestBody) } } } }
      : {}),
    responses: {
      [String(contract.success.status)]: {
        description: contract.success.description,
        headers: { 'x-request-id': { description: 'Quote it when asking for support.', schema: { type: 'string' } } },
        content: { 'application/json': { schema: ref(contract.success.schema) } },
      },
      ...errorResponses(route),
    },
  };
}

const WEBHOOK_HEADERS: JsonObject[] = [
  {
    name: 'webhook-id',
    in: 'header',
    required: true,
    description: 'The same on every attempt and redelivery of one event: de-duplicate on it.',
    schema: { type: 'string' },
  },
  { name: 'webhook-timestamp', in: 'header', required: true, description: 'Unix seconds of this attempt.', schema: { type: 'string' } },
  {
    name: 'webhook-signature',
    in: 'header',
    required: true,
    description: 'Standard Webhooks `v1,<base64 HMAC-SHA256>`; two, space-separated, during a secret rotation.',
    schema: { type: 'string' },
  },
];

function webhook(summary: string, schema: ComponentName): JsonObject {
  return {
    post: {
      summary,
      description:
        'Signed per https://www.standardwebhooks.com with the tenant signing secret. Answer 2xx within 15 seconds; ' +
        'anything else is retried on the documented schedule, except 410 Gone, which stops delivery.',
      security: [],
      parameters: WEBHOOK_HEADERS,
      requestBody: { required: true, content: { 'application/json': { schema: ref(schema) } } },
      responses: {
        '2XX': { description: 'Received.' },
        '410': { description: 'Gone: stop delivering this event.' },
      },
    },
  };
}

export function buildOpenApiDocument(): JsonObject {
  const paths: Record<string, JsonObject> = {};
  for (const route of API_ROUTES) {
    const { method, resource } = splitRoute(route);
    paths[resource] = { ...paths[resource], [method.toLowerCase()]: operation(route) };
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'Metahook API',
      version: '1',
      summary: 'Media metadata extraction with signed webhook callbacks.',
      description:
        'POST references to images and audio files; each file becomes a job whose metadata (description, keywords, ' +
        'caption or summary) is POSTed, signed, to your callback URL. Every error has one envelope with a stable ' +
        `\`code\`. Request bodies are at most ${api.maxBodyBytes} bytes with at most ${api.maxFilesPerRequest} files.`,
    },
    servers: [
      {
        url: 'https://{api_id}.execute-api.{region}.amazonaws.com/v1',
        description: 'AWS (the ApiBaseUrl stack output)',
        variables: { api_id: { default: 'api-id' }, region: { default: 'us-east-1' } },
      },
      { url: 'http://127.0.0.1:3000/v1', description: 'Local stack (npm start)' },
    ],
    security: [{ apiKey: [] }],
    paths,
    webhooks: {
      'job.completed': webhook('A job finished with a result', 'JobCompletedEvent'),
      'job.failed': webhook('A job failed for good', 'JobFailedEvent'),
      'batch.completed': webhook(
        `Every new job of a batch has finished. With \`events: ["batch.completed"]\` alone it carries the jobs' results inline while the body stays within ${BATCH_EVENT_MAX_BYTES} bytes, else a first part and \`results_next\`.`,
        'BatchCompletedEvent',
      ),
      'webhook.test': webhook('Sent only by POST /v1/webhooks/test', 'WebhookTestEvent'),
    },
    components: {
      schemas: componentSchemas(),
      securitySchemes: {
        apiKey: { type: 'apiKey', in: 'header', name: 'x-api-key', description: "The tenant's API key." },
      },
    },
  };
}

/** The document as committed: stable key order, two-space indent, trailing newline. */
export const renderOpenApiDocument = (): string => JSON.stringify(buildOpenApiDocument(), null, 2) + '\n';
