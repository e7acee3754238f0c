// Unit: Bedrock provider request building, error mapping and model traits (aws-sdk-client-mock),
// the provider factory's configuration, and the image header reader behind the downscaler.
import { PROMPT_VERSION } from '../../lambdas/core/prompts';
import { fakeAudioNormaliser } from '../support/fake-audio-normaliser';
import {
  AccessDeniedException,
  BedrockRuntimeClient,
  ConverseCommand,
  InternalServerException,
  InvokeModelCommand,
  ModelErrorException,
  ModelNotReadyException,
  ModelTimeoutException,
  ResourceNotFoundException,
  ServiceQuotaExceededException,
  ServiceUnavailableException,
  ThrottlingException,
  ValidationException,
  type ConverseCommandOutput,
} from '@aws-sdk/client-bedrock-runtime';
import { mockClient } from 'aws-sdk-client-mock';
import sharp, { type Sharp } from 'sharp';
import { beforeEach, describe, expect, it } from 'vitest';
import { DEFAULT_BEDROCK_MODEL_IDS } from '../../lib/settings';
import { classifyBedrockError, createBedrockProvider } from '../../lambdas/adapters/bedrock-provider';
import { readImageSize, type ImageFormat } from '../../lambdas/adapters/image-downscaler';
import { createMetadataProvider, readModelConfig } from '../../lambdas/adapters/model-provider';
import { PermanentJobError, TransientJobError } from '../../lambdas/core/errors';
import { MAX_KEYWORDS } from '../../lambdas/core/metadata-result';
import type { ExtractionInput } from '../../lambdas/core/ports';
import { ConfigurationError } from '../../lambdas/runtime-config';

const bedrock = mockClient(BedrockRuntimeClient);
const MODELS = { image: 'us.amazon.nova-lite-v1:0', audio: 'mistral.voxtral-small-24b-2507' };

const toolReply = (input: unknown, usage = { inputTokens: 900, outputTokens: 80 }): ConverseCommandOutput => ({
  output: { message: { role: 'assistant', content: [{ toolUse: { toolUseId: 't1', name: 'record_metadata', input: input as never } }] } },
  stopReason: 'tool_use',
  usage: { ...usage, totalTokens: usage.inputTokens + usage.outputTokens },
  metrics: { latencyMs: 640 },
  $metadata: {},
});

const audio: ExtractionInput = { kind: 'audio', format: 'mp3', mime: 'audio/mpeg', bytes: new Uint8Array([0xff, 0xf3, 0x48, 0xc0, 1]) };

/** What Voxtral answers to InvokeModel (Mistral chat completion), as the SDK hands it back. */
const invokeReply = (content: unknown, usage = { prompt_tokens: 900, completion_tokens: 80 }, finish_reason = 'stop') =>
  ({
    body: new TextEncoder().encode(
      JSON.stringify({ choices: [{ index: 0, message: { role: 'assistant', content: typeof content === 'string' ? content : JSON.stringify(content) }, finish_reason }], usage }),
    ),
    contentType: 'application/json',
    $metadata: {},
  }) as never;
const invokeBody = (call = 0) => JSON.parse(new TextDecoder().decode(bedrock.commandCalls(InvokeModelCommand)[call]!.args[0].input.body as Uint8Array));
const validAudio = { description: 'A person speaks.', keywords: ['speech'], summary: 'Someone talks.' };

beforeEach(() => {
  bedrock.reset();
});

describe('createBedrockProvider', () => {
  it('sends audio to Voxtral with InvokeModel and never a system prompt next to the audio (issue 11 item 1)', async () => {
    // Today's code sent every request through Converse with `system`; Mistral refuses that with a 400.
    bedrock.on(InvokeModelCommand).resolves(invokeReply(validAudio));
    const provider = createBedrockProvider(new BedrockRuntimeClient({}), { modelIds: MODELS });

    const output = await provider.extract(audio);

    for (const call of bedrock.commandCalls(ConverseCommand)) {
      const input = call.args[0].input;
      const hasAudio = (input.messages ?? []).some((m) => (m.content ?? []).some((block) => block.audio));
      expect(hasAudio && input.system !== undefined).toBe(false);
    }
    expect(bedrock.commandCalls(InvokeModelCommand)).toHaveLength(1);
    const body = invokeBody();
    expect(bedrock.commandCalls(InvokeModelCommand)[0]!.args[0].input.modelId).toBe(MODELS.audio);
    expect(body.messages.map((m: { role: string }) => m.role)).toEqual(['user']);
    expect(body.messages[0].content[0]).toEqual({ type: 'input_audio', input_audio: { data: Buffer.from(audio.bytes).toString('base64'), format: 'mp3' } });
    expect(body).toMatchObject({ temperature: 0, max_tokens: 1024, response_format: { type: 'json_object' } });
    expect(output.result).toEqual({ ...validAudio, properties: { format: 'mp3' } });
    expect(output.model).toEqual({ provider: 'bedrock', id: MODELS.audio });
    expect(output.usage).toMatchObject({ input_tokens: 900, output_tokens: 80 });
  });

  it('lower-cases, de-duplicates and caps the keywords', async () => {
    const keywords = ['Rain', 'rain ', 'THUNDER', ...Array.from({ length: 30 }, (_, i) => `Word ${i}`)];
    bedrock.on(InvokeModelCommand).resolves(invokeReply({ ...validAudio, keywords }));
    const provider = createBedrockProvider(new BedrockRuntimeClient({}), { modelIds: MODELS });

    const { result } = await provider.extract(audio);

    expect(result.keywords).toHaveLength(MAX_KEYWORDS);
    expect(result.keywords.slice(0, 3)).toEqual(['rain', 'thunder', 'word 0']);
  });

  it('refuses inline audio above the limit without calling Bedrock when the model cannot read S3', async () => {
    const provider = createBedrockProvider(new BedrockRuntimeClient({}), { modelIds: MODELS, maxInlineAudioBytes: 4 });

    const failure = await provider.extract({ ...audio, s3Location: { bucket: 'b', key: 'k.mp3' } }).catch((error: unknown) => error);

    expect((failure as PermanentJobError).code).toBe('file_too_large');
    expect(bedrock.calls()).toHaveLength(0);
  });

  it('refuses audio for an image-only audio model with unsupported_media_type, without a call', async () => {
    const provider = createBedrockProvider(new BedrockRuntimeClient({}), { modelIds: { ...MODELS, audio: 'us.amazon.nova-lite-v1:0' } });

    const failure = await provider.extract(audio).catch((error: unknown) => error);

    expect((failure as PermanentJobError).code).toBe('unsupported_media_type');
    expect(bedrock.calls()).toHaveLength(0);
  });

  it('maps an SDK exception to the job error the extractor acts on', async () => {
    bedrock.on(InvokeModelCommand).rejects(new ThrottlingException({ message: 'slow down', $metadata: { httpStatusCode: 429 } }));
    const provider = createBedrockProvider(new BedrockRuntimeClient({}), { modelIds: MODELS });

    await expect(provider.extract(audio)).rejects.toBeInstanceOf(TransientJobError);
  });

  it('counts the tokens of both calls when it repairs', async () => {
    bedrock
      .on(InvokeModelCommand)
      .resolvesOnce(invokeReply({ description: 'x' }, { prompt_tokens: 1000, completion_tokens: 10 }))
      .resolvesOnce(invokeReply(validAudio, { prompt_tokens: 1100, completion_tokens: 90 }));
    const provider = createBedrockProvider(new BedrockRuntimeClient({}), { modelIds: MODELS });

    const output = await provider.extract(audio);

    expect(bedrock.commandCalls(InvokeModelCommand)).toHaveLength(2);
    expect(output.usage).toMatchObject({ input_tokens: 2100, output_tokens: 100 });
    expect(invokeBody(1).messages.map((m: { role: string }) => m.role)).toEqual(['user', 'assistant', 'user']);
  });

  it('treats a reply cut off at the token limit as invalid and says so in the repair', async () => {
    bedrock
      .on(InvokeModelCommand)
      .resolvesOnce(invokeReply({ description: 'cut' }, undefined, 'length'))
      .resolvesOnce(invokeReply(validAudio));
    const provider = createBedrockProvider(new BedrockRuntimeClient({}), { modelIds: MODELS });

    await provider.extract(audio);

    expect(JSON.stringify(invokeBody(1).messages.at(-1))).toContain('cut off at the output token limit');
  });

  it('repairs a Converse image reply, summing Bedrock latency across both calls', async () => {
    const validImage = { description: 'A square.', keywords: ['square'], caption: 'Square' };
    bedrock.on(ConverseCommand).resolvesOnce(toolReply({ description: 'x' })).resolvesOnce(toolReply(validImage));
    const provider = createBedrockProvider(new BedrockRuntimeClient({}), { modelIds: MODELS });
    const bytes = await sharp({ create: { width: 8, height: 8, channels: 3, background: '#000' } }).png().toBuffer();

    const output = await provider.extract({ kind: 'image', format: 'png', mime: 'image/png', bytes: new Uint8Array(bytes) });

    // The 8 x 8 image is sent as is: 64 pixels, counted once although the repair resends it.
    expect(output.usage).toEqual({ input_tokens: 1800, output_tokens: 160, latency_ms: 1280, image_pixels: 64 });
    expect(output.promptVersion).toBe(PROMPT_VERSION);
    expect(bedrock.commandCalls(ConverseCommand)[0]!.args[0].input.toolConfig?.toolChoice).toEqual({ tool: { name: 'record_metadata' } });
  });
});

describe('classifyBedrockError', () => {
  const meta = (httpStatusCode: number) => ({ $metadata: { httpStatusCode } });

  it.each([
    ['ThrottlingException', new ThrottlingException({ message: 'x', ...meta(429) })],
    ['ServiceUnavailableException', new ServiceUnavailableException({ message: 'x', ...meta(503) })],
    ['InternalServerException', new InternalServerException({ message: 'x', ...meta(500) })],
    ['ModelNotReadyException', new ModelNotReadyException({ message: 'x', ...meta(429) })],
    ['ModelTimeoutException', new ModelTimeoutException({ message: 'x', ...meta(408) })],
    ['ModelErrorException', new ModelErrorException({ message: 'x', ...meta(424) })],
    ['ServiceQuotaExceededException', new ServiceQuotaExceededException({ message: 'x', ...meta(400) })],
    ['an unnamed 502', Object.assign(new Error('bad gateway'), { name: 'UnknownError', ...meta(502) })],
    ['a connection reset', Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' })],
    ['a socket timeout', Object.assign(new Error('timed out'), { name: 'TimeoutError' })],
  ])('%s is transient', (_label, error) => {
    const mapped = classifyBedrockError(error, 'm');

    expect(mapped).toBeInstanceOf(TransientJobError);
    expect(mapped.cause).toBe(error);
  });

  it.each([
    ['AccessDeniedException', new AccessDeniedException({ message: 'no access', ...meta(403) }), 'model_access_denied'],
    ['a bare 403', Object.assign(new Error('forbidden'), { name: 'UnknownError', ...meta(403) }), 'model_access_denied'],
    ['ValidationException', new ValidationException({ message: 'Malformed input request', ...meta(400) }), 'model_error'],
    ['an oversized image', new ValidationException({ message: 'Image exceeds max pixels allowed', ...meta(400) }), 'file_too_large'],
    ['a too-long input', new ValidationException({ message: 'Input is too long for requested model.', ...meta(400) }), 'file_too_large'],
    ['a 413', Object.assign(new Error('Request Entity Too Large'), { name: 'UnknownError', ...meta(413) }), 'file_too_large'],
    ['ResourceNotFoundException', new ResourceNotFoundException({ message: 'no such model', ...meta(404) }), 'model_error'],
  ])('%s is permanent', (_label, error, code) => {
    const mapped = classifyBedrockError(error, 'us.amazon.nova-lite-v1:0');

    expect(mapped).toBeInstanceOf(PermanentJobError);
    expect(mapped.code).toBe(code);
    expect(mapped.message).toContain('us.amazon.nova-lite-v1:0');
  });
});

describe('readModelConfig and createMetadataProvider', () => {
  it('defaults to the local analyzer', () => {
    expect(readModelConfig({})).toEqual({ provider: 'local' });
  });

  it('loads the local analyzer when no provider is configured', async () => {
    const provider = await createMetadataProvider({});

    expect(provider.name).toBe('local');
  });

  it('uses the documented default models when bedrock is chosen without model IDs', () => {
    expect(readModelConfig({ METAHOOK_MODEL_PROVIDER: 'Bedrock' })).toEqual({
      provider: 'bedrock',
      imageModelId: DEFAULT_BEDROCK_MODEL_IDS.image,
      audioModelId: DEFAULT_BEDROCK_MODEL_IDS.audio,
    });
  });

  it('takes the model IDs from METAHOOK_IMAGE_MODEL_ID and METAHOOK_AUDIO_MODEL_ID', () => {
    const config = readModelConfig({
      METAHOOK_MODEL_PROVIDER: 'bedrock',
      METAHOOK_IMAGE_MODEL_ID: ' anthropic.claude-3-haiku-20240307-v1:0 ',
      METAHOOK_AUDIO_MODEL_ID: 'arn:aws:bedrock:us-west-2:123456789012:inference-profile/us.amazon.nova-2-lite-v1:0',
    });

    expect(config).toMatchObject({
      imageModelId: 'anthropic.claude-3-haiku-20240307-v1:0',
      audioModelId: 'arn:aws:bedrock:us-west-2:123456789012:inference-profile/us.amazon.nova-2-lite-v1:0',
    });
  });

  it('refuses an unknown provider or a malformed model ID with a ConfigurationError', () => {
    expect(() => readModelConfig({ METAHOOK_MODEL_PROVIDER: 'openai' })).toThrow(ConfigurationError);
    expect(() => readModelConfig({ METAHOOK_MODEL_PROVIDER: 'bedrock', METAHOOK_IMAGE_MODEL_ID: 'nova lite' })).toThrow(
      /METAHOOK_IMAGE_MODEL_ID/,
    );
  });

  it('builds a Bedrock provider around the injected client with the configured models', async () => {
    bedrock.on(ConverseCommand).resolves(toolReply(validAudio));
    // Nova 2 Lite takes audio through Converse (bedrock-model-traits.ts).
    const env = { METAHOOK_MODEL_PROVIDER: 'bedrock', METAHOOK_AUDIO_MODEL_ID: 'us.amazon.nova-2-lite-v1:0' };

    const normaliser = fakeAudioNormaliser({ duration_seconds: 3 });
    const provider = await createMetadataProvider(env, { bedrockClient: new BedrockRuntimeClient({}), audioNormaliser: normaliser });
    await provider.extract(audio);

    expect(normaliser.calls).toHaveLength(1);

    expect(provider.name).toBe('bedrock');
    expect(bedrock.commandCalls(ConverseCommand)[0]!.args[0].input.modelId).toBe('us.amazon.nova-2-lite-v1:0');
  });
});

describe('readImageSize', () => {
  const cases: Array<[string, ImageFormat, (image: Sharp) => Sharp]> = [
    ['baseline JPEG', 'jpeg', (image) => image.jpeg()],
    ['progressive JPEG with EXIF', 'jpeg', (image) => image.withMetadata({ orientation: 6 }).jpeg({ progressive: true })],
    ['PNG', 'png', (image) => image.png()],
    ['GIF', 'gif', (image) => image.gif()],
    ['lossy WebP', 'webp', (image) => image.webp()],
    ['lossless WebP', 'webp', (image) => image.webp({ lossless: true })],
    ['WebP with alpha (VP8X)', 'webp', (image) => image.ensureAlpha(0.5).webp()],
  ];

  it.each(cases)('reads the dimensions of a %s from its header', async (_label, format, encode) => {
    const bytes = await encode(sharp({ create: { width: 321, height: 123, channels: 3, background: '#808080' } })).toBuffer();

    expect(readImageSize(new Uint8Array(bytes), format)).toEqual({ width: 321, height: 123 });
  });

  it('returns undefined for bytes that are not the promised format', () => {
    expect(readImageSize(Uint8Array.from({ length: 32 }, (_, i) => i), 'png')).toBeUndefined();
    expect(readImageSize(new Uint8Array([0xff, 0xd8, 0xff, 0xd9]), 'jpeg')).toBeUndefined();
  });
});
