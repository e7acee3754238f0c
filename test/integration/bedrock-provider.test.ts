// Integration: the Bedrock provider with the real BedrockRuntimeClient (built by the factory,
// endpoint from AWS_ENDPOINT_URL_BEDROCK_RUNTIME) against the local Bedrock Runtime stub on
// 127.0.0.1, which refuses (400) what the real service refuses: see test/support/converse-stub.ts.
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { makeWav } from '../support/audio-files';
import { join } from 'node:path';
import { ConverseCommand, InvokeModelCommand, ValidationException } from '@aws-sdk/client-bedrock-runtime';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { DEFAULT_BEDROCK_MODEL_IDS } from '../../lib/settings';
import { createBedrockProvider } from '../../lambdas/adapters/bedrock-provider';
import { CONVERSE_IMAGE_LIMITS } from '../../lambdas/adapters/image-downscaler';
import { createAudioNormaliser } from '../../lambdas/adapters/audio-normaliser';
import { createMetadataProvider } from '../../lambdas/adapters/model-provider';
import { PermanentJobError, TransientJobError } from '../../lambdas/core/errors';
import type { AudioNormaliser, ExtractionInput, MetadataProvider } from '../../lambdas/core/ports';
import { converseReplies, mediaKindOf, textOf, type ConverseStubOptions } from '../support/converse-stub';
import { useConverseStub } from '../support/converse-stub-session';
import { fakeAudioNormaliser, monoMp3Frames } from '../support/fake-audio-normaliser';

const IMAGE_MODEL = 'us.amazon.nova-lite-v1:0';
const AUDIO_MODEL = 'mistral.voxtral-small-24b-2507';

const converse = useConverseStub();

async function providerAgainstStub(
  options: ConverseStubOptions,
  tuning: { maxAttempts?: number } = { maxAttempts: 1 },
  audioNormaliser: AudioNormaliser = fakeAudioNormaliser({ duration_seconds: 12 }),
): Promise<MetadataProvider> {
  await converse.start(options);
  return createBedrockProvider(converse.client(tuning), { modelIds: { image: IMAGE_MODEL, audio: AUDIO_MODEL }, audioNormaliser });
}

const invokeBodyOf = (index: number) => converse.requests[index]!.body as unknown as { messages: Array<{ role: string; content: any }>; [key: string]: unknown };

async function pngInput(width: number, height: number): Promise<ExtractionInput> {
  const bytes = await sharp({ create: { width, height, channels: 3, background: '#3366cc' } }).png().toBuffer();
  return { kind: 'image', format: 'png', mime: 'image/png', bytes: new Uint8Array(bytes) };
}

const mp3Input = (s3Location?: { bucket: string; key: string }): ExtractionInput => ({
  kind: 'audio',
  format: 'mp3',
  mime: 'audio/mpeg',
  bytes: new Uint8Array([0x49, 0x44, 0x33, 4, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4]),
  ...(s3Location ? { s3Location } : {}),
});

const validImage = { description: 'A plain blue square.', keywords: ['Blue', ' blue ', 'Square  Shape'], caption: 'Blue square' };

function sentImageBytes(requestIndex = 0): Buffer {
  const block = converse.requests[requestIndex]!.body!.messages![0]!.content.find((part) => part.image);
  return Buffer.from(block!.image.source.bytes as string, 'base64');
}

describe('Bedrock provider against a Converse stub', () => {
  it('sends the image with the model ID in the path, the forced tool and temperature 0', async () => {
    const provider = await providerAgainstStub({ replies: [converseReplies.tool(validImage)] });
    const input = await pngInput(64, 48);

    const output = await provider.extract(input);

    const request = converse.requests[0]!;
    expect(request.method).toBe('POST');
    expect(request.path).toBe(`/model/${encodeURIComponent(IMAGE_MODEL)}/converse`);
    expect(request.modelId).toBe(IMAGE_MODEL);
    expect(request.body!.messages![0]!.content[0]!.image.format).toBe('png');
    expect(request.body!.toolConfig!.toolChoice).toEqual({ tool: { name: 'record_metadata' } });
    expect(request.body!.toolConfig!.tools![0]!.toolSpec!.name).toBe('record_metadata');
    expect(request.body!.inferenceConfig!.temperature).toBe(0);
    expect(request.body!.system![0]!.text).toContain('record_metadata');
    expect(output.model).toEqual({ provider: 'bedrock', id: IMAGE_MODEL });
    expect(output.result.keywords).toEqual(['blue', 'square shape']);
    expect(output.result).toMatchObject({ description: validImage.description, caption: validImage.caption });
    expect(output.result.properties).toEqual({ format: 'png', width: 64, height: 48 });
    // image_pixels: what was sent, 64 x 48 (no downscaling needed).
    expect(output.usage).toEqual({ input_tokens: 1200, output_tokens: 150, latency_ms: 25, image_pixels: 64 * 48 });
  });

  it('sends a small image byte-identical', async () => {
    const provider = await providerAgainstStub({});
    const input = await pngInput(300, 200);

    await provider.extract(input);

    expect(sentImageBytes().equals(Buffer.from(input.bytes))).toBe(true);
  });

  it('downscales an image wider than the pixel limit before sending it', async () => {
    const provider = await providerAgainstStub({});
    const input = await pngInput(9000, 100);

    const output = await provider.extract(input);

    const sent = await sharp(sentImageBytes()).metadata();
    expect(sent.format).toBe('png');
    expect(sent.width).toBe(CONVERSE_IMAGE_LIMITS.maxSidePx);
    expect(sent.height).toBeLessThan(100);
    expect(output.result.properties).toMatchObject({ width: 9000, height: 100 });
  });

  it('downscales an image heavier than the byte limit, keeping it under the limit', async () => {
    const provider = await providerAgainstStub({});
    // Random noise does not compress: 1800 x 1800 at JPEG quality 100, 4:4:4, is well over 3.75 MB.
    const noise = randomBytes(1800 * 1800 * 3);
    const heavy = await sharp(noise, { raw: { width: 1800, height: 1800, channels: 3 } })
      .jpeg({ quality: 100, chromaSubsampling: '4:4:4' })
      .toBuffer();
    expect(heavy.byteLength).toBeGreaterThan(CONVERSE_IMAGE_LIMITS.maxBytes);

    await provider.extract({ kind: 'image', format: 'jpeg', mime: 'image/jpeg', bytes: new Uint8Array(heavy) });

    const sent = sentImageBytes();
    expect(sent.byteLength).toBeLessThanOrEqual(CONVERSE_IMAGE_LIMITS.maxBytes);
    const metadata = await sharp(sent).metadata();
    expect(metadata.format).toBe('jpeg');
    expect(converse.requests[0]!.body!.messages![0]!.content[0]!.image.format).toBe('jpeg');
    // Re-encoding alone may be enough; it never grows the image.
    expect(metadata.width).toBeLessThanOrEqual(1800);
    expect(sent.equals(heavy)).toBe(false);
  });

  it('sends a GIF over the pixel limit as a downscaled PNG', async () => {
    const provider = await providerAgainstStub({});
    const gif = await sharp({ create: { width: 8500, height: 40, channels: 3, background: '#aa0000' } }).gif().toBuffer();

    await provider.extract({ kind: 'image', format: 'gif', mime: 'image/gif', bytes: new Uint8Array(gif) });

    expect(converse.requests[0]!.body!.messages![0]!.content[0]!.image.format).toBe('png');
    expect((await sharp(sentImageBytes()).metadata()).width).toBe(8000);
  });

  it('sends Voxtral the normalised MP3 through InvokeModel, with no system prompt (issue 11 item 1)', async () => {
    // Today's code sent Converse with `system` + an audio block: the stub (like Mistral on Bedrock) answers 400.
    const provider = await providerAgainstStub({});

    const output = await provider.extract(mp3Input({ bucket: 'media', key: 'clip.mp3' }));

    expect(converse.requests).toHaveLength(1);
    const request = converse.requests[0]!;
    expect(request.path).toBe(`/model/${encodeURIComponent(AUDIO_MODEL)}/invoke`);
    const body = invokeBodyOf(0);
    expect(body.messages.map((m) => m.role)).toEqual(['user']);
    const [audio, text] = body.messages[0]!.content;
    expect(audio.type).toBe('input_audio');
    expect(audio.input_audio.format).toBe('mp3');
    // Voxtral does not read S3, so the (normalised) bytes travel inline even though the file is in S3.
    expect(Buffer.from(audio.input_audio.data, 'base64').equals(Buffer.from(monoMp3Frames(12)))).toBe(true);
    expect(text.text).toContain('JSON');
    expect(body.response_format).toEqual({ type: 'json_object' });
    expect(output.result).toMatchObject({ summary: 'A stubbed summary of the recording.', keywords: ['stub', 'metahook', 'test fixture'] });
    expect(output.result.properties).toMatchObject({ format: 'mp3', duration_seconds: 12, channels: 2, sample_rate: 44_100, codec: 'mp3', segments: 1 });
    expect(output.model.id).toBe(AUDIO_MODEL);
    expect(output.usage).toMatchObject({ input_tokens: 1200, output_tokens: 150, audio_seconds: 12 });
  });

  it('repairs an invalid JSON-mode reply once over InvokeModel', async () => {
    const provider = await providerAgainstStub({ replies: [converseReplies.text('Here is the metadata: none'), converseReplies.auto()] });

    const output = await provider.extract(mp3Input());

    expect(converse.requests.map((r) => r.operation)).toEqual(['invoke', 'invoke']);
    expect(invokeBodyOf(1).messages.map((m) => m.role)).toEqual(['user', 'assistant', 'user']);
    expect(JSON.stringify(invokeBodyOf(1).messages[2])).toContain('not valid JSON');
    expect(output.usage).toMatchObject({ input_tokens: 2400, output_tokens: 300, audio_seconds: 12 });
  });

  it('splits a recording longer than the audio window, one call per segment, and merges them with a text-only call', async () => {
    const normaliser = fakeAudioNormaliser({ duration_seconds: 100 * 60, tags: { title: 'Board meeting' } });
    const perSegment = (n: number) => ({ description: `Part ${n} talks.`, keywords: [`topic ${n}`, 'Meeting'], summary: `Summary ${n}.` });
    const provider = await providerAgainstStub(
      {
        replies: (request, call) =>
          mediaKindOf(request) === 'audio'
            ? converseReplies.tool(perSegment(call + 1))
            : converseReplies.tool({ description: 'A long meeting in three parts.', keywords: ['ignored'], summary: 'A board meets.' }),
      },
      { maxAttempts: 1 },
      normaliser,
    );

    const output = await provider.extract(mp3Input());

    // Voxtral's documented window is 40 minutes: 100 minutes -> 40 + 40 + 20.
    expect(normaliser.calls[0]).toMatchObject({ segmentSeconds: 2400, maxDurationSeconds: 7200 });
    expect(converse.requests.map((r) => r.operation)).toEqual(['invoke', 'invoke', 'invoke', 'converse']);
    expect(textOf(converse.requests[1]!)).toContain('part 2 of 3');
    const merge = converse.requests[3]!;
    expect(mediaKindOf(merge)).toBeUndefined();
    expect(textOf(merge)).toContain('Summary 1.');
    expect(textOf(merge)).toContain('Summary 3.');
    expect(merge.body!.toolConfig!.toolChoice).toEqual({ any: {} });
    expect(output.result).toMatchObject({ description: 'A long meeting in three parts.', summary: 'A board meets.' });
    expect(output.result.keywords).toEqual(['topic 1', 'topic 2', 'topic 3', 'meeting']);
    expect(output.result.properties).toMatchObject({ duration_seconds: 6000, segments: 3, tag_title: 'Board meeting' });
    expect(output.usage).toMatchObject({ input_tokens: 4800, output_tokens: 600, audio_seconds: 6000 });
  });

  it('sends a 30-minute recording in one call (within the window)', async () => {
    const provider = await providerAgainstStub({}, { maxAttempts: 1 }, fakeAudioNormaliser({ duration_seconds: 30 * 60 }));

    const output = await provider.extract(mp3Input());

    expect(converse.requests).toHaveLength(1);
    expect(output.usage?.audio_seconds).toBe(1800);
  });

  it('fails a recording over the maximum duration with file_too_long, without calling the model', async () => {
    const provider = await providerAgainstStub({}, { maxAttempts: 1 }, fakeAudioNormaliser({ duration_seconds: 3 * 60 * 60 }));

    const failure = await provider.extract(mp3Input()).catch((error: unknown) => error);

    expect((failure as PermanentJobError).code).toBe('file_too_long');
    expect(converse.requests).toHaveLength(0);
  });

  it("takes a job's lower (tenant) limit, and caps a higher one at the deployment's", async () => {
    const normaliser = fakeAudioNormaliser({ duration_seconds: 20 * 60 });
    const provider = await providerAgainstStub({}, { maxAttempts: 1 }, normaliser);

    const failure = await provider.extract({ ...mp3Input(), audioLimit: { maxSeconds: 600, setBy: 'tenant' } }).catch((error: unknown) => error);
    await provider.extract({ ...mp3Input(), audioLimit: { maxSeconds: 10 * 3600, setBy: 'tenant' } });

    expect((failure as PermanentJobError).code).toBe('file_too_long');
    // Voxtral's 40-minute window is above the tenant's 10 minutes: one segment of at most 600 s.
    expect(normaliser.calls[0]).toMatchObject({ maxDurationSeconds: 600, segmentSeconds: 600, limitSetBy: 'tenant' });
    expect(normaliser.calls[1]).toMatchObject({ maxDurationSeconds: 7200, segmentSeconds: 2400, limitSetBy: 'deployment' });
    expect(converse.requests).toHaveLength(1);
  });

  it('passes audio by s3Location to a model that reads S3', async () => {
    await converse.start();
    const provider = createBedrockProvider(converse.client({}), { modelIds: { image: IMAGE_MODEL, audio: 'us.amazon.nova-2-lite-v1:0' } });

    await provider.extract(mp3Input({ bucket: 'media-bucket', key: 'tenant/clip.mp3' }));

    const audio = converse.requests[0]!.body!.messages![0]!.content[0]!.audio;
    expect(audio.source).toEqual({ s3Location: { uri: 's3://media-bucket/tenant/clip.mp3' } });
  });

  it('repairs an invalid reply once, sending the validation problems back', async () => {
    const provider = await providerAgainstStub({
      replies: [converseReplies.tool({ description: 'Blue.', keywords: 'blue' }), converseReplies.tool(validImage)],
    });

    const output = await provider.extract(await pngInput(32, 32));

    expect(converse.requests).toHaveLength(2);
    const repair = converse.requests[1]!.body!.messages!;
    expect(repair.map((message) => message.role)).toEqual(['user', 'assistant', 'user']);
    expect(repair[1]!.content[0]!.toolUse.toolUseId).toBe('tooluse_stub_0');
    const feedback = repair[2]!.content;
    expect(feedback[0]!.toolResult.toolUseId).toBe('tooluse_stub_0');
    const text = feedback.map((part) => part.text ?? JSON.stringify(part)).join('\n');
    expect(text).toMatch(/keywords/);
    expect(text).toMatch(/caption/);
    expect(output.result.keywords).toEqual(['blue', 'square shape']);
    // The repair resends the same 32 x 32 image; pixels count what one file sent, once.
    expect(output.usage).toEqual({ input_tokens: 2400, output_tokens: 300, latency_ms: 50, image_pixels: 32 * 32 });
  });

  it('repairs a plain-text reply that skipped the tool', async () => {
    const provider = await providerAgainstStub({
      replies: [converseReplies.text('This is a blue square.'), converseReplies.tool(validImage)],
    });

    const output = await provider.extract(await pngInput(32, 32));

    expect(converse.requests).toHaveLength(2);
    expect(JSON.stringify(converse.requests[1]!.body!.messages![2])).toContain('did not call the record_metadata tool');
    expect(output.result).toMatchObject({ caption: 'Blue square' });
  });

  it('fails with model_invalid_output when the repaired reply is still invalid', async () => {
    const provider = await providerAgainstStub({
      replies: [converseReplies.tool({ description: '' }), converseReplies.tool({ caption: 'x' })],
    });

    const failure = await provider.extract(await pngInput(32, 32)).catch((error: unknown) => error);

    expect(failure).toBeInstanceOf(PermanentJobError);
    expect((failure as PermanentJobError).code).toBe('model_invalid_output');
    expect(converse.requests).toHaveLength(2);
  });

  it('turns 429 ThrottlingException into a transient error (record retried, job not failed)', async () => {
    const provider = await providerAgainstStub({ replies: [converseReplies.throttling()] });

    const failure = await provider.extract(await pngInput(32, 32)).catch((error: unknown) => error);

    expect(failure).toBeInstanceOf(TransientJobError);
    expect((failure as TransientJobError).message).toContain('ThrottlingException');
    expect(converse.requests).toHaveLength(1);
  });

  it('lets the SDK absorb one throttle with the factory default of two attempts', async () => {
    const provider = await providerAgainstStub(
      { replies: [converseReplies.throttling(), converseReplies.tool(validImage)] },
      {},
    );

    const output = await provider.extract(await pngInput(32, 32));

    expect(converse.requests).toHaveLength(2);
    expect(output.result).toMatchObject({ caption: 'Blue square' });
  });

  it('turns a 500 into a transient error', async () => {
    const provider = await providerAgainstStub({ replies: [converseReplies.serverError()] });

    await expect(provider.extract(await pngInput(32, 32))).rejects.toBeInstanceOf(TransientJobError);
  });

  it('turns 403 AccessDeniedException into a permanent model_access_denied failure', async () => {
    const provider = await providerAgainstStub({ replies: [converseReplies.accessDenied()] });

    const failure = await provider.extract(await pngInput(32, 32)).catch((error: unknown) => error);

    expect(failure).toBeInstanceOf(PermanentJobError);
    expect((failure as PermanentJobError).code).toBe('model_access_denied');
  });

  it('maps 400 ValidationException to file_too_large or model_error by its message', async () => {
    const provider = await providerAgainstStub({
      replies: [
        converseReplies.validation('Input is too long for requested model.'),
        converseReplies.validation('Malformed input request, please reformat your input and try again.'),
      ],
    });

    const tooLong = await provider.extract(mp3Input()).catch((error: unknown) => error);
    const malformed = await provider.extract(mp3Input()).catch((error: unknown) => error);

    expect((tooLong as PermanentJobError).code).toBe('file_too_large');
    expect(malformed).toBeInstanceOf(PermanentJobError);
    expect((malformed as PermanentJobError).code).toBe('model_error');
  });

  it('builds the bedrock provider from METAHOOK_* settings with the default model IDs', async () => {
    // createMetadataProvider wires the real ffmpeg normaliser: the stub gets mono 16 kHz MP3.
    await converse.start();
    const env = converse.env({ METAHOOK_MODEL_PROVIDER: 'bedrock' });

    const provider = await createMetadataProvider(env);
    await provider.extract(await pngInput(16, 16));
    const tagged = new Uint8Array(readFileSync(join(import.meta.dirname, '..', 'fixtures', 'tagged.mp3')));
    await provider.extract({ ...mp3Input(), bytes: tagged });

    expect(provider.name).toBe('bedrock');
    expect(converse.requests.map((request) => request.modelId)).toEqual([
      DEFAULT_BEDROCK_MODEL_IDS.image,
      DEFAULT_BEDROCK_MODEL_IDS.audio,
    ]);
  });
});

describe('with the real ffmpeg normaliser (lambdas/adapters/audio-normaliser.ts)', () => {
  it('sends a 44.1 kHz stereo WAV to Voxtral as the mono 16 kHz MP3 the stub (and AWS sample) require', async () => {
    const normaliser = await createAudioNormaliser();
    expect(normaliser, 'ffmpeg from @ffmpeg-installer is installed').toBeDefined();
    const provider = await providerAgainstStub({}, { maxAttempts: 1 }, normaliser!);
    const wav = makeWav({ seconds: 20, sampleRate: 44_100, channels: 2 });

    const output = await provider.extract({ kind: 'audio', format: 'wav', mime: 'audio/wav', bytes: wav });

    expect(converse.requests.map((r) => r.operation)).toEqual(['invoke']);
    const sent = Buffer.from(invokeBodyOf(0).messages[0]!.content[0].input_audio.data, 'base64');
    // 32 kbps for 20 s is ~80 KB against 3.5 MB of WAV.
    expect(sent.byteLength * 10).toBeLessThan(wav.byteLength);
    expect(output.result.properties).toMatchObject({ format: 'wav', channels: 2, sample_rate: 44_100, segments: 1 });
    expect(Number(output.result.properties!.duration_seconds)).toBeCloseTo(20, 0);
    expect(output.usage!.audio_seconds).toBeCloseTo(20, 0);
  }, 60_000);
});

describe('the stub refuses what Bedrock refuses (real client, raw commands)', () => {
  const mono = monoMp3Frames(1);
  const send = async (command: ConverseCommand | InvokeModelCommand) => {
    if (!converse.running) await converse.start();
    return converse.client({ maxAttempts: 1 }).send(command as ConverseCommand).catch((error: unknown) => error);
  };
  const invoke = (body: unknown) =>
    new InvokeModelCommand({ modelId: AUDIO_MODEL, contentType: 'application/json', body: new TextEncoder().encode(JSON.stringify(body)) });
  const audioPart = (bytes: Uint8Array) => ({ type: 'input_audio', input_audio: { data: Buffer.from(bytes).toString('base64'), format: 'mp3' } });

  it.each([
    [
      'a system prompt next to audio for a Mistral model (Converse)',
      new ConverseCommand({ modelId: 'mistral.voxtral-mini-3b-2507', system: [{ text: 'be brief' }], messages: [{ role: 'user', content: [{ audio: { format: 'mp3', source: { bytes: mono } } }] }] }),
      /system messages/,
    ],
    [
      'toolChoice.tool for a model other than Claude or Nova',
      new ConverseCommand({
        modelId: 'mistral.pixtral-large-2502-v1:0',
        messages: [{ role: 'user', content: [{ text: 'hi' }] }],
        toolConfig: { tools: [{ toolSpec: { name: 't', inputSchema: { json: {} } } }], toolChoice: { tool: { name: 't' } } },
      }),
      /toolChoice\.tool/,
    ],
    ['an audio block for Nova Lite (no audio input)', new ConverseCommand({ modelId: IMAGE_MODEL, messages: [{ role: 'user', content: [{ audio: { format: 'mp3', source: { bytes: mono } } }] }] }), /audio input/],
    ['Voxtral audio through Converse', new ConverseCommand({ modelId: AUDIO_MODEL, messages: [{ role: 'user', content: [{ audio: { format: 'mp3', source: { bytes: mono } } }] }] }), /InvokeModel/],
    ['a system message next to audio (InvokeModel)', invoke({ messages: [{ role: 'system', content: 'x' }, { role: 'user', content: [audioPart(mono)] }], max_tokens: 10 }), /system messages/],
    ['stereo 44.1 kHz MP3 to Voxtral', invoke({ messages: [{ role: 'user', content: [audioPart(new Uint8Array([0xff, 0xfb, 0x50, 0x64, 0, 0]))] }], max_tokens: 10 }), /mono 16 kHz/],
    ['a Converse body sent to InvokeModel', invoke({ messages: [], max_tokens: 5, inferenceConfig: {} }), /extraneous key/],
  ] as const)('answers 400 ValidationException to %s', async (_label, command, message) => {
    const failure = await send(command);

    expect(failure).toBeInstanceOf(ValidationException);
    expect((failure as Error).message).toMatch(message);
  });

  it('refuses a content block with no member set (what an SDK older than 3.943.0 sends for audio)', async () => {
    const stub = await converse.start();
    const response = await fetch(`${stub.endpoint}/model/${encodeURIComponent('us.amazon.nova-2-lite-v1:0')}/converse`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ messages: [{ role: 'user', content: [{}, { text: 'describe' }] }] }),
    });

    expect(response.status).toBe(400);
    expect(response.headers.get('x-amzn-errortype')).toMatch(/^ValidationException/);
    expect(await response.text()).toContain('exactly one member');
  });
});
