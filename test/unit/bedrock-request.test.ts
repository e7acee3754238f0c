// Unit: the traits table and the production request builder, per model family: request style,
// toolChoice, where the instructions go, JSON mode, and refusals before any call is made.
import { describe, expect, it } from 'vitest';
import { DEFAULT_BEDROCK_MODEL_IDS } from '../../lib/settings';
import { bedrockModelTraits } from '../../lambdas/adapters/bedrock-model-traits';
import { buildMetadataRequest, buildRepairRequest, readMetadataReply, type BedrockRequest } from '../../lambdas/adapters/bedrock-request';
import { PermanentJobError } from '../../lambdas/core/errors';
import { METADATA_TOOL_NAME, systemPromptFor } from '../../lambdas/core/prompts';

const mp3 = new Uint8Array([0xff, 0xf3, 0x48, 0xc0, 1, 2, 3]);
const png = new Uint8Array([0x89, 0x50, 0x4e, 0x47]);
const audio = { type: 'audio', format: 'mp3', bytes: mp3 } as const;
const image = { type: 'image', format: 'png', bytes: png } as const;

const converse = (request: BedrockRequest) => {
  if (request.style !== 'converse') throw new Error(`expected converse, got ${request.style}`);
  return request.input;
};
const invoke = (request: BedrockRequest) => {
  if (request.style !== 'invoke') throw new Error(`expected invoke, got ${request.style}`);
  return request.body;
};

describe('bedrockModelTraits', () => {
  it.each([
    ['us.amazon.nova-lite-v1:0', 'amazon-nova', 'tool', true, 'converse'],
    ['amazon.nova-pro-v1:0', 'amazon-nova', 'tool', true, 'converse'],
    ['global.amazon.nova-2-lite-v1:0', 'amazon-nova-2', 'tool', true, 'converse'],
    ['eu.anthropic.claude-3-haiku-20240307-v1:0', 'anthropic-claude', 'tool', false, 'converse'],
    ['arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.amazon.nova-lite-v1:0', 'amazon-nova', 'tool', true, 'converse'],
    ['mistral.voxtral-small-24b-2507', 'mistral-voxtral', 'any', false, 'invoke'],
    ['mistral.voxtral-mini-3b-2507', 'mistral-voxtral', 'any', false, 'invoke'],
    ['us.mistral.pixtral-large-2502-v1:0', 'mistral', 'any', false, 'converse'],
    ['cohere.command-r-v1:0', 'unknown', 'any', false, 'converse'],
  ] as const)('%s: family %s, toolChoice %s, S3 %s, audio by %s', (modelId, family, toolChoice, readsS3, audioRequestStyle) => {
    expect(bedrockModelTraits(modelId)).toMatchObject({ family, toolChoice, readsS3, audioRequestStyle });
  });

  it('gives the default audio model a documented window and no system prompt next to audio', () => {
    const voxtral = bedrockModelTraits(DEFAULT_BEDROCK_MODEL_IDS.audio);
    expect(voxtral.systemPromptWithAudio).toBe(false);
    expect(voxtral.audioWindowSeconds).toBe(2400);
    expect(voxtral.audioFormats).toContain('mp3');
    expect(voxtral.imageFormats).toEqual([]);
    expect(bedrockModelTraits(DEFAULT_BEDROCK_MODEL_IDS.image).audioFormats).toEqual([]);
  });
});

describe('buildMetadataRequest', () => {
  it('Nova Lite image: Converse, system prompt, the named tool forced, temperature 0', () => {
    const input = converse(buildMetadataRequest({ modelId: DEFAULT_BEDROCK_MODEL_IDS.image, kind: 'image', media: image, maxTokens: 1024 }));

    expect(input.modelId).toBe(DEFAULT_BEDROCK_MODEL_IDS.image);
    expect(input.system).toEqual([{ text: systemPromptFor('image') }]);
    expect(input.toolConfig?.toolChoice).toEqual({ tool: { name: METADATA_TOOL_NAME } });
    expect(input.messages?.[0]?.content?.[0]).toEqual({ image: { format: 'png', source: { bytes: png } } });
    expect(input.inferenceConfig).toEqual({ temperature: 0, maxTokens: 1024 });
  });

  it('Voxtral audio: InvokeModel with input_audio first, no system anywhere, JSON mode, instructions in the user turn', () => {
    const body = invoke(buildMetadataRequest({ modelId: DEFAULT_BEDROCK_MODEL_IDS.audio, kind: 'audio', media: audio, maxTokens: 900 }));

    expect(body.messages).toHaveLength(1);
    expect(body.messages.map((m) => m.role)).toEqual(['user']);
    const [audioPart, textPart] = body.messages[0]!.content as Array<Record<string, any>>;
    expect(audioPart).toEqual({ type: 'input_audio', input_audio: { data: Buffer.from(mp3).toString('base64'), format: 'mp3' } });
    expect(textPart!.type).toBe('text');
    expect(textPart!.text).toContain('You catalogue audio recordings');
    expect(textPart!.text).toContain('"summary"');
    // JSON mode: the tool rule is replaced, not contradicted.
    expect(textPart!.text).not.toContain(`Call the ${METADATA_TOOL_NAME} tool`);
    expect(body).toMatchObject({ max_tokens: 900, temperature: 0, response_format: { type: 'json_object' } });
    expect(JSON.stringify(body)).not.toContain('"system"');
  });

  it('a Mistral model taking audio through Converse gets no `system`: the instructions lead the user turn', () => {
    // Unknown Mistral audio models use Converse; the Mistral rule on system prompts still applies.
    const traits = { ...bedrockModelTraits('mistral.voxtral-small-24b-2507'), audioRequestStyle: 'converse' as const };
    const input = converse(buildMetadataRequest({ modelId: 'mistral.voxtral-small-24b-2507', kind: 'audio', media: audio, maxTokens: 10 }, traits));

    expect(input.system).toBeUndefined();
    expect(input.toolConfig?.toolChoice).toEqual({ any: {} });
    const text = input.messages![0]!.content!.find((block) => block.text)!.text!;
    expect(text.startsWith(systemPromptFor('audio'))).toBe(true);
  });

  it('Nova 2 Lite audio from S3: Converse with s3Location and the system prompt', () => {
    const input = converse(
      buildMetadataRequest({ modelId: 'us.amazon.nova-2-lite-v1:0', kind: 'audio', media: { type: 'audio-s3', format: 'mp3', uri: 's3://b/k.mp3' }, maxTokens: 10 }),
    );

    expect(input.system?.[0]?.text).toBe(systemPromptFor('audio'));
    expect(input.messages![0]!.content![0]!.audio!.source).toEqual({ s3Location: { uri: 's3://b/k.mp3' } });
    expect(input.toolConfig?.toolChoice).toEqual({ tool: { name: METADATA_TOOL_NAME } });
  });

  it('a text-only call (merging segments) may carry the system prompt even for Voxtral', () => {
    const input = converse(
      buildMetadataRequest({ modelId: DEFAULT_BEDROCK_MODEL_IDS.audio, kind: 'audio', media: { type: 'none' }, instruction: 'merge these', maxTokens: 10 }),
    );

    expect(input.system).toHaveLength(1);
    expect(input.messages![0]!.content).toEqual([{ text: 'merge these' }]);
  });

  it.each([
    ['audio to an image-only model', DEFAULT_BEDROCK_MODEL_IDS.image, 'audio', audio],
    ['an image to Voxtral', DEFAULT_BEDROCK_MODEL_IDS.audio, 'image', image],
    ['ogg to Voxtral', DEFAULT_BEDROCK_MODEL_IDS.audio, 'audio', { type: 'audio', format: 'ogg', bytes: mp3 }],
  ] as const)('refuses %s before calling Bedrock', (_label, modelId, kind, media) => {
    const build = () => buildMetadataRequest({ modelId, kind, media, maxTokens: 10 });

    expect(build).toThrow(PermanentJobError);
    expect(build).toThrow(/does not take/);
  });
});

describe('replies and the repair turn', () => {
  it('reads a JSON-mode reply, fences tolerated, and repairs with the previous answer', () => {
    const request = buildMetadataRequest({ modelId: DEFAULT_BEDROCK_MODEL_IDS.audio, kind: 'audio', media: audio, maxTokens: 10 });
    const good = { style: 'invoke', body: { choices: [{ message: { content: '```json\n{"description":"Speech.","keywords":["talk"],"summary":"Talk."}\n```' } }] } } as const;
    const bad = { style: 'invoke', body: { choices: [{ message: { content: '{"description":"Speech."}' }, finish_reason: 'length' }] } } as const;

    expect(readMetadataReply('audio', good)).toMatchObject({ ok: true, output: { summary: 'Talk.' } });
    const reading = readMetadataReply('audio', bad);
    expect(reading.ok).toBe(false);
    const problems = reading.ok ? [] : reading.problems;
    expect(problems.join('\n')).toMatch(/keywords/);
    expect(problems).toContain('the reply was cut off at the output token limit');

    const repair = invoke(buildRepairRequest(request, bad, problems));
    expect(repair.messages.map((m) => m.role)).toEqual(['user', 'assistant', 'user']);
    expect(repair.messages[1]!.content).toBe('{"description":"Speech."}');
    expect(JSON.stringify(repair.messages[2])).toContain('keywords');
  });

  it('answers every toolUse with a toolResult in a Converse repair', () => {
    const request = buildMetadataRequest({ modelId: DEFAULT_BEDROCK_MODEL_IDS.image, kind: 'image', media: image, maxTokens: 10 });
    const reply = {
      style: 'converse',
      output: { output: { message: { role: 'assistant', content: [{ toolUse: { toolUseId: 't9', name: METADATA_TOOL_NAME, input: {} } }] } }, $metadata: {} },
    } as const;

    const messages = converse(buildRepairRequest(request, reply as never, ['caption: required'])).messages!;

    expect(messages.map((m) => m.role)).toEqual(['user', 'assistant', 'user']);
    expect(messages[2]!.content![0]!.toolResult!.toolUseId).toBe('t9');
  });
});
