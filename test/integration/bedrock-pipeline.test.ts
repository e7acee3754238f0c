// The whole pipeline with METAHOOK_MODEL_PROVIDER=bedrock, the Bedrock Runtime endpoint
// pointed at a local Bedrock Runtime stub (Converse for images, InvokeModel for Voxtral audio):
// the real SDK client and adapter, no cloud.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from '../support/local-harness';
import { converseReplies, mediaKindOf, startConverseStub, type RunningConverseStub } from '../support/converse-stub';
import { MODEL_PRICES_ENV } from '../../lambdas/core/model-prices';
import { PROMPT_VERSION } from '../../lambdas/core/prompts';

let h: Harness;
let stub: RunningConverseStub;
let audioCalls = 0;

beforeAll(async () => {
  // Audio: the first two calls are throttled (the SDK's own retry included), so the SQS
  // record must be retried by the pipeline; images answer at once.
  stub = await startConverseStub({
    replies: (request) => {
      if (mediaKindOf(request) === 'audio' && audioCalls++ < 2) return converseReplies.throttling();
      return converseReplies.auto({ inputTokens: 1500, outputTokens: 120 });
    },
  });
  h = await startHarness({
    env: {
      METAHOOK_MODEL_PROVIDER: 'bedrock',
      AWS_ENDPOINT_URL_BEDROCK_RUNTIME: stub.endpoint,
      METAHOOK_IMAGE_MODEL_ID: 'us.amazon.nova-lite-v1:0',
      METAHOOK_AUDIO_MODEL_ID: 'mistral.voxtral-small-24b-2507',
      METAHOOK_EXTRACTION_RETRY_SCHEDULE: '1,1',
      // A deployed price table (the modelPrices context): every job.completed is priced by it.
      [MODEL_PRICES_ENV]: JSON.stringify({
        version: 'test-contract-prices',
        models: { 'amazon.nova-lite-v1:0': { input_usd_per_million_tokens: 1, output_usd_per_million_tokens: 2 } },
      }),
    },
  });
});

afterAll(async () => {
  await h?.stop();
  await stub?.stop();
});

describe('pipeline with the Bedrock provider', () => {
  it('extracts an image (Converse) and a throttled audio file (InvokeModel) and records token usage', async () => {
    const photo = await h.upload('photo-iptc.jpg', 'bedrock/photo.jpg');
    const song = await h.upload('tagged.mp3', 'bedrock/song.mp3');
    const { status, json } = await h.submit({
      callback_url: `${h.receiver.url}/bedrock`,
      files: [{ url: photo, external_id: 'img' }, { url: song, external_id: 'aud' }],
    });
    expect(status).toBe(202);
    const all = await h.receiver.waitFor((r) => r.some((x) => x.payload?.type === 'batch.completed'), 30_000);
    const events = all.filter((x) => x.payload?.type.startsWith('job.'));
    expect(events.map((e) => e.payload!.type)).toEqual(['job.completed', 'job.completed']);
    for (const event of events) {
      expect(event.signatureValid).toBe(true);
      expect(event.payload!.data.model.provider).toBe('bedrock');
    }
    const image = events.find((e) => e.payload!.data.external_id === 'img')!.payload!.data;
    expect(image.model.id).toBe('us.amazon.nova-lite-v1:0');
    expect(image.result.caption.length).toBeGreaterThan(0);
    const audio = events.find((e) => e.payload!.data.external_id === 'aud')!.payload!.data;
    expect(audio.model.id).toBe('mistral.voxtral-small-24b-2507');
    expect(audio.result.summary.length).toBeGreaterThan(0);

    // The requests carried the right model, block type and format.
    const imageRequest = stub.requests.find((r) => mediaKindOf(r) === 'image')!;
    expect(imageRequest.modelId).toBe('us.amazon.nova-lite-v1:0');
    expect(JSON.stringify(imageRequest.body)).toContain('"format":"jpeg"');
    expect(stub.requests.filter((r) => mediaKindOf(r) === 'audio').length).toBeGreaterThanOrEqual(3);

    // Throttling retried the record; the job was never failed, and usage was stored.
    const audioJob = await h.job(json.jobs[1].job_id);
    expect(audioJob).toMatchObject({ status: 'completed', usage: { input_tokens: 1500, output_tokens: 120 } });
    expect(audioJob!.processing_attempts).toBeGreaterThanOrEqual(2);
    expect(audioJob!.usage.latency_ms).toBeGreaterThanOrEqual(0);
  }, 60_000);

  it('sends the request options in the prompt, holds the reply to them, and prices the job by the deployed table', async () => {
    const photo = await h.upload('photo-iptc.jpg', 'bedrock/options.jpg');
    const vocabulary = ['Lighthouse', 'Harbour', 'Seagull'];
    const { json } = await h.submit({
      callback_url: `${h.receiver.url}/bedrock-options`,
      files: [{ url: photo }],
      options: { language: 'de-CH', max_keywords: 2, vocabulary, alt_text: true },
    });
    const jobId = json.jobs[0].job_id;
    const event = (await h.receiver.waitFor((r) => r.some((x) => x.payload?.data?.job_id === jobId), 30_000)).find((x) => x.payload?.data?.job_id === jobId)!;
    expect(event.signatureValid).toBe(true);
    const { result, provenance } = event.payload!.data;

    // The Converse request asked for German (Swiss), the vocabulary, 2 keywords and alt text.
    const request = stub.requests.filter((r) => mediaKindOf(r) === 'image').at(-1)!;
    const sent = JSON.stringify(request.body);
    expect(sent).toContain('\\"de-CH\\"');
    expect(sent).toContain(JSON.stringify(JSON.stringify(vocabulary)).slice(1, -1));
    expect(sent).toContain('at most 2');
    expect(sent).toContain('alt_text:');
    // Whatever the model answered, only vocabulary terms are keywords; the rest is reported apart.
    for (const keyword of result.keywords) expect(vocabulary).toContain(keyword);
    expect(result.keywords.length).toBeLessThanOrEqual(2);
    expect(Array.isArray(result.unmatched_keywords)).toBe(true);
    expect(result.alt_text.length).toBeLessThanOrEqual(125);
    expect(result.language).toBe('de-CH');

    // 1,500 tokens in at $1/M + 120 out at $2/M (the stub's usage, the deployed prices).
    expect(provenance).toMatchObject({
      provider: 'bedrock',
      model_id: 'us.amazon.nova-lite-v1:0',
      prompt_version: PROMPT_VERSION,
      input_tokens: 1500,
      output_tokens: 120,
      cost_usd: 0.00174,
      price_table: 'test-contract-prices',
    });
    expect(provenance.image_pixels).toBeGreaterThan(0);
  }, 60_000);
});
