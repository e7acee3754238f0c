// The extractor's S3 reader (lambdas/adapters/s3-media-source.ts), issue 16: it re-checks the job's
// tenant scope before any GetObject, so a forged or old queue message cannot read another
// tenant's object, and it answers a missing object and one S3 refuses with the same code and words.
import { describe, expect, it } from 'vitest';
import { mockClient } from 'aws-sdk-client-mock';
import { GetObjectCommand, NoSuchKey, S3Client, S3ServiceException } from '@aws-sdk/client-s3';
import { Readable } from 'node:stream';
import { createS3MediaSource } from '../../lambdas/adapters/s3-media-source';
import { PermanentJobError } from '../../lambdas/core/errors';
import type { MediaScope } from '../../lambdas/core/media-scope';

const SOURCES = { mediaBucket: 'metahook-media', allowedSourceBuckets: ['partner-uploads'] };
const B: MediaScope = { tenantId: 'ten_B', grants: [{ bucket: 'partner-uploads', prefix: 'b/' }] };
const source = () => createS3MediaSource(new S3Client({ region: 'us-east-1' }), SOURCES);

async function failureOf(promise: Promise<unknown>): Promise<PermanentJobError> {
  const error = await promise.then(() => undefined, (e: unknown) => e);
  expect(error).toBeInstanceOf(PermanentJobError);
  return error as PermanentJobError;
}

// The reader only iterates the body; a Node stream is what the SDK hands over on Node.
const bodyOf = (text: string) => Readable.from([Buffer.from(text)]) as never;

const meta = (status: number) => ({ $metadata: { httpStatusCode: status }, $fault: 'client' as const });

describe('createS3MediaSource', () => {
  it('reads an object inside the scope', async () => {
    const s3 = mockClient(S3Client);
    s3.on(GetObjectCommand).resolves({ Body: bodyOf('png!'), ContentType: 'image/png' });
    const fetched = await source().fetch('s3://metahook-media/tenants/ten_B/a.png', { maxBytes: 100, scope: B });
    expect(Buffer.from(fetched.bytes).toString()).toBe('png!');
    expect(s3).toHaveReceivedCommandWith(GetObjectCommand, { Bucket: 'metahook-media', Key: 'tenants/ten_B/a.png' });
  });

  it.each([
    ['another tenant\'s upload', 's3://metahook-media/tenants/ten_A/a.png', B],
    ['a pre-issue-16 key at the bucket root', 's3://metahook-media/a.png', B],
    ['a bucket prefix without a grant', 's3://partner-uploads/a/x.png', B],
    ['an encoded ../ out of the own prefix', 's3://metahook-media/tenants/ten_B/..%2Ften_A/a.png', B],
    ['no scope at all', 's3://metahook-media/tenants/ten_B/a.png', undefined],
  ])('refuses %s with file_url_forbidden and never calls S3', async (_what, url, scope) => {
    const s3 = mockClient(S3Client);
    s3.on(GetObjectCommand).resolves({ Body: bodyOf('secret') });
    const failure = await failureOf(source().fetch(url, { maxBytes: 100, ...(scope ? { scope } : {}) }));
    expect(failure.code).toBe('file_url_forbidden');
    expect(s3.commandCalls(GetObjectCommand)).toHaveLength(0);
  });

  it('answers a missing object, a missing bucket and an S3 refusal identically (no existence oracle)', async () => {
    const outcomes = [];
    for (const error of [
      new NoSuchKey({ message: 'The specified key does not exist.', ...meta(404) }),
      new S3ServiceException({ name: 'NoSuchBucket', message: 'no bucket', ...meta(404) }),
      // S3 answers 403 for a missing key when the reader may not s3:ListBucket.
      new S3ServiceException({ name: 'AccessDenied', message: 'Access Denied', ...meta(403) }),
    ]) {
      const s3 = mockClient(S3Client);
      s3.on(GetObjectCommand).rejects(error);
      const failure = await failureOf(source().fetch('s3://partner-uploads/b/x.png', { maxBytes: 100, scope: B }));
      outcomes.push({ code: failure.code, message: failure.message });
    }
    expect(outcomes[0]).toEqual({ code: 'file_not_found', message: 's3://partner-uploads/b/x.png does not exist or Metahook may not read it' });
    expect(outcomes[1]).toEqual(outcomes[0]);
    expect(outcomes[2]).toEqual(outcomes[0]);
  });
});
