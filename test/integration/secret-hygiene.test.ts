// Secret hygiene over a full run of the embedded stack with DEBUG logs and metrics on: the
// tenant's API key and webhook signing secret (in every spelling: whsec_..., its base64 body,
// the raw key as hex or base64url) never appear in anything the process writes, in webhook
// payloads or headers (other than the signature they produce), in stored items (the tenant's
// included: its secret is stored sealed), in dead-letter
// messages, or in API responses, including error responses.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import { keys } from '../../lambdas/adapters/dynamo/keys';
import { startHarness, type Harness } from '../support/local-harness';
import { captureProcessOutput } from '../support/process-output';
import { until } from '../support/until';
import type { ReceivedWebhook } from '../../local/webhook-receiver';

let h: Harness;
const output: string[] = [];
const responses: { what: string; status: number; headers: string; body: string }[] = [];
const jobIds: Record<'delivered' | 'callbackFails' | 'jobFails', string> = { delivered: '', callbackFails: '', jobFails: '' };

/** Every spelling of the two secrets that would count as a leak. */
function secretSpellings(): Record<string, string> {
  const secretBody = h.stack.signingSecret.slice('whsec_'.length);
  const rawKey = Buffer.from(secretBody, 'base64');
  return {
    'API key': h.stack.apiKey,
    'signing secret': h.stack.signingSecret,
    'signing secret base64 body': secretBody,
    'signing key hex': rawKey.toString('hex'),
    'signing key base64url': rawKey.toString('base64url'),
  };
}

/** Where each spelling occurs in `text`, with the secret masked so a failure report does not leak it. */
function leaksIn(label: string, text: string): string[] {
  const spellings = Object.entries(secretSpellings()).sort(([, a], [, b]) => b.length - a.length);
  const mask = (excerpt: string) => spellings.reduce((masked, [name, value]) => masked.replaceAll(value, `<${name}>`), excerpt);
  const found: string[] = [];
  for (const [name, value] of spellings) {
    const at = text.indexOf(value);
    if (at === -1) continue;
    // Generous margins, then masked: a partial secret at the excerpt's edge is cut off by the slice below.
    const excerpt = mask(text.slice(Math.max(0, at - 200), at + value.length + 200));
    found.push(`${name} in ${label}: ...${excerpt.slice(Math.max(0, excerpt.indexOf(`<${name}>`) - 80), excerpt.indexOf(`<${name}>`) + name.length + 42)}...`);
  }
  return found;
}

async function call(what: string, path: string, init: RequestInit = {}, apiKey: string | null = h.stack.apiKey): Promise<any> {
  const headers = new Headers(init.headers);
  if (apiKey !== null) headers.set('x-api-key', apiKey);
  if (init.body !== undefined && !headers.has('content-type')) headers.set('content-type', 'application/json');
  const response = await fetch(`${h.stack.endpoint}${path}`, { ...init, headers });
  const body = await response.text();
  responses.push({ what, status: response.status, headers: JSON.stringify([...response.headers]), body });
  return { status: response.status, json: body ? JSON.parse(body) : undefined };
}

const submit = (what: string, body: unknown, headers: Record<string, string> = {}) =>
  call(what, '/v1/jobs', { method: 'POST', body: JSON.stringify(body), headers });

const jobEvent = (all: ReceivedWebhook[], jobId: string) => all.filter((r) => r.payload?.data?.job_id === jobId);

let restoreOutput: () => void = () => undefined;

beforeAll(async () => {
  restoreOutput = captureProcessOutput(output);
  h = await startHarness({
    env: { POWERTOOLS_LOG_LEVEL: 'DEBUG', POWERTOOLS_METRICS_DISABLED: 'false', METAHOOK_RETRY_SCHEDULE: '1,1' },
  });
  h.receiver.reply = (request) => (request.path.startsWith('/fails') ? { status: 500, body: 'receiver is down' } : { status: 200 });

  const photo = await h.upload('graphic.png', 'hygiene/photo.png');
  const other = await h.upload('image.webp', 'hygiene/other.webp');
  const ok = await submit('accepted submission', { callback_url: `${h.receiver.url}/ok`, files: [{ url: photo }], metadata: { ref: 'A-1' } }, {
    'idempotency-key': 'hygiene-1',
  });
  const failing = await submit('submission with failing callback', { callback_url: `${h.receiver.url}/fails`, files: [{ url: other }] });
  const missing = await submit('submission of a missing file', {
    callback_url: `${h.receiver.url}/ok`,
    files: [{ url: `s3://${h.stack.names.mediaBucket}/tenants/${h.stack.tenantId}/hygiene/absent.png` }],
  });
  jobIds.delivered = ok.json.jobs[0].job_id;
  jobIds.callbackFails = failing.json.jobs[0].job_id;
  jobIds.jobFails = missing.json.jobs[0].job_id;

  await h.receiver.waitFor(
    (all) =>
      jobEvent(all, jobIds.delivered).length >= 1 &&
      jobEvent(all, jobIds.jobFails).length >= 1 &&
      jobEvent(all, jobIds.callbackFails).length >= 3,
    30_000,
  );
  await until(async () => (await h.job(jobIds.callbackFails))?.delivery?.status === 'failed', 10_000);

  // Reads and refusals, including every gateway-level error.
  await call('get job', `/v1/jobs/${jobIds.delivered}`);
  await call('list jobs', '/v1/jobs');
  await call('list deliveries', `/v1/jobs/${jobIds.callbackFails}/deliveries`);
  await call('get batch', `/v1/batches/${ok.json.batch_id}`);
  await call('redeliver', `/v1/jobs/${jobIds.delivered}/redeliver`, { method: 'POST' });
  await call('unknown job', '/v1/jobs/job_00000000000000000000000000');
  await submit('invalid body', { callback_url: 7, files: [] });
  await submit('forbidden callback', { callback_url: 'https://169.254.169.254/', files: [{ url: photo }] });
  await submit('idempotency key reused', { callback_url: `${h.receiver.url}/ok`, files: [{ url: other }] }, { 'idempotency-key': 'hygiene-1' });
  await call('wrong content type', '/v1/jobs', { method: 'POST', body: 'x=1', headers: { 'content-type': 'text/plain' } });
  await call('missing API key', '/v1/jobs', { method: 'POST', body: '{}' }, null);
  // A near miss of the real key: the refusal must not echo what was presented.
  await call('wrong API key', '/v1/jobs', { method: 'POST', body: '{}' }, `${h.stack.apiKey}x`);
  await call('no route', '/v1/nowhere');
  await h.receiver.waitFor((all) => jobEvent(all, jobIds.delivered).length >= 2, 10_000);
}, 90_000);

afterAll(async () => {
  await h?.stop();
  restoreOutput();
});

describe('secret hygiene over a full run', () => {
  it('captured the run it claims to check', () => {
    const all = output.join('');
    // Booleans, not toContain: a failure must not print the captured output into the test log.
    expect(process.env.POWERTOOLS_LOG_LEVEL).toBe('DEBUG');
    // Logs of every SQS/API handler that logs on success, and EMF metrics, reached the capture.
    for (const service of ['metahook-intake', 'metahook-extractor', 'metahook-callback']) {
      expect(all.includes(`"service":"${service}"`), `logs of ${service} captured`).toBe(true);
    }
    expect(all.includes('"_aws":{'), 'EMF metrics captured').toBe(true);
    expect(responses.map((r) => r.status)).toEqual(expect.arrayContaining([202, 200, 400, 401, 403, 404, 415, 422]));
    expect(h.receiver.received.some((r) => r.payload?.type === 'job.failed')).toBe(true);
    expect(jobEvent(h.receiver.received, jobIds.callbackFails).length).toBeGreaterThanOrEqual(3);
  });

  it('writes no secret to stdout, stderr or the console (logs and metrics)', () => {
    expect(leaksIn('process output', output.join('\n'))).toEqual([]);
  });

  it('puts no secret in webhook payloads or headers other than the signature', () => {
    const leaks = h.receiver.received.flatMap((request, i) => {
      const { 'webhook-signature': signature, ...headers } = request.headers;
      expect(signature).toMatch(/^v1,/);
      return [...leaksIn(`webhook ${i} body`, request.body), ...leaksIn(`webhook ${i} headers`, JSON.stringify(headers))];
    });
    expect(leaks).toEqual([]);
  });

  it('returns no secret in any API response, success or error', () => {
    const leaks = responses.flatMap((r) => leaksIn(`${r.what} (${r.status})`, `${r.headers}\n${r.body}`));
    expect(leaks).toEqual([]);
  });

  it('stores no secret in tenant, job, batch, attempt, dedupe or idempotency items, nor the API key anywhere', async () => {
    const items = await h.scanTable();
    const tenantKey = keys.tenant(h.stack.tenantId);
    const isTenantItem = (item: Record<string, unknown>) => item.pk === tenantKey.pk && item.sk === tenantKey.sk;
    // The tenant item holds the signing secret sealed (KMS envelope encryption, opened by the
    // callback only): no spelling of it, nor the API key, is readable there.
    const tenantItems = items.filter(isTenantItem);
    expect(tenantItems).toHaveLength(1);
    expect(JSON.stringify(tenantItems[0])).toContain('metahook:sealed:v1:');
    expect(leaksIn('tenant item', JSON.stringify(tenantItems[0]))).toEqual([]);
    expect(JSON.stringify(items).includes('whsec_'), 'no whsec_ anywhere in the table').toBe(false);

    const others = items.filter((item) => !isTenantItem(item));
    expect(others.some((item) => String(item.sk).startsWith('ATTEMPT#'))).toBe(true);
    expect(others.some((item) => item.sk === 'JOB')).toBe(true);
    expect(others.flatMap((item) => leaksIn(`item ${String(item.pk)} ${String(item.sk)}`, JSON.stringify(item)))).toEqual([]);

    // The local API-key store keeps a hash of the key, never the key.
    const { Items: keyItems = [] } = await h.stack.db.send(new ScanCommand({ TableName: h.stack.names.apiKeysTable }));
    expect(keyItems.length).toBeGreaterThan(0);
    expect(keyItems.flatMap((item) => leaksIn('API key store', JSON.stringify(item)))).toEqual([]);
  });

  it('puts no secret in dead-lettered messages', async () => {
    const messages: string[] = [];
    for (const queueUrl of [h.stack.queueUrls.jobsDeadLetter, h.stack.queueUrls.deliveriesDeadLetter]) {
      const { Messages = [] } = await h.stack.sqs.send(
        new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, MessageAttributeNames: ['All'], VisibilityTimeout: 0, WaitTimeSeconds: 1 }),
      );
      messages.push(...Messages.map((m) => JSON.stringify({ body: m.Body, attributes: m.MessageAttributes })));
    }
    // The failing callback was dead-lettered, so there is at least one message to inspect.
    expect(messages.some((m) => m.includes(jobIds.callbackFails))).toBe(true);
    expect(messages.flatMap((m, i) => leaksIn(`dead letter ${i}`, m))).toEqual([]);
  });
});
