// The public API's request and response shapes (zod/mini keeps handler bundles small).
// The OpenAPI document and the API Gateway request model are generated from these.
import { z, type Infer } from './zod';
import { resolveSettings } from '../../lib/settings';

const limits = resolveSettings().api;

export const MEDIA_KINDS = ['image', 'audio'] as const;
export type MediaKind = (typeof MEDIA_KINDS)[number];

export const EXTERNAL_ID_PATTERN = /^[A-Za-z0-9._:@\/+=-]+$/;

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

export const submitJobsRequestSchema = z.strictObject({
  callback_url: z.string().check(z.minLength(1), z.maxLength(limits.maxUrlLength)),
  files: z
    .array(fileReferenceSchema)
    .check(
      z.minLength(1, 'files must list at least one file'),
      z.maxLength(limits.maxFilesPerRequest, `files may list at most ${limits.maxFilesPerRequest} files`),
    ),
  metadata: z.optional(z.record(z.string(), z.unknown())),
});

export type FileReference = Infer<typeof fileReferenceSchema>;
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
