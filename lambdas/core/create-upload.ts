// Use case: uploads handler -> createUpload -> UploadSigner (issue 16).
// Hands an integrator without a bucket of its own a short-lived URL to PUT one file into the
// media bucket under its tenant's prefix, and the s3:// reference to submit afterwards. The key
// is chosen here (a fresh id, the caller's filename as the last segment), never by the caller,
// so one tenant can neither write into another's prefix nor overwrite an earlier upload.
import type { Settings } from '../../lib/settings';
import { createUploadRequestSchema, type CreateUploadResponse } from './api-schemas';
import { ApiError } from './errors';
import { tenantMediaPrefix } from './media-scope';
import { inferKindFromUrl } from './media-type';
import type { UploadSigner } from './ports';

export interface CreateUploadDeps {
  readonly signer: UploadSigner;
  readonly mediaBucket: string;
  readonly settings: Settings;
  readonly now: () => Date;
  readonly newUploadId: () => string;
}

export async function createUpload(
  deps: CreateUploadDeps,
  command: { readonly tenantId: string; readonly body: unknown },
): Promise<CreateUploadResponse> {
  const parsed = createUploadRequestSchema.safeParse(command.body);
  if (!parsed.success) {
    throw new ApiError(
      'invalid_request',
      'The request body does not match the API contract.',
      // A flat object: the path is one field name (submit-jobs' formatPath would pull in the URL rules).
      parsed.error.issues.slice(0, 20).map((issue) => ({ path: issue.path.map(String).join('.'), message: issue.message })),
    );
  }
  const request = parsed.data;
  const kind = request.content_type.startsWith('image/') ? 'image' : 'audio';
  // POST /v1/jobs judges a file by its extension first: refuse now what it would refuse then.
  const named = inferKindFromUrl(request.filename);
  if (named !== undefined && named !== kind) {
    throw new ApiError('unsupported_media_type', `filename ${request.filename} does not name a ${kind} file of type ${request.content_type}.`, [
      { path: 'filename', message: `use an extension that matches ${request.content_type}` },
    ]);
  }
  const maxBytes = kind === 'image' ? deps.settings.extraction.maxImageBytes : deps.settings.extraction.maxAudioBytes;
  if (request.size_bytes > maxBytes) {
    throw new ApiError('invalid_request', `A ${kind} file may be at most ${maxBytes} bytes.`, [
      { path: 'size_bytes', message: `at most ${maxBytes} for ${kind} files` },
    ]);
  }

  const key = `${tenantMediaPrefix(command.tenantId)}uploads/${deps.newUploadId()}/${request.filename}`;
  const expiresInSeconds = deps.settings.api.uploadUrlExpirySeconds;
  const signedAt = deps.now();
  const upload = await deps.signer.presignPut({ key, contentType: request.content_type, contentLength: request.size_bytes, expiresInSeconds });
  return {
    file_url: `s3://${deps.mediaBucket}/${key}`,
    upload: {
      method: 'PUT',
      url: upload.url,
      headers: { ...upload.headers },
      expires_at: new Date(signedAt.getTime() + expiresInSeconds * 1000).toISOString(),
    },
  };
}
