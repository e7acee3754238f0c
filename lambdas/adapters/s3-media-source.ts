// Adapter: MediaSource for s3:// URLs. Only the job's tenant scope is readable (its own prefix of
// the media bucket and its allowed sources, lambdas/core/media-scope.ts), inside what IAM lets the
// extractor read at all; the read stops at the byte cap. A missing object and one S3 refuses give
// the caller the same code and words, so job results are no oracle for which keys exist.
import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { PermanentJobError, TransientJobError } from '../core/errors';
import type { FetchedMedia, MediaSource } from '../core/ports';
import type { SourcePolicy } from '../runtime-config';
import { checkMediaScope } from '../core/media-scope';
import { checkS3Location } from '../core/url-policy';

async function readCapped(body: AsyncIterable<Uint8Array>, maxBytes: number): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  let total = 0;
  for await (const chunk of body) {
    total += chunk.byteLength;
    if (total > maxBytes) throw new PermanentJobError('file_too_large', `file is larger than ${maxBytes} bytes`);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks, total);
}

export function createS3MediaSource(s3: S3Client, sources: SourcePolicy): MediaSource {
  return {
    async fetch(url, { maxBytes, scope }): Promise<FetchedMedia> {
      // The same parser, allowlist and tenant scope as intake, so the reader never reads a different key.
      const checked = checkS3Location(url, sources);
      if (!checked.ok) throw new PermanentJobError('file_url_forbidden', checked.reason);
      const location = { bucket: checked.bucket!, key: checked.key! };
      if (!scope) throw new PermanentJobError('file_url_forbidden', `no tenant scope to read s3://${location.bucket}/${location.key} under`);
      const inScope = checkMediaScope(location, scope, sources);
      if (!inScope.ok) throw new PermanentJobError('file_url_forbidden', inScope.reason);
      const unavailable = `s3://${location.bucket}/${location.key} does not exist or Metahook may not read it`;
      try {
        const object = await s3.send(new GetObjectCommand({ Bucket: location.bucket, Key: location.key }));
        if (object.ContentLength !== undefined && object.ContentLength > maxBytes) {
          object.Body?.transformToWebStream().cancel().catch(() => undefined);
          throw new PermanentJobError('file_too_large', `file is ${object.ContentLength} bytes, more than ${maxBytes}`);
        }
        const bytes = await readCapped(object.Body as AsyncIterable<Uint8Array>, maxBytes);
        return {
          bytes,
          ...(object.ContentType ? { contentType: object.ContentType } : {}),
          s3Location: location,
        };
      } catch (error) {
        if (error instanceof PermanentJobError) throw error;
        const name = error instanceof Error ? error.name : '';
        const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
        // S3 itself answers 403 for a missing key when the reader may not list the bucket
        // (https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetObject.html, "Permissions"):
        // one answer for both, so neither S3's nor a bucket policy's refusal tells what exists.
        const missingOrRefused =
          name === 'NoSuchKey' || name === 'NotFound' || name === 'NoSuchBucket' || name === 'AccessDenied' || status === 404 || status === 403;
        if (missingOrRefused) throw new PermanentJobError('file_not_found', unavailable, { cause: error });
        throw new TransientJobError('file_fetch_failed', `reading s3://${location.bucket}/${location.key} failed: ${name || 'error'}`, { cause: error });
      }
    },
  };
}

/** Routes s3:// URLs to S3 and everything else to the guarded HTTP source. */
export function createMediaSource(routes: { s3: MediaSource; http: MediaSource }): MediaSource {
  return {
    fetch: (url, options) => (url.startsWith('s3://') ? routes.s3.fetch(url, options) : routes.http.fetch(url, options)),
  };
}
