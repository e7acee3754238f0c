// Domain errors and their stable machine codes. Handlers map ApiError to the error
// envelope; job failure codes travel in job.failed events. No AWS imports here.

/** Codes a caller can see in an API error envelope, with the HTTP status each maps to. */
export const API_ERROR_STATUS = {
  invalid_request: 400,
  missing_api_key: 401,
  invalid_api_key: 403,
  not_found: 404,
  method_not_allowed: 405,
  /** The client sent its request too slowly (local gateway; API Gateway closes the connection). */
  request_timeout: 408,
  idempotency_key_in_progress: 409,
  job_not_cancellable: 409,
  job_not_terminal: 409,
  payload_too_large: 413,
  unsupported_content_type: 415,
  unsupported_media_type: 422,
  idempotency_key_reused: 422,
  callback_url_forbidden: 422,
  /**
   * A file URL the rules refuse, or an s3:// object outside the tenant's media scope (its own
   * tenants/<id>/ prefix and the sources allowed for it). Decided without asking S3, so it is
   * the same answer whether the object exists or not.
   */
  file_url_forbidden: 422,
  rate_limited: 429,
  /** The request line or headers are larger than the gateway accepts. */
  request_headers_too_large: 431,
  quota_exceeded: 429,
  internal_error: 500,
  /** A claim on one of the files belongs to a request still running (or that died < its timeout ago). */
  request_in_progress: 503,
} as const;

export type ApiErrorCode = keyof typeof API_ERROR_STATUS;

export interface ErrorDetail {
  readonly path?: string;
  readonly message: string;
  readonly [key: string]: unknown;
}

/** An error the API reports to its caller as `{"error": {code, message, details?}}`. */
export class ApiError extends Error {
  override readonly name = 'ApiError';
  readonly status: number;
  /** Sent as Retry-After when set: when the same request can succeed. */
  readonly retryAfterSeconds?: number;

  constructor(
    readonly code: ApiErrorCode,
    message: string,
    readonly details?: readonly ErrorDetail[],
    options?: { cause?: unknown; retryAfterSeconds?: number },
  ) {
    super(message, options);
    this.status = API_ERROR_STATUS[code];
    if (options?.retryAfterSeconds !== undefined) this.retryAfterSeconds = options.retryAfterSeconds;
  }
}

/** Codes a job can fail with; they appear in job.failed events and on the job record. */
export const JOB_FAILURE_CODES = [
  'unsupported_media_type',
  /** Also when S3 refuses the read: a missing and a refused object look the same (issue 16). */
  'file_not_found',
  'file_too_large',
  /** Audio longer than the deployment's (or tenant's) maximum duration. */
  'file_too_long',
  /** The bytes are of an accepted type but cannot be decoded (corrupt, truncated, hostile). */
  'file_unreadable',
  'file_fetch_failed',
  /** The extractor's re-check of the tenant scope failed (grant revoked since intake, or a forged message). */
  'file_url_forbidden',
  'model_error',
  'model_invalid_output',
  'model_access_denied',
  'extraction_failed',
] as const;

export type JobFailureCode = (typeof JOB_FAILURE_CODES)[number];

/**
 * Extraction went wrong for good: retrying will not help (bad bytes, forbidden URL,
 * model refused the input). The job fails with `code` and a job.failed event goes out.
 */
export class PermanentJobError extends Error {
  override readonly name = 'PermanentJobError';
  constructor(
    readonly code: JobFailureCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/**
 * Extraction went wrong for now (throttling, 5xx, network): the SQS record is retried later
 * and the job is not failed unless the retries run out. `code` is what the job fails with then.
 */
export class TransientJobError extends Error {
  override readonly name = 'TransientJobError';
  constructor(
    readonly code: JobFailureCode,
    message: string,
    options?: { cause?: unknown; retryAfterSeconds?: number },
  ) {
    super(message, options);
    this.retryAfterSeconds = options?.retryAfterSeconds;
  }
  readonly retryAfterSeconds: number | undefined;
}
