// Adapter: UploadSigner as an S3 SigV4 presigned PutObject (@aws-sdk/s3-request-presigner).
// Content-Type and Content-Length are signed headers, not hoisted into the query: S3 recomputes
// the signature from the request it receives, so a PUT of another size or type, or to another
// key, fails with SignatureDoesNotMatch, and one after X-Amz-Expires with AccessDenied
// (https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-query-string-auth.html). A presigned
// URL acts with the signer's credentials: the uploads role may s3:PutObject on tenants/* only.
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import type { UploadSigner } from '../core/ports';

/** The headers the signature covers besides host, as the client must send them. */
export const SIGNED_UPLOAD_HEADERS = ['content-length', 'content-type'] as const;

export function createS3UploadSigner(s3: S3Client, bucket: string): UploadSigner {
  return {
    async presignPut({ key, contentType, contentLength, expiresInSeconds }) {
      const command = new PutObjectCommand({ Bucket: bucket, Key: key, ContentType: contentType, ContentLength: contentLength });
      const url = await getSignedUrl(s3, command, { expiresIn: expiresInSeconds, signableHeaders: new Set(SIGNED_UPLOAD_HEADERS) });
      return { url, headers: { 'content-type': contentType, 'content-length': String(contentLength) } };
    },
  };
}
