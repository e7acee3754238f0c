// Unit: issue 14's core rules with fakes: extraction options, inline batch results and their
// page cut, callback_headers sealing and opening (a fake sealer that enforces its context like
// KMS), delivery of chosen events only, provenance, and the webhook test use case.
import { describe, expect, it } from 'vitest';
import { Webhook } from 'standardwebhooks';
import { resolveSettings } from '../../lib/settings';
import {
  applyExtractionOptions,
  canonicalLanguageTag,
  canonicalOptions,
  checkExtractionOptions,
  matchVocabulary,
  shortenAtWord,
} from '../../lambdas/core/extraction-options';
import { BATCH_EVENT_MAX_BYTES, BATCH_RESULTS_PAGE, withInlineResults } from '../../lambdas/core/batch-results';
import { buildBatchCompletedEvent, serializeEvent } from '../../lambdas/core/events';
import { checkCallbackHeaders, openCallbackHeaders, sealCallbackHeaders } from '../../lambdas/core/callback-headers';
import { deliverEvent } from '../../lambdas/core/deliver-event';
import { provenanceOf } from '../../lambdas/core/extract-job';
import { DEFAULT_PRICE_TABLE } from '../../lambdas/core/model-prices';
import { sendTestWebhook } from '../../lambdas/core/send-test-webhook';
import { dedupeKey } from '../../lambdas/core/submit-jobs';
import { ApiError } from '../../lambdas/core/errors';
import { jobEventId } from '../../lambdas/core/ids';
import type { BatchRecord, JobRecord } from '../../lambdas/core/records';
import type { JobListQuery, SecretSealer, WebhookRequest } from '../../lambdas/core/ports';
import { generateSigningSecret } from '../../lambdas/core/webhook-signature';
import { completedJob, fakeDeliveryDeps } from '../support/delivery-fakes';

const settings = resolveSettings({});
const secret = generateSigningSecret();

/** Seals as `ctx|plaintext` base64; opening under another context fails, as KMS does. */
function fakeSealer(): SecretSealer & { opened: number } {
  const sealer = {
    opened: 0,
    seal: async (plaintext: string, context: Readonly<Record<string, string>>) =>
      `sealed:${Buffer.from(`${JSON.stringify(context)}|${plaintext}`).toString('base64')}`,
    open: async (sealed: string, context: Readonly<Record<string, string>>) => {
      const [ctx, ...rest] = Buffer.from(sealed.slice('sealed:'.length), 'base64').toString().split('|');
      if (ctx !== JSON.stringify(context)) throw new Error('InvalidCiphertextException');
      sealer.opened++;
      return rest.join('|');
    },
  };
  return sealer;
}

describe('extraction options', () => {
  it('canonicalises BCP 47 tags and refuses malformed or unknown languages', () => {
    expect(canonicalLanguageTag('en-gb')).toBe('en-GB');
    expect(canonicalLanguageTag('zh-hant-tw')).toBe('zh-Hant-TW');
    expect(canonicalLanguageTag('gsw')).toBe('gsw');
    expect(canonicalLanguageTag('english')).toBeUndefined();
    expect(canonicalLanguageTag('xx')).toBeUndefined();
    expect(canonicalLanguageTag('en--US')).toBeUndefined();
    expect(() => checkExtractionOptions({ language: 'en_US' })).toThrow(ApiError);
  });

  it('makes options part of the de-duplication key, independent of vocabulary order and case', () => {
    const plain = dedupeKey('t', 'https://a.example/x.jpg', 'https://cb.example/');
    const withOptions = dedupeKey('t', 'https://a.example/x.jpg', 'https://cb.example/', checkExtractionOptions({ vocabulary: ['Car', 'tree'] }));
    const reordered = dedupeKey('t', 'https://a.example/x.jpg', 'https://cb.example/', checkExtractionOptions({ vocabulary: ['TREE', 'car'] }));
    expect(withOptions).not.toBe(plain);
    expect(reordered).toBe(withOptions);
    expect(canonicalOptions(checkExtractionOptions({}))).toBe('');
    expect(dedupeKey('t', 'https://a.example/x.jpg', 'https://cb.example/', checkExtractionOptions({ alt_text: false }))).toBe(plain);
  });

  it('chooses keywords from the vocabulary in its spelling, singular or plural, and reports the others', () => {
    expect(matchVocabulary(['cars', 'Sky', 'blue  sky', 'dog'], ['Car', 'blue sky', 'tree'])).toEqual({
      keywords: ['Car', 'blue sky'],
      unmatched: ['Sky', 'dog'],
    });
  });

  it('applies vocabulary, max_keywords and alt_text to any provider result', () => {
    const result = { description: 'A long description.', keywords: ['red', 'bike', 'street', 'tree'], caption: 'A red bike leaning on a wall in a quiet street at dusk, with '.repeat(4) };
    const shaped = applyExtractionOptions(result, 'image', { vocabulary: ['Bike', 'Street', 'Tree'], max_keywords: 2, alt_text: true }, 'fr') as any;
    expect(shaped.keywords).toEqual(['Bike', 'Street']);
    expect(shaped.unmatched_keywords).toEqual(['red']);
    expect(shaped.language).toBe('fr');
    expect(shaped.alt_text.length).toBeLessThanOrEqual(125);
    expect(shaped.alt_text.endsWith('…')).toBe(true);
    // Audio takes no alt text; without options nothing but the language is added.
    expect(applyExtractionOptions({ description: 'd', keywords: ['a'], summary: 's' }, 'audio', { alt_text: true }, 'en')).toEqual({
      description: 'd',
      keywords: ['a'],
      summary: 's',
      language: 'en',
    });
    expect(shortenAtWord('short', 125)).toBe('short');
  });
});

describe('provenance', () => {
  it('names model, prompt, tokens, what was sent and the cost from the price table', () => {
    const provenance = provenanceOf(
      {
        result: { description: 'd', keywords: [], caption: 'c' },
        model: { provider: 'bedrock', id: 'us.amazon.nova-lite-v1:0' },
        usage: { input_tokens: 2_000, output_tokens: 200, latency_ms: 900, image_pixels: 786_432 },
        promptVersion: 'metadata-x',
      },
      DEFAULT_PRICE_TABLE,
    );
    expect(provenance).toEqual({
      provider: 'bedrock',
      model_id: 'us.amazon.nova-lite-v1:0',
      prompt_version: 'metadata-x',
      input_tokens: 2_000,
      output_tokens: 200,
      image_pixels: 786_432,
      cost_usd: 0.000168,
      price_table: DEFAULT_PRICE_TABLE.version,
    });
    const unpriced = provenanceOf({ result: { description: 'd', keywords: [], summary: 's' }, model: { provider: 'bedrock', id: 'vendor.other' } }, DEFAULT_PRICE_TABLE);
    expect(unpriced.cost_usd).toBeNull();
  });
});

describe('inline batch results', () => {
  const batch: BatchRecord = {
    batch_id: 'bat_1',
    tenant_id: 'ten_1',
    callback_url: 'https://hooks.example.com/in',
    metadata: null,
    job_ids: [],
    duplicate_job_ids: [],
    total: 25,
    counts: { completed: 25, failed: 0, cancelled: 0 },
    created_at: '2026-01-01T00:00:00.000Z',
    completed_event_at: '2026-01-01T00:01:00.000Z',
    events: ['batch.completed'],
  };
  const jobs = Array.from({ length: 25 }, (_, i) => completedJob({ job_id: `job_${String(i).padStart(2, '0')}`, result: { description: 'x'.repeat(1_500), keywords: ['k'], caption: 'c' } }));
  const listing = {
    queries: [] as JobListQuery[],
    async listJobs(_tenant: string, query: JobListQuery) {
      listing.queries.push(query);
      const start = query.cursor ? Number(query.cursor) : 0;
      const page = jobs.slice(start, start + query.limit);
      return { jobs: page, cursor: start + query.limit < jobs.length ? String(start + query.limit) : null };
    },
  };

  it('carries every result when they fit', async () => {
    const event = await withInlineResults(listing, batch, buildBatchCompletedEvent(batch));
    expect(event.data.results).toHaveLength(25);
    expect(event.data.results_next).toBeNull();
  });

  it('cuts at a page that would not fit and links the GET for the rest, at that cursor', async () => {
    const base = buildBatchCompletedEvent(batch);
    // Room for a bit more than one page.
    const max = serializeEvent(base).length + 1_700 * (BATCH_RESULTS_PAGE + 3) + 2_600;
    const event = await withInlineResults(listing, batch, base, max);
    expect(event.data.results).toHaveLength(BATCH_RESULTS_PAGE);
    expect(event.data.results_next).toEqual({ method: 'GET', path: `/v1/jobs?batch_id=bat_1&cursor=${BATCH_RESULTS_PAGE}` });
    expect(Buffer.byteLength(serializeEvent(event))).toBeLessThanOrEqual(max);
    // Nothing fits: the link lists the batch from the start.
    const none = await withInlineResults(listing, batch, base, 100);
    expect(none.data.results).toEqual([]);
    expect(none.data.results_next).toEqual({ method: 'GET', path: '/v1/jobs?batch_id=bat_1' });
  });

  it('takes its limit from the settings, which a deployment may lower but not raise past the documented one', () => {
    expect(settings.delivery.batchEventMaxBytes).toBe(BATCH_EVENT_MAX_BYTES);
    expect(resolveSettings({ METAHOOK_BATCH_EVENT_MAX_BYTES: '16000' }).delivery.batchEventMaxBytes).toBe(16_000);
    expect(() => resolveSettings({ METAHOOK_BATCH_EVENT_MAX_BYTES: String(BATCH_EVENT_MAX_BYTES + 1) })).toThrow(/may only lower/);
    expect(() => resolveSettings({ METAHOOK_BATCH_EVENT_MAX_BYTES: '0' })).toThrow(/positive whole number/);
  });
});

describe('callback_headers', () => {
  it('accepts allowlisted names in any case and refuses the others', () => {
    expect(checkCallbackHeaders({ Authorization: 'Bearer x', 'X-Api-Key': 'k' })).toEqual({ authorization: 'Bearer x', 'x-api-key': 'k' });
    expect(checkCallbackHeaders(undefined)).toBeNull();
    expect(() => checkCallbackHeaders({ 'Content-Type': 'text/plain' })).toThrow(ApiError);
    expect(() => checkCallbackHeaders({ authorization: 'a', Authorization: 'b' })).toThrow(
      expect.objectContaining({ details: [expect.objectContaining({ message: 'the same header is named twice' })] }),
    );
  });

  it('opens only under the tenant and batch that sealed them', async () => {
    const sealer = fakeSealer();
    const sealed = await sealCallbackHeaders(sealer, 'ten_1', 'bat_1', { authorization: 'Bearer x' });
    expect(sealed).not.toContain('Bearer x');
    expect(await openCallbackHeaders(sealer, 'ten_1', 'bat_1', sealed)).toEqual({ authorization: 'Bearer x' });
    await expect(openCallbackHeaders(sealer, 'ten_2', 'bat_1', sealed)).rejects.toThrow('InvalidCiphertextException');
    await expect(openCallbackHeaders(sealer, 'ten_1', 'bat_2', sealed)).rejects.toThrow('InvalidCiphertextException');
  });
});

const deliveryDeps = (record: JobRecord, sealer?: SecretSealer) => fakeDeliveryDeps(record, { secret, ...(sealer ? { sealer } : {}) });

describe('delivery with events and callback_headers', () => {
  const message = { kind: 'job' as const, tenant_id: 'ten_1', job_id: 'job_01', event_id: jobEventId('job_01', 'completed') };

  it('sends the opened headers next to the signature, and keeps them out of the audit row', async () => {
    const sealer = fakeSealer();
    const sealed = await sealCallbackHeaders(sealer, 'ten_1', 'bat_1', { authorization: 'Bearer hidden', 'content-type': 'text/evil' });
    const { deps, requests, attempts } = deliveryDeps(completedJob({ callback_headers_sealed: sealed }), sealer);

    expect((await deliverEvent(deps, message, { receiveCount: 1 })).outcome).toBe('delivered');

    expect(requests[0]!.headers.authorization).toBe('Bearer hidden');
    expect(requests[0]!.headers['content-type']).toBe('application/json');
    new Webhook(secret).verify(requests[0]!.body, requests[0]!.headers);
    expect(JSON.stringify(attempts)).not.toContain('hidden');
  });

  it('fails the attempt (to be retried) rather than send without the headers when it cannot open them', async () => {
    const { deps, requests } = deliveryDeps(completedJob({ callback_headers_sealed: 'sealed:xx' }));
    await expect(deliverEvent(deps, message, { receiveCount: 1 })).rejects.toThrow(/SecretSealer/);
    expect(requests).toHaveLength(0);
  });

  it('does not send an event the request did not choose, unless it is an explicit redelivery', async () => {
    const { deps, requests } = deliveryDeps(completedJob({ events: ['batch.completed'] }));
    expect(await deliverEvent(deps, message, { receiveCount: 1 })).toEqual({ outcome: 'skipped', reason: 'job.completed not chosen in events' });
    expect(requests).toHaveLength(0);
    expect((await deliverEvent(deps, { ...message, redelivery: true }, { receiveCount: 1 })).outcome).toBe('delivered');
  });
});

describe('sendTestWebhook', () => {
  const outbound = { allowLoopbackHttp: false, allowedPorts: [443] };
  const deps = (post: (r: WebhookRequest) => any) => ({
    tenants: { getSigningSecrets: async () => [{ secret, expires_at: null }] },
    sender: { post: async (r: WebhookRequest) => post(r) },
    outbound,
    settings,
    now: () => new Date(),
    newEventId: () => 'msg_test_1',
  });

  it('signs the event with the tenant secret and reports a network error with its class', async () => {
    let sent: WebhookRequest | undefined;
    const result = await sendTestWebhook(
      deps((r) => ((sent = r), { kind: 'error', errorClass: 'connect_timeout', message: 'no answer in 5000 ms', durationMs: 5000 })),
      'ten_1',
      { callback_url: 'https://hooks.example.com/in' },
    );
    expect(result).toEqual({
      event_id: 'msg_test_1',
      event_type: 'webhook.test',
      delivered: false,
      http_status: null,
      latency_ms: 5000,
      response_body: null,
      error_class: 'connect_timeout',
      error: 'no answer in 5000 ms',
    });
    expect((new Webhook(secret).verify(sent!.body, sent!.headers) as any).type).toBe('webhook.test');
    expect(sent!.timeoutMs).toBe(settings.delivery.httpTimeoutMs);
  });

  it('refuses http:// outside local mode, as for job callbacks', async () => {
    await expect(sendTestWebhook(deps(() => undefined), 'ten_1', { callback_url: 'http://hooks.example.com/in' })).rejects.toMatchObject({
      code: 'callback_url_forbidden',
    });
  });
});
