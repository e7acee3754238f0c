// End to end on the local stack (issue 14): POST /v1/webhooks/test, `events`, `callback_headers`,
// extraction `options` and provenance. HTTP in through the local gateway, the real handlers, the
// local KMS stand-in for sealing, signed callbacks out to a real receiver on 127.0.0.1, verified
// with the official standardwebhooks package.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Webhook } from 'standardwebhooks';
import { startHarness, type Harness } from '../support/local-harness';
import type { ReceivedWebhook } from '../../local/webhook-receiver';
import { CALLBACK_HEADER_NAMES, jobCompletedEventSchema, batchCompletedEventSchema, webhookTestResponseSchema } from '../../lambdas/core/api-schemas';
import { DEFAULT_PRICE_TABLE } from '../../lambdas/core/model-prices';
import { LOCAL_ANALYZER_MODEL, LOCAL_ANALYZER_PROMPT_VERSION } from '../../lambdas/adapters/local-analyzer';
import { MAX_ALT_TEXT_LENGTH } from '../../lambdas/core/metadata-result';

let h: Harness;

beforeAll(async () => {
  h = await startHarness({ env: { METAHOOK_RETRY_SCHEDULE: '1,1' } });
  h.receiver.reply = (request) => {
    if (request.path.startsWith('/answers-500')) return { status: 500, body: 'receiver is down for maintenance' };
    if (request.path.startsWith('/needs-auth')) {
      return request.headers.authorization === 'Bearer receiver-token-123' ? { status: 204 } : { status: 401, body: 'who are you' };
    }
    return { status: 200, body: 'thanks' };
  };
});

afterAll(async () => {
  await h?.stop();
});

async function call(method: string, path: string, body?: unknown): Promise<{ status: number; json: any }> {
  const response = await fetch(`${h.stack.endpoint}${path}`, {
    method,
    headers: { 'content-type': 'application/json', 'x-api-key': h.stack.apiKey },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await response.text();
  return { status: response.status, json: text ? JSON.parse(text) : undefined };
}

const verify = (received: ReceivedWebhook) =>
  new Webhook(h.stack.signingSecret).verify(received.body, received.headers as Record<string, string>) as any;

const forBatch = (all: ReceivedWebhook[], batchId: string) =>
  all.filter((r) => r.payload?.data?.batch_id === batchId);

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('POST /v1/webhooks/test', () => {
  it('sends one signed webhook.test event and answers with the attempt', async () => {
    const { status, json } = await call('POST', '/v1/webhooks/test', { callback_url: `${h.receiver.url}/probe` });

    expect(status).toBe(200);
    expect(webhookTestResponseSchema.safeParse(json).success).toBe(true);
    expect(json).toMatchObject({ event_type: 'webhook.test', delivered: true, http_status: 200, response_body: 'thanks', error_class: null });
    expect(json.latency_ms).toBeGreaterThanOrEqual(0);
    const received = h.receiver.received.find((r) => r.headers['webhook-id'] === json.event_id)!;
    expect(received.path).toBe('/probe');
    const payload = verify(received);
    expect(payload).toMatchObject({ type: 'webhook.test', id: json.event_id });
  });

  it('reports a failing receiver with its status, error class and the first bytes of its body', async () => {
    const { status, json } = await call('POST', '/v1/webhooks/test', { callback_url: `${h.receiver.url}/answers-500` });

    expect(status).toBe(200);
    expect(json).toMatchObject({ delivered: false, http_status: 500, error_class: 'http_500', response_body: 'receiver is down for maintenance' });
  });

  it('reports a receiver that does not answer as a network error class', async () => {
    // A port that was just free: nothing listens there.
    const server: Server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    await new Promise((resolve) => server.close(resolve));

    const { json } = await call('POST', '/v1/webhooks/test', { callback_url: `http://127.0.0.1:${port}/nobody` });

    expect(json.delivered).toBe(false);
    expect(json.http_status).toBeNull();
    expect(json.error_class).toEqual(expect.any(String));
    expect(json.error_class.length).toBeGreaterThan(0);
  });

  it('applies the callback URL rules as for jobs: a private address is refused before anything is sent', async () => {
    const before = h.receiver.received.length;
    const { status, json } = await call('POST', '/v1/webhooks/test', { callback_url: 'https://169.254.169.254/latest/meta-data' });

    expect(status).toBe(422);
    expect(json.error.code).toBe('callback_url_forbidden');
    expect(h.receiver.received.length).toBe(before);
  });

  it('sends callback_headers with the test event, so receiver authentication can be tried first', async () => {
    const { json } = await call('POST', '/v1/webhooks/test', {
      callback_url: `${h.receiver.url}/needs-auth`,
      callback_headers: { Authorization: 'Bearer receiver-token-123' },
    });
    expect(json).toMatchObject({ delivered: true, http_status: 204 });

    const refused = await call('POST', '/v1/webhooks/test', { callback_url: `${h.receiver.url}/probe`, callback_headers: { Host: 'evil.example' } });
    expect(refused.status).toBe(422);
    expect(refused.json.error.code).toBe('callback_header_forbidden');
  });

  it('refuses a body that is not the contract', async () => {
    const { status, json } = await call('POST', '/v1/webhooks/test', { url: 'https://example.com' });
    expect(status).toBe(400);
    expect(json.error.code).toBe('invalid_request');
  });
});

describe('events per request', () => {
  it('delivers only the chosen job events, and no batch.completed when it is not chosen', async () => {
    const photo = await h.upload('photo-iptc.jpg', 'events/photo.jpg');
    const { status, json } = await h.submit({ callback_url: `${h.receiver.url}/jobs-only`, files: [{ url: photo }], events: ['job.completed'] });
    expect(status).toBe(202);
    const jobId = json.jobs[0].job_id;

    await h.receiver.waitFor((all) => all.some((r) => r.payload?.type === 'job.completed' && r.payload.data.job_id === jobId));
    // The batch completes right after its only job; give a batch.completed time to (not) arrive.
    await expect.poll(async () => (await call('GET', `/v1/batches/${json.batch_id}`)).json.completed_at, { timeout: 10_000 }).not.toBeNull();
    await sleep(1_500);
    expect(forBatch(h.receiver.received, json.batch_id).map((r) => r.payload!.type)).toEqual(['job.completed']);
    expect((await call('GET', `/v1/jobs/${jobId}`)).json.events).toEqual(['job.completed']);
  });

  it('with only batch.completed, sends one event that carries every job result inline', async () => {
    const photo = await h.upload('photo-iptc.jpg', 'events/inline-photo.jpg');
    const song = await h.upload('tagged.mp3', 'events/inline-song.mp3');
    const { json } = await h.submit({
      callback_url: `${h.receiver.url}/batch-only`,
      files: [{ url: photo, external_id: 'p' }, { url: song, external_id: 's' }, { url: `${photo}-missing.jpg`, external_id: 'gone' }],
      events: ['batch.completed'],
    });

    const all = await h.receiver.waitFor((r) => r.some((x) => x.payload?.type === 'batch.completed' && x.payload.data.batch_id === json.batch_id), 30_000);
    await sleep(1_000);
    const events = forBatch(all, json.batch_id);
    expect(events.map((r) => r.payload!.type)).toEqual(['batch.completed']);
    const payload = verify(events[0]!);
    expect(batchCompletedEventSchema.safeParse(payload).success).toBe(true);
    expect(payload.data).toMatchObject({ total: 3, completed: 2, failed: 1, results_next: null });
    const byExternal = Object.fromEntries(payload.data.results.map((r: any) => [r.external_id, r]));
    expect(Object.keys(byExternal).sort()).toEqual(['gone', 'p', 's']);
    expect(byExternal.p).toMatchObject({ status: 'completed', media_type: 'image' });
    expect(byExternal.p.result.keywords.length).toBeGreaterThan(0);
    expect(byExternal.p.provenance.model_id).toBe(LOCAL_ANALYZER_MODEL.id);
    expect(byExternal.s).toMatchObject({ status: 'completed', media_type: 'audio' });
    expect(byExternal.gone).toMatchObject({ status: 'failed', error: { code: 'file_not_found' } });
  });

  it('refuses an unknown event type with invalid_request', async () => {
    const { status, json } = await h.submit({ callback_url: `${h.receiver.url}/x`, files: [{ url: 'https://example.com/a.jpg' }], events: ['job.started'] });
    expect(status).toBe(400);
    expect(json.error.details[0].path).toMatch(/^events/);
  });
});

describe('callback_headers (receiver authentication)', () => {
  it('sends the headers on every attempt and redelivery, and never returns, stores or audits them in clear', async () => {
    const photo = await h.upload('graphic.png', 'auth/graphic.png');
    const secret = 'Bearer receiver-token-123';
    const { status, json } = await h.submit({
      callback_url: `${h.receiver.url}/needs-auth`,
      files: [{ url: photo }],
      callback_headers: { Authorization: secret },
    });
    expect(status).toBe(202);
    expect(JSON.stringify(json)).not.toContain('receiver-token');
    const jobId = json.jobs[0].job_id;

    const all = await h.receiver.waitFor((r) => forBatch(r, json.batch_id).length >= 2);
    for (const delivery of forBatch(all, json.batch_id)) {
      expect(delivery.headers.authorization).toBe(secret);
      expect(delivery.signatureValid).toBe(true);
    }
    await expect.poll(async () => (await h.job(jobId))?.delivery?.status, { timeout: 10_000 }).toBe('delivered');

    // Redelivery opens the sealed headers again.
    const before = h.receiver.received.length;
    expect((await call('POST', `/v1/jobs/${jobId}/redeliver`)).status).toBe(202);
    const again = await h.receiver.waitFor((r) => r.length > before && r.slice(before).some((x) => x.payload?.data?.job_id === jobId));
    expect(again.slice(before).find((x) => x.payload?.data?.job_id === jobId)!.headers.authorization).toBe(secret);

    const stored = await h.job(jobId);
    expect(JSON.stringify(stored)).not.toContain('receiver-token');
    expect(stored!.callback_headers_sealed).toMatch(/^metahook:sealed:v1:/);
    const view = await call('GET', `/v1/jobs/${jobId}`);
    expect(JSON.stringify(view.json)).not.toContain('receiver-token');
    expect(JSON.stringify(view.json)).not.toContain('callback_headers');
    const deliveries = await call('GET', `/v1/jobs/${jobId}/deliveries`);
    expect(deliveries.json.attempts.length).toBeGreaterThanOrEqual(2);
    expect(JSON.stringify(deliveries.json)).not.toContain('receiver-token');
    expect(JSON.stringify(await h.attempts(jobId))).not.toContain('receiver-token');
  });

  it('refuses header names outside the allowlist, naming the allowed ones', async () => {
    const { status, json } = await h.submit({
      callback_url: `${h.receiver.url}/x`,
      files: [{ url: 'https://example.com/a.jpg' }],
      callback_headers: { 'webhook-signature': 'v1,forged' },
    });
    expect(status).toBe(422);
    expect(json.error.code).toBe('callback_header_forbidden');
    expect(json.error.details[0].message).toContain(CALLBACK_HEADER_NAMES.join(', '));
  });

  it('refuses a header value that would smuggle a line break', async () => {
    const { status } = await h.submit({
      callback_url: `${h.receiver.url}/x`,
      files: [{ url: 'https://example.com/a.jpg' }],
      callback_headers: { authorization: 'Bearer a\r\nx-admin: 1' },
    });
    expect(status).toBe(400);
  });
});

describe('extraction options and provenance', () => {
  it('keeps keywords to the vocabulary, reports the rest apart, caps them and writes alt text', async () => {
    const photo = await h.upload('photo-iptc.jpg', 'options/photo.jpg');
    // First the plain result, to know what the analyzer proposes for this file.
    const plain = await h.submit({ callback_url: `${h.receiver.url}/plain`, files: [{ url: photo }] });
    const plainEvent = (await h.receiver.waitFor((r) => r.some((x) => x.payload?.data?.job_id === plain.json.jobs[0].job_id)))
      .find((x) => x.payload?.data?.job_id === plain.json.jobs[0].job_id)!;
    const proposed: string[] = plainEvent.payload!.data.result.keywords;
    expect(proposed.length).toBeGreaterThanOrEqual(3);
    expect(plainEvent.payload!.data.result.alt_text).toBeUndefined();

    const vocabulary = [proposed[0]!.toUpperCase(), proposed[2]!, 'not-in-this-picture'];
    const { status, json } = await h.submit({
      callback_url: `${h.receiver.url}/plain`,
      files: [{ url: photo }],
      options: { vocabulary, max_keywords: 1, alt_text: true, language: 'en-gb' },
    });
    expect(status).toBe(202);
    // Other options, other work: not a duplicate of the plain job.
    expect(json.jobs[0].duplicate).toBe(false);
    const jobId = json.jobs[0].job_id;
    const event = (await h.receiver.waitFor((r) => r.some((x) => x.payload?.data?.job_id === jobId))).find((x) => x.payload?.data?.job_id === jobId)!;
    const result = verify(event).data.result;
    expect(result.keywords).toEqual([vocabulary[0]]);
    expect(result.unmatched_keywords).toEqual(proposed.filter((k) => k !== proposed[0] && k !== proposed[2]));
    expect(result.alt_text.length).toBeGreaterThan(0);
    expect(result.alt_text.length).toBeLessThanOrEqual(MAX_ALT_TEXT_LENGTH);
    // The local analyzer writes English only and says so.
    expect(result.language).toBe('en');
    expect((await call('GET', `/v1/jobs/${jobId}`)).json.options).toEqual({ vocabulary, max_keywords: 1, alt_text: true, language: 'en-GB' });

    // The same options (another vocabulary order and case) are the same job.
    const again = await h.submit({
      callback_url: `${h.receiver.url}/plain`,
      files: [{ url: photo }],
      options: { vocabulary: [...vocabulary].reverse().map((t) => t.toLowerCase()), max_keywords: 1, alt_text: true, language: 'en-GB' },
    });
    expect(again.json.jobs[0]).toMatchObject({ job_id: jobId, duplicate: true });
  });

  it('refuses a language that is not BCP 47 and out-of-range limits with clear codes', async () => {
    const bad = await h.submit({ callback_url: `${h.receiver.url}/x`, files: [{ url: 'https://example.com/a.jpg' }], options: { language: 'english-please' } });
    expect(bad.status).toBe(422);
    expect(bad.json.error).toMatchObject({ code: 'unsupported_language', details: [{ path: 'options.language' }] });
    const many = await h.submit({ callback_url: `${h.receiver.url}/x`, files: [{ url: 'https://example.com/a.jpg' }], options: { max_keywords: 500 } });
    expect(many.status).toBe(400);
    expect(many.json.error.details[0].path).toBe('options.max_keywords');
  });

  it('puts provenance with the price table cost into job.completed', async () => {
    const song = await h.upload('tagged.mp3', 'provenance/song.mp3');
    const { json } = await h.submit({ callback_url: `${h.receiver.url}/prov`, files: [{ url: song }] });
    const jobId = json.jobs[0].job_id;
    const event = (await h.receiver.waitFor((r) => r.some((x) => x.payload?.data?.job_id === jobId))).find((x) => x.payload?.data?.job_id === jobId)!;
    const payload = verify(event);
    expect(jobCompletedEventSchema.safeParse(payload).success).toBe(true);
    expect(payload.data.provenance).toEqual({
      provider: 'local',
      model_id: LOCAL_ANALYZER_MODEL.id,
      prompt_version: LOCAL_ANALYZER_PROMPT_VERSION,
      input_tokens: 0,
      output_tokens: 0,
      audio_seconds: payload.data.result.properties.duration_seconds,
      cost_usd: 0,
      price_table: DEFAULT_PRICE_TABLE.version,
    });
    expect(payload.data.provenance.audio_seconds).toBeGreaterThan(0);
  });
});
