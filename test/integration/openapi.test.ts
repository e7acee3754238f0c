// Contract test: the live local API against docs/openapi.json. Every documented operation is
// called; every answer must be documented for that operation and status, and must parse with
// the zod schema the document was generated from, with no undocumented fields.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startHarness, FIXTURES, type Harness } from '../support/local-harness';
import { API_ROUTES, COMPONENT_SCHEMAS, ROUTE_CONTRACTS, type ApiRoute } from '../../lib/openapi';
import { splitRoute } from '../../lambdas/jobs-api/routes';
import { z } from '../../lambdas/core/zod';

let h: Harness;
let document: any;
/** `METHOD /resource status` of every validated answer. */
const exercised = new Set<string>();

// A file server that holds its answer until released: keeps the single extractor busy so a
// later job stays queued long enough to be cancelled.
let slowServer: Server;
let slowUrl: string;
let releaseSlow: () => void = () => undefined;
let slowRequested: Promise<void>;

beforeAll(async () => {
  h = await startHarness({ concurrency: { extractor: 1 } });
  document = JSON.parse(await readFile(join(import.meta.dirname, '..', '..', 'docs', 'openapi.json'), 'utf8'));
  const png = await readFile(join(FIXTURES, 'graphic.png'));
  const released = new Promise<void>((resolve) => (releaseSlow = resolve));
  let requested!: () => void;
  slowRequested = new Promise<void>((resolve) => (requested = resolve));
  slowServer = createServer(async (_req, res) => {
    requested();
    await released;
    res.writeHead(200, { 'content-type': 'image/png' });
    res.end(png);
  });
  await new Promise<void>((resolve) => slowServer.listen(0, '127.0.0.1', resolve));
  slowUrl = `http://127.0.0.1:${(slowServer.address() as AddressInfo).port}/held.png`;
});

afterAll(async () => {
  releaseSlow();
  slowServer?.closeAllConnections();
  await new Promise((resolve) => slowServer?.close(resolve));
  await h?.stop();
});

interface CallOptions {
  readonly body?: unknown;
  readonly rawBody?: string;
  readonly headers?: Record<string, string>;
  readonly key?: string | null;
  readonly query?: Record<string, string>;
}

/** Calls a documented route and checks the answer against the document and the zod schemas. */
async function call(route: ApiRoute, params: Record<string, string>, options: CallOptions = {}) {
  const { method, resource } = splitRoute(route);
  const path = resource.replace(/\{(\w+)\}/g, (_, name: string) => encodeURIComponent(params[name]!));
  const query = options.query ? `?${new URLSearchParams(options.query)}` : '';
  const key = options.key === undefined ? h.stack.apiKey : options.key;
  const response = await fetch(`${h.stack.endpoint}/v1${path}${query}`, {
    method,
    headers: {
      ...(key ? { 'x-api-key': key } : {}),
      ...(options.body !== undefined || options.rawBody !== undefined ? { 'content-type': 'application/json' } : {}),
      ...options.headers,
    },
    ...(options.rawBody !== undefined ? { body: options.rawBody } : options.body !== undefined ? { body: JSON.stringify(options.body) } : {}),
  });
  const json = (await response.json()) as any;
  const status = response.status;

  const documented = document.paths[resource]?.[method.toLowerCase()]?.responses?.[String(status)];
  expect(documented, `${route} answered ${status}, which the document does not list`).toBeDefined();
  expect(response.headers.get('content-type')).toContain('application/json');
  const contract = ROUTE_CONTRACTS[route];
  if (status === contract.success.status) {
    const schema = COMPONENT_SCHEMAS[contract.success.schema];
    expect(documented.content['application/json'].schema.$ref).toBe(`#/components/schemas/${contract.success.schema}`);
    const parsed = z.safeParse(schema, json);
    expect(parsed.success, `${route} ${status}: ${JSON.stringify(parsed.error?.issues)}`).toBe(true);
    // zod drops unknown keys: equality means the answer has no undocumented fields.
    expect(parsed.data).toEqual(json);
  } else {
    const parsed = z.safeParse(COMPONENT_SCHEMAS.ErrorEnvelope, json);
    expect(parsed.success, `${route} ${status}: ${JSON.stringify(parsed.error?.issues)}`).toBe(true);
    expect(parsed.data).toEqual(json);
    const codes: string[] = documented.content['application/json'].schema.allOf[1].properties.error.properties.code.enum;
    expect(codes, `${route} ${status}`).toContain(json.error.code);
  }
  exercised.add(`${route} ${status}`);
  return { status, json };
}

async function waitForJob(jobId: string, predicate: (job: any) => boolean, timeoutMs = 15_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { json } = await call('GET /jobs/{job_id}', { job_id: jobId });
    if (predicate(json)) return json;
    if (Date.now() > deadline) throw new Error(`job ${jobId} stayed ${json.status}`);
    await new Promise((resolve) => setTimeout(resolve, 150));
  }
}

describe('OpenAPI document', () => {
  it('is served without a key at /openapi.json and equals the committed docs/openapi.json', async () => {
    const response = await fetch(`${h.stack.endpoint}/openapi.json`);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual(document);
    expect(document.openapi).toBe('3.1.0');
    expect(document.components.securitySchemes.apiKey).toEqual(expect.objectContaining({ type: 'apiKey', in: 'header', name: 'x-api-key' }));
  });

  it('documents every route the gateway serves, and nothing else', () => {
    const documented = Object.entries(document.paths).flatMap(([path, methods]) =>
      Object.keys(methods as object).map((method) => `${method.toUpperCase()} ${path}`),
    );
    expect(documented.sort()).toEqual([...API_ROUTES].sort());
  });
});

describe('live API against the contract', () => {
  let heldJob: string;
  let heldBatch: string;
  let queuedJob: string;

  it('answers every documented operation as documented', async () => {
    const uploaded = await h.upload('graphic.png', 'contract/graphic.png');
    const staged = await call('POST /uploads', {}, { body: { filename: 'contract.png', content_type: 'image/png', size_bytes: 1234 } });
    expect(staged.status).toBe(201);
    expect(staged.json.file_url).toMatch(new RegExp(`^s3://${h.stack.names.mediaBucket}/tenants/${h.stack.tenantId}/uploads/upl_\\w+/contract\\.png$`));
    expect((await call('POST /uploads', {}, { body: { filename: '../x.png', content_type: 'image/png', size_bytes: 1 } })).json.error.code).toBe('invalid_request');
    expect((await call('POST /uploads', {}, { body: { filename: 'x.mp3', content_type: 'image/png', size_bytes: 1 } })).json.error.code).toBe('unsupported_media_type');
    const callback = `${h.receiver.url}/contract`;

    // Submit: the held job occupies the only extractor; the next one stays queued.
    const held = await call('POST /jobs', {}, { body: { callback_url: callback, files: [{ url: slowUrl, external_id: 'held' }], metadata: { case: 'contract' } } });
    expect(held.status).toBe(202);
    heldJob = held.json.jobs[0].job_id;
    heldBatch = held.json.batch_id;
    await slowRequested;
    const queued = await call('POST /jobs', {}, { body: { callback_url: callback, files: [{ url: uploaded }] } });
    queuedJob = queued.json.jobs[0].job_id;

    expect((await call('GET /jobs/{job_id}', { job_id: queuedJob })).json.status).toBe('queued');
    expect((await call('POST /jobs/{job_id}/redeliver', { job_id: queuedJob })).json.error.code).toBe('job_not_terminal');
    const cancelled = await call('DELETE /jobs/{job_id}', { job_id: queuedJob });
    expect(cancelled.status).toBe(200);
    expect(cancelled.json.status).toBe('cancelled');
    expect((await call('DELETE /jobs/{job_id}', { job_id: queuedJob })).json.error.code).toBe('job_not_cancellable');

    releaseSlow();
    const done = await waitForJob(heldJob, (job) => job.status === 'completed' && job.delivery.status === 'delivered');
    expect(done.result.keywords.length).toBeGreaterThan(0);

    const deliveries = await call('GET /jobs/{job_id}/deliveries', { job_id: heldJob });
    expect(deliveries.json.attempts.length).toBeGreaterThan(0);
    expect((await call('POST /jobs/{job_id}/redeliver', { job_id: heldJob })).status).toBe(202);
    const batch = await call('GET /batches/{batch_id}', { batch_id: heldBatch });
    expect(batch.json.counts.completed).toBe(1);
    const page = await call('GET /jobs', {}, { query: { limit: '1' } });
    expect(page.json.jobs).toHaveLength(1);
    expect(page.json.next_cursor).toEqual(expect.any(String));
    await call('GET /jobs', {}, { query: { limit: '1', cursor: page.json.next_cursor } });
    await call('GET /jobs', {}, { query: { batch_id: heldBatch, status: 'completed' } });

    // Errors, each with its documented code.
    const unknown = { job_id: 'job_01UNKNOWN', batch_id: 'bat_01UNKNOWN' };
    for (const route of ['GET /jobs/{job_id}', 'DELETE /jobs/{job_id}', 'GET /jobs/{job_id}/deliveries', 'POST /jobs/{job_id}/redeliver', 'GET /batches/{batch_id}'] as const) {
      expect((await call(route, unknown)).json.error.code).toBe('not_found');
    }
    expect((await call('GET /jobs', {}, { query: { limit: '0' } })).json.error.code).toBe('invalid_request');
    expect((await call('POST /jobs', {}, { body: { files: [] } })).json.error.code).toBe('invalid_request');
    expect((await call('POST /jobs', {}, { rawBody: '{', headers: {} })).json.error.code).toBe('invalid_request');
    expect((await call('POST /jobs', {}, { rawBody: 'x', headers: { 'content-type': 'text/plain' } })).json.error.code).toBe(
      'unsupported_content_type',
    );
    expect(
      (await call('POST /jobs', {}, { body: { callback_url: callback, files: [{ url: 'https://example.com/a.pdf' }] } })).json.error.code,
    ).toBe('unsupported_media_type');
    expect(
      (await call('POST /jobs', {}, { body: { callback_url: 'https://10.0.0.1/hook', files: [{ url: uploaded }] } })).json.error.code,
    ).toBe('callback_url_forbidden');
    for (const route of API_ROUTES) {
      expect((await call(route, unknown, { key: null })).json.error.code).toBe('missing_api_key');
      expect((await call(route, unknown, { key: 'mh_local_not_a_key' })).json.error.code).toBe('invalid_api_key');
    }
  });

  it('exercised every documented operation with its success status', () => {
    const missing = API_ROUTES.filter((route) => !exercised.has(`${route} ${ROUTE_CONTRACTS[route].success.status}`));
    expect(missing).toEqual([]);
  });
});
