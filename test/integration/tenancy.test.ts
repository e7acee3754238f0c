// Tenant isolation on the embedded stack: a key never reaches another tenant's jobs or
// batches (every jobs route answers 404 as if the id did not exist, and changes nothing), and
// a disabled tenant is refused with invalid_api_key at the gateway and in the handlers.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from '../support/local-harness';
import type { CreatedTenant } from '../../lambdas/core/manage-tenants';
import { disableTenant } from '../../lambdas/core/manage-tenants';
import { createDynamoTenantDirectory } from '../../lambdas/adapters/dynamo/tenant-directory';

let h: Harness;
let a: CreatedTenant;
let b: CreatedTenant;
let jobA: string;
let batchA: string;
let cursorA: string;

async function api(apiKey: string, method: string, path: string, body?: unknown) {
  const response = await fetch(`${h.stack.endpoint}/v1${path}`, {
    method,
    headers: { 'x-api-key': apiKey, ...(body ? { 'content-type': 'application/json' } : {}) },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });
  return { status: response.status, json: (await response.json()) as any };
}

beforeAll(async () => {
  h = await startHarness();
  [a, b] = [await h.stack.createTenant('Tenant A'), await h.stack.createTenant('Tenant B')];
  const files = await Promise.all(['graphic.png', 'photo-iptc.jpg'].map((fixture) => h.upload(fixture, `tenancy/${fixture}`, a.tenant.tenant_id)));
  const submitted = await api(a.apiKey, 'POST', '/jobs', {
    callback_url: `${h.receiver.url}/tenant-a`,
    files: files.map((url) => ({ url })),
  });
  expect(submitted.status).toBe(202);
  jobA = submitted.json.jobs[0].job_id;
  batchA = submitted.json.batch_id;
  // Wait until A's job is finished, so redeliver would be allowed for A itself.
  for (const deadline = Date.now() + 15_000; ; ) {
    const { json } = await api(a.apiKey, 'GET', `/jobs/${jobA}`);
    if (json.status === 'completed' && json.delivery.status === 'delivered') break;
    if (Date.now() > deadline) throw new Error(`job ${jobA} did not finish`);
    await new Promise((resolve) => setTimeout(resolve, 150));
  }
  const page = await api(a.apiKey, 'GET', '/jobs?limit=1');
  cursorA = page.json.next_cursor;
  expect(cursorA).toEqual(expect.any(String));
});

afterAll(async () => {
  await h?.stop();
});

const routesFor = (jobId: string, batchId: string): [string, string][] => [
  ['GET', `/jobs/${jobId}`],
  ['DELETE', `/jobs/${jobId}`],
  ['GET', `/jobs/${jobId}/deliveries`],
  ['POST', `/jobs/${jobId}/redeliver`],
  ['GET', `/batches/${batchId}`],
];

describe('tenant isolation', () => {
  it("the owner reaches its own job and batch (the control for the 404s below)", async () => {
    for (const [method, path] of routesFor(jobA, batchA).filter(([verb]) => verb === 'GET')) {
      expect((await api(a.apiKey, method, path)).status, `${method} ${path}`).toBe(200);
    }
  });

  it("another tenant gets 404 not_found on every route with A's ids, and nothing changes", async () => {
    const deliveriesBefore = h.receiver.received.filter((r) => r.payload?.data.job_id === jobA).length;
    for (const [method, path] of routesFor(jobA, batchA)) {
      const { status, json } = await api(b.apiKey, method, path);
      expect(status, `${method} ${path}`).toBe(404);
      expect(json.error.code).toBe('not_found');
      expect(JSON.stringify(json)).not.toContain(a.tenant.tenant_id);
    }
    // B's redeliver and cancel did nothing to A's job.
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(h.receiver.received.filter((r) => r.payload?.data.job_id === jobA)).toHaveLength(deliveriesBefore);
    const { json } = await api(a.apiKey, 'GET', `/jobs/${jobA}`);
    expect(json.status).toBe('completed');
    expect(json.delivery.attempts).toBe(1);
  });

  it("listings never include another tenant's jobs, even filtered by its batch id", async () => {
    const mine = await api(b.apiKey, 'GET', '/jobs');
    expect(mine.status).toBe(200);
    expect(mine.json.jobs).toEqual([]);
    const byBatch = await api(b.apiKey, 'GET', `/jobs?batch_id=${batchA}`);
    expect(byBatch.status).toBe(200);
    expect(byBatch.json.jobs).toEqual([]);
    const owner = await api(a.apiKey, 'GET', `/jobs?batch_id=${batchA}`);
    expect(owner.json.jobs).toHaveLength(2);
  });

  it("refuses another tenant's cursor instead of paging through A's jobs", async () => {
    const { status, json } = await api(b.apiKey, 'GET', `/jobs?limit=1&cursor=${encodeURIComponent(cursorA)}`);
    expect(status).toBe(400);
    expect(json.error.code).toBe('invalid_request');
    expect((await api(a.apiKey, 'GET', `/jobs?limit=1&cursor=${encodeURIComponent(cursorA)}`)).status).toBe(200);
  });
});

describe('disabled tenants', () => {
  it('a disabled tenant key is refused with 403 invalid_api_key at the local gateway', async () => {
    const c = await h.stack.createTenant('Tenant C');
    expect((await api(c.apiKey, 'GET', '/jobs')).status).toBe(200);
    const tenants = createDynamoTenantDirectory(h.stack.db, { tableName: h.stack.names.table });
    await disableTenant({ apiKeys: h.stack.apiKeys, tenants, now: () => new Date() }, c.tenant.tenant_id);

    for (const [method, path, body] of [
      ['GET', '/jobs', undefined],
      ['GET', `/jobs/${jobA}`, undefined],
      ['POST', '/jobs', { callback_url: `${h.receiver.url}/c`, files: [{ url: 's3://metahook-media/x.png' }] }],
    ] as const) {
      const { status, json } = await api(c.apiKey, method, path, body);
      expect(status, `${method} ${path}`).toBe(403);
      expect(json.error.code).toBe('invalid_api_key');
    }
  });

  it('a tenant disabled in the table is refused by the handlers even while its key is still enabled', async () => {
    const d = await h.stack.createTenant('Tenant D');
    const tenants = createDynamoTenantDirectory(h.stack.db, { tableName: h.stack.names.table });
    await tenants.setStatus(d.tenant.tenant_id, 'disabled');
    expect((await h.stack.apiKeys.resolve(d.apiKey))?.enabled).toBe(true);
    // Every handler behind an API key: jobs API, intake, uploads and the webhook test (callback).
    for (const [method, path, body] of [
      ['GET', '/jobs', undefined],
      ['POST', '/jobs', { callback_url: `${h.receiver.url}/d`, files: [{ url: 's3://metahook-media/x.png' }] }],
      ['POST', '/uploads', { filename: 'x.png', content_type: 'image/png', size_bytes: 100 }],
      ['POST', '/webhooks/test', { callback_url: `${h.receiver.url}/d` }],
    ] as const) {
      const { status, json } = await api(d.apiKey, method, path, body);
      expect(status, `${method} ${path}`).toBe(403);
      expect(json.error.code).toBe('invalid_api_key');
    }
  });
});
