// doctor's end-to-end job with a fake API: the calls it makes in order (upload, PUT, submit,
// poll), PASS when the delivery lands, and each failure with its fix; never a secret in the report.
import { describe, expect, it } from 'vitest';
import { runEndToEndCheck, type EndToEndDeps } from '../../cli/commands/doctor-end-to-end';

const API_KEY = 'doctor-test-key-0123456789';
const CALLBACK = 'https://hooks.example.com/metahook?token=receiver-secret';
const PRESIGNED = 'https://bucket.s3.amazonaws.com/tenants/t/metahook-doctor.png?X-Amz-Signature=presigned-secret';

interface FakeJob {
  status: string;
  error?: { code: string; message: string };
  delivery: { status: string; attempts: number; last_status_code: number | null; last_error: string | null };
}

/** A fake of the API: answers each route; `jobStates` are returned by successive GETs (the last repeats). */
function fakeApi(over: { uploads?: Response; put?: number; submit?: () => Response; jobStates?: FakeJob[] } = {}) {
  const calls: { method: string; url: string; apiKey: string | null; body?: any }[] = [];
  const states = over.jobStates ?? [
    { status: 'processing', delivery: { status: 'pending', attempts: 0, last_status_code: null, last_error: null } },
    { status: 'completed', delivery: { status: 'delivered', attempts: 1, last_status_code: 200, last_error: null } },
  ];
  let polls = 0;
  const fetchFake = (async (input: string | URL, init: RequestInit = {}) => {
    const url = String(input);
    const headers = new Headers(init.headers);
    calls.push({ method: init.method ?? 'GET', url, apiKey: headers.get('x-api-key'), ...(typeof init.body === 'string' ? { body: JSON.parse(init.body) } : {}) });
    const json = (status: number, body: unknown) => new Response(JSON.stringify(body), { status });
    if (url === PRESIGNED) return new Response(null, { status: over.put ?? 200 });
    if (url.endsWith('/v1/uploads')) {
      return over.uploads ?? json(201, { file_url: 's3://bucket/tenants/t/metahook-doctor.png', upload: { method: 'PUT', url: PRESIGNED, headers: { 'content-length': '3' }, expires_at: '' } });
    }
    if (url.endsWith('/v1/jobs')) return over.submit?.() ?? json(202, { batch_id: 'bat_1', jobs: [{ job_id: 'job_1' }] });
    if (url.endsWith('/v1/jobs/job_1')) return json(200, { job_id: 'job_1', ...states[Math.min(polls++, states.length - 1)] });
    return json(404, { error: { code: 'not_found', message: 'no route' } });
  }) as typeof fetch;
  return { calls, fetch: fetchFake };
}

function run(api: ReturnType<typeof fakeApi>, over: Partial<EndToEndDeps> = {}) {
  let clock = 0;
  return runEndToEndCheck({
    apiBaseUrl: 'https://api.example.com/v1/',
    apiKey: API_KEY,
    callbackUrl: CALLBACK,
    image: new Uint8Array([1, 2, 3]),
    fetch: api.fetch,
    timeoutMs: 10_000,
    pollIntervalMs: 1_000,
    now: () => clock,
    sleep: async (ms) => void (clock += ms),
    ...over,
  });
}

const printed = (check: { detail: string; fix?: string }) => `${check.detail} ${check.fix ?? ''}`;

describe('runEndToEndCheck', () => {
  it('uploads the fixture, submits it as an integrator would and passes once the delivery lands', async () => {
    const api = fakeApi();
    const check = await run(api);
    expect(check).toMatchObject({ name: 'end-to-end job', status: 'pass' });
    expect(api.calls.map((c) => `${c.method} ${c.url.split('?')[0]}`)).toEqual([
      'POST https://api.example.com/v1/uploads',
      'PUT https://bucket.s3.amazonaws.com/tenants/t/metahook-doctor.png',
      'POST https://api.example.com/v1/jobs',
      'GET https://api.example.com/v1/jobs/job_1',
      'GET https://api.example.com/v1/jobs/job_1',
    ]);
    expect(api.calls[0]!.body).toEqual({ filename: 'metahook-doctor.png', content_type: 'image/png', size_bytes: 3 });
    expect(api.calls[2]!.body).toMatchObject({ callback_url: CALLBACK, files: [{ url: 's3://bucket/tenants/t/metahook-doctor.png' }] });
    // The tenant key goes to the API only, never to S3.
    expect(api.calls.filter((c) => c.url.startsWith('https://api.')).every((c) => c.apiKey === API_KEY)).toBe(true);
    expect(api.calls[1]!.apiKey).toBeNull();
    expect(printed(check)).not.toMatch(/doctor-test-key|receiver-secret|presigned-secret/);
  });

  it('names the SSRF policy when the API refuses the callback URL', async () => {
    const api = fakeApi({
      submit: () => new Response(JSON.stringify({ error: { code: 'callback_url_forbidden', message: 'callback_url resolves to a private address' } }), { status: 422 }),
    });
    const check = await run(api);
    expect(check.status).toBe('fail');
    expect(check.detail).toContain('callback_url_forbidden');
    expect(check.fix).toContain('SSRF policy');
    expect(printed(check)).not.toMatch(/doctor-test-key|receiver-secret|presigned-secret/);
  });

  it('says the key is refused without printing it', async () => {
    const api = fakeApi({ uploads: new Response(JSON.stringify({ error: { code: 'invalid_api_key', message: 'Forbidden' } }), { status: 403 }) });
    const check = await run(api);
    expect(check).toMatchObject({ status: 'fail' });
    expect(check.fix).toContain('METAHOOK_API_KEY');
    expect(api.calls).toHaveLength(1);
    expect(printed(check)).not.toContain(API_KEY);
  });

  it('reports the receiver\'s status after the first failed attempt instead of waiting out the retries', async () => {
    const api = fakeApi({
      jobStates: [{ status: 'completed', delivery: { status: 'pending', attempts: 1, last_status_code: 401, last_error: 'HTTP 401' } }],
    });
    const check = await run(api);
    expect(check.status).toBe('fail');
    expect(check.detail).toContain('HTTP 401');
    expect(check.fix).toContain('answered 401');
    expect(printed(check)).toContain('https://hooks.example.com/metahook?[redacted]');
  });

  it('reports a failed job with its code', async () => {
    const api = fakeApi({
      jobStates: [{ status: 'failed', error: { code: 'model_error', message: 'the model refused' }, delivery: { status: 'pending', attempts: 0, last_status_code: null, last_error: null } }],
    });
    const check = await run(api);
    expect(check).toMatchObject({ status: 'fail' });
    expect(check.detail).toContain('failed with model_error');
    expect(check.fix).toContain('model');
  });

  it('times out with what the job was still doing', async () => {
    const api = fakeApi({ jobStates: [{ status: 'queued', delivery: { status: 'pending', attempts: 0, last_status_code: null, last_error: null } }] });
    const check = await run(api, { timeoutMs: 5_000 });
    expect(check.status).toBe('fail');
    expect(check.detail).toContain('still queued');
    expect(check.fix).toContain('jobs queue');
    // Polled every second for five seconds, then gave up.
    expect(api.calls.filter((c) => c.method === 'GET').length).toBe(7);
  });

  it('fails with the cause when the API cannot be reached', async () => {
    const check = await run({ calls: [], fetch: (async () => { throw new TypeError('fetch failed', { cause: { code: 'ECONNREFUSED' } }); }) as typeof fetch });
    expect(check).toMatchObject({ status: 'fail' });
    expect(check.detail).toContain('ECONNREFUSED');
  });
});
