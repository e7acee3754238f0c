// Issue 16, "cross-tenant reads of media", on the embedded stack through the real gateway:
// uploads land under the tenant's own prefix (POST /v1/uploads + the presigned PUT, against the
// S3 emulator), another tenant's key is refused at intake with file_url_forbidden whether or not
// it exists, percent-encoded ../ cannot climb out of a prefix, the extractor re-checks the scope
// for a job that got past intake (old or forged), and per-tenant source grants are managed by the
// tenants CLI. Before issue 16, tenant B submitting A's key got A's file described back.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { SendMessageCommand } from '@aws-sdk/client-sqs';
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import type { CreatedTenant } from '../../lambdas/core/manage-tenants';
import { runCliCapturing } from '../support/cli-capture';
import { FIXTURES, startHarness, type Harness } from '../support/local-harness';
import { verifyPresignedRequest } from '../support/presigned-url';

const PARTNER_BUCKET = 'partner-uploads';
let h: Harness;
let b: CreatedTenant;
let dataDir: string;
/** Tenant A is the stack's development tenant; its staged photo. */
let photoOfA: { fileUrl: string; bytes: Buffer };

type Reply = { status: number; json: any };

async function call(apiKey: string, method: string, path: string, body?: unknown): Promise<Reply> {
  const response = await fetch(`${h.stack.endpoint}/v1${path}`, {
    method,
    headers: { 'x-api-key': apiKey, ...(body ? { 'content-type': 'application/json' } : {}) },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });
  return { status: response.status, json: await response.json() };
}

/** POST /v1/uploads, then the PUT exactly as the answer says. */
async function stage(apiKey: string, fixture: string, filename: string, contentType: string) {
  const bytes = await readFile(join(FIXTURES, fixture));
  const signed = await call(apiKey, 'POST', '/uploads', { filename, content_type: contentType, size_bytes: bytes.byteLength });
  expect(signed.status).toBe(201);
  const put = await fetch(signed.json.upload.url, { method: signed.json.upload.method, headers: signed.json.upload.headers, body: bytes });
  expect(put.status).toBe(200);
  return { fileUrl: signed.json.file_url as string, bytes, signed: signed.json };
}

const submit = (apiKey: string, url: string, callback = '/media') =>
  call(apiKey, 'POST', '/jobs', { callback_url: `${h.receiver.url}${callback}`, files: [{ url }] });

async function finished(jobId: string, tenantId: string): Promise<Record<string, any>> {
  for (const deadline = Date.now() + 20_000; ; ) {
    const job = await h.job(jobId, tenantId);
    if (job && ['completed', 'failed'].includes(job.status)) return job;
    if (Date.now() > deadline) throw new Error(`job ${jobId} stayed ${job?.status}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

const cli = (...argv: string[]) => runCliCapturing(dataDir, argv);

/** The error as a caller sees it, with the one URL it names replaced, and without the request id. */
const shapeOf = (reply: Reply, url: string) =>
  JSON.parse(JSON.stringify({ status: reply.status, error: { ...reply.json.error, request_id: undefined } }).split(url).join('<url>'));

beforeAll(async () => {
  h = await startHarness({ env: { METAHOOK_ALLOWED_SOURCE_BUCKETS: PARTNER_BUCKET } });
  h.stack.fauxqs.createBucket(PARTNER_BUCKET);
  b = await h.stack.createTenant('Tenant B');
  const { fileUrl, bytes } = await stage(h.stack.apiKey, 'photo-iptc.jpg', 'holiday.jpg', 'image/jpeg');
  photoOfA = { fileUrl, bytes };
  dataDir = await mkdtemp(join(tmpdir(), 'metahook-media-'));
  const { endpoint, apiKey, signingSecret, tenantId, s3Endpoint, mediaBucket, dynamoEndpoint, sqsEndpoint, handlerEnv } = h.stack;
  await writeFile(join(dataDir, 'local.json'), JSON.stringify({ endpoint, apiKey, signingSecret, tenantId, s3Endpoint, mediaBucket, dynamoEndpoint, sqsEndpoint, handlerEnv }));
}, 60_000);

afterAll(async () => {
  await h?.stop();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

describe('POST /v1/uploads', () => {
  it("stages a file under the tenant's own prefix, and the returned reference is extracted", async () => {
    expect(photoOfA.fileUrl).toMatch(new RegExp(`^s3://${h.stack.names.mediaBucket}/tenants/${h.stack.tenantId}/uploads/upl_[0-9A-Z]{26}/holiday\\.jpg$`));
    const submitted = await submit(h.stack.apiKey, photoOfA.fileUrl, '/own');
    expect(submitted.status).toBe(202);
    const job = await finished(submitted.json.jobs[0].job_id, h.stack.tenantId);
    expect(job.status).toBe('completed');
    // The bytes the extractor read are the bytes PUT with the presigned URL.
    expect(job.source.sha256).toBe(createHash('sha256').update(photoOfA.bytes).digest('hex'));
  });

  it('signs the exact key, type and size for a short time: S3 would refuse any other PUT', async () => {
    const { signed, bytes } = await stage(h.stack.apiKey, 'graphic.png', 'chart.png', 'image/png');
    const url = new URL(signed.upload.url);
    expect(url.searchParams.get('X-Amz-Algorithm')).toBe('AWS4-HMAC-SHA256');
    expect(url.searchParams.get('X-Amz-SignedHeaders')).toBe('content-length;content-type;host');
    expect(Number(url.searchParams.get('X-Amz-Expires'))).toBe(h.stack.settings.api.uploadUrlExpirySeconds);
    // No SDK checksum of an empty body baked into the URL (it would fail every real upload).
    expect([...url.searchParams.keys()].filter((name) => name.toLowerCase().startsWith('x-amz-checksum'))).toEqual([]);
    expect(signed.upload.headers).toEqual({ 'content-type': 'image/png', 'content-length': String(bytes.byteLength) });
    expect(Date.parse(signed.upload.expires_at) - Date.now()).toBeLessThanOrEqual(h.stack.settings.api.uploadUrlExpirySeconds * 1000);

    // fauxqs checks no signature; this is S3's check, with the stack's (local) credentials.
    const credentials = { accessKeyId: h.stack.env.AWS_ACCESS_KEY_ID ?? 'local', secretAccessKey: h.stack.env.AWS_SECRET_ACCESS_KEY ?? 'local' };
    const as = (change: { url?: string; headers?: Record<string, string>; at?: Date }) =>
      verifyPresignedRequest({ method: 'PUT', url: change.url ?? signed.upload.url, headers: change.headers ?? signed.upload.headers }, credentials, change.at ?? new Date());
    expect(await as({})).toEqual({ ok: true });
    const refused = { ok: false, reason: 'SignatureDoesNotMatch' };
    expect(await as({ headers: { ...signed.upload.headers, 'content-length': String(bytes.byteLength + 1) } })).toEqual(refused);
    expect(await as({ headers: { ...signed.upload.headers, 'content-type': 'text/html' } })).toEqual(refused);
    expect(await as({ url: signed.upload.url.replace(`/tenants/${h.stack.tenantId}/`, `/tenants/${b.tenant.tenant_id}/`) })).toEqual(refused);
    expect(await as({ at: new Date(Date.now() + (h.stack.settings.api.uploadUrlExpirySeconds + 5) * 1000) })).toEqual({ ok: false, reason: 'Expired' });
  });

  it('refuses filenames that could leave the folder or that name another type, with invalid_request / unsupported_media_type', async () => {
    for (const filename of ['../x.jpg', 'a/b.jpg', '.hidden.jpg', '%2e%2e%2fx.jpg']) {
      const reply = await call(b.apiKey, 'POST', '/uploads', { filename, content_type: 'image/jpeg', size_bytes: 10 });
      expect(reply.status, filename).toBe(400);
      expect(reply.json.error.code).toBe('invalid_request');
    }
    const mismatched = await call(b.apiKey, 'POST', '/uploads', { filename: 'song.mp3', content_type: 'image/jpeg', size_bytes: 10 });
    expect(mismatched.json.error.code).toBe('unsupported_media_type');
    const tooBig = await call(b.apiKey, 'POST', '/uploads', { filename: 'a.jpg', content_type: 'image/jpeg', size_bytes: h.stack.settings.extraction.maxImageBytes + 1 });
    expect(tooBig.json.error).toMatchObject({ code: 'invalid_request', details: [expect.objectContaining({ path: 'size_bytes' })] });
  });
});

describe("another tenant's media", () => {
  it("refuses tenant B submitting tenant A's uploaded key with file_url_forbidden, and creates no job", async () => {
    const reply = await submit(b.apiKey, photoOfA.fileUrl);
    expect(reply.status).toBe(422);
    expect(reply.json.error.code).toBe('file_url_forbidden');
    expect(reply.json.error.details).toEqual([{ path: 'files[0].url', message: expect.stringContaining("outside this tenant's media scope") }]);
    expect((await call(b.apiKey, 'GET', '/jobs')).json.jobs).toEqual([]);
  });

  it('answers a missing key of A exactly like an existing one (no existence oracle)', async () => {
    const missing = photoOfA.fileUrl.replace('holiday.jpg', 'never-uploaded.jpg');
    const [existingReply, missingReply] = [await submit(b.apiKey, photoOfA.fileUrl), await submit(b.apiKey, missing)];
    expect(shapeOf(missingReply, missing)).toEqual(shapeOf(existingReply, photoOfA.fileUrl));
  });

  it('refuses percent-encoded ../ from B\'s own prefix into A\'s (the red team\'s two keys)', async () => {
    const [, aKey] = photoOfA.fileUrl.split(`tenants/${h.stack.tenantId}/`);
    for (const climb of ['..%2F', '%2e%2e%2f']) {
      const url = `s3://${h.stack.names.mediaBucket}/tenants/${b.tenant.tenant_id}/${climb}${h.stack.tenantId}/${aKey}`;
      const reply = await submit(b.apiKey, url);
      expect(reply.status, url).toBe(422);
      expect(reply.json.error.code).toBe('file_url_forbidden');
    }
  });

  it('fails, without reading, a job that reached the queue outside its scope (an old job or a forged message)', async () => {
    // B's own, legitimate job is the template; the copy points at A's object and at a
    // pre-issue-16 key at the bucket root, as a job accepted before the scope existed would.
    const own = await stage(b.apiKey, 'graphic.png', 'mine.png', 'image/png');
    const submitted = await submit(b.apiKey, own.fileUrl, '/b-own');
    const template = await finished(submitted.json.jobs[0].job_id, b.tenant.tenant_id);
    expect(template.status).toBe('completed');
    await h.stack.s3.send(new PutObjectCommand({ Bucket: h.stack.names.mediaBucket, Key: 'legacy/root.png', Body: own.bytes }));
    for (const [suffix, url] of [['cross', photoOfA.fileUrl], ['legacy', `s3://${h.stack.names.mediaBucket}/legacy/root.png`]] as const) {
      const jobId = `${template.job_id}${suffix}`;
      const { result: _result, source: _source, lease_until: _lease, ...copy } = template;
      await h.stack.db.send(
        new PutCommand({
          TableName: h.stack.names.table,
          Item: { ...copy, pk: `TENANT#${b.tenant.tenant_id}#JOB#${jobId}`, job_id: jobId, url, status: 'queued', gsi1sk: jobId },
        }),
      );
      await h.stack.sqs.send(new SendMessageCommand({ QueueUrl: h.stack.queueUrls.jobs, MessageBody: JSON.stringify({ tenant_id: b.tenant.tenant_id, job_id: jobId }) }));
      const job = await finished(jobId, b.tenant.tenant_id);
      expect(job.status, suffix).toBe('failed');
      expect(job.error.code, suffix).toBe('file_url_forbidden');
      expect(job.source, suffix).toBeUndefined();
    }
  });
});

describe('per-tenant source grants (tenants CLI)', () => {
  it('lets only the granted tenant reference a partner prefix, shows the grant, and revokes it', async () => {
    const key = `c/${Date.now()}/partner.png`;
    await h.stack.s3.send(new PutObjectCommand({ Bucket: PARTNER_BUCKET, Key: key, Body: await readFile(join(FIXTURES, 'graphic.png')) }));
    const url = `s3://${PARTNER_BUCKET}/${key}`;
    // Allowlisted for the deployment, but granted to nobody yet.
    expect((await submit(b.apiKey, url)).json.error.code).toBe('file_url_forbidden');

    // A tenant that has not called the API yet, so no warm Lambda holds its record.
    const c = await h.stack.createTenant('Tenant C');
    const allowed = await cli('tenants', 'allow-source', '--tenant', c.tenant.tenant_id, '--source', `s3://${PARTNER_BUCKET}/c/`);
    expect(allowed.code, allowed.stderr).toBe(0);
    expect(allowed.stdout).toContain(`s3://${PARTNER_BUCKET}/c/`);
    expect(allowed.stdout).toContain(`s3://${h.stack.names.mediaBucket}/tenants/${c.tenant.tenant_id}/`);
    const listed = JSON.parse((await cli('tenants', 'list', '--format', 'json')).stdout);
    expect(listed.find((t: any) => t.tenant_id === c.tenant.tenant_id).media_sources).toEqual([{ bucket: PARTNER_BUCKET, prefix: 'c/' }]);
    expect(listed.find((t: any) => t.tenant_id === b.tenant.tenant_id).media_sources).toEqual([]);
    expect((await cli('tenants', 'list')).stdout).toContain(`s3://${PARTNER_BUCKET}/c/`);

    const granted = await submit(c.apiKey, url, '/partner');
    expect(granted.status).toBe(202);
    expect((await finished(granted.json.jobs[0].job_id, c.tenant.tenant_id)).status).toBe('completed');
    expect((await submit(b.apiKey, url)).json.error.code).toBe('file_url_forbidden');
    expect((await submit(h.stack.apiKey, url)).json.error.code).toBe('file_url_forbidden');

    expect((await cli('tenants', 'revoke-source', '--tenant', c.tenant.tenant_id, '--source', `s3://${PARTNER_BUCKET}/c/`)).code).toBe(0);
    // Warm Lambdas trust a tenant lookup for 30 s (lambdas/adapters/dynamo/table-ports.ts): a revoke lands within that.
    await expect.poll(async () => (await submit(c.apiKey, url, '/partner-revoked')).status, { timeout: 45_000, interval: 1_000 }).toBe(422);
  }, 100_000);

  it('refuses a grant on the media bucket or on a bucket the deployment cannot read', async () => {
    const media = await cli('tenants', 'allow-source', '--tenant', b.tenant.tenant_id, '--source', `s3://${h.stack.names.mediaBucket}/tenants/${h.stack.tenantId}/`);
    expect(media.code).toBe(1);
    expect(media.stderr).toContain('is the media bucket');
    const unknown = await cli('tenants', 'allow-source', '--tenant', b.tenant.tenant_id, '--source', 's3://somebody-elses-bucket/');
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('add it to allowedSourceBuckets');
    expect((await cli('tenants', 'allow-source', '--tenant', b.tenant.tenant_id)).code).toBe(2);
  });
});
