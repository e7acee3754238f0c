// Adapter (Amazon Bedrock), pure part: bedrock-provider / `metahook doctor` -> buildMetadataRequest.
// Turns "ask model M for the metadata of this media" into the exact request Bedrock accepts for M,
// driven by the traits table (bedrock-model-traits.ts): Converse with a forced tool, or InvokeModel
// with the vendor's body and JSON mode; system prompt or instructions folded into the user turn.
// Also reads either reply style back into a validated result. No network, no SDK client here.
import type { ContentBlock, ConverseCommandInput, ConverseCommandOutput, Message, ToolChoice } from '@aws-sdk/client-bedrock-runtime';
import type { MediaKind } from '../core/api-schemas';
import { PermanentJobError } from '../core/errors';
import {
  inlineInstructionsFor,
  jsonRepairInstruction,
  jsonReplyInstructionFor,
  METADATA_TOOL_NAME,
  metadataToolFor,
  parseModelOutput,
  repairInstruction,
  systemPromptFor,
  userInstructionFor,
  type ModelOutput,
  type PromptOptions,
} from '../core/prompts';
import { bedrockModelTraits, type BedrockModelTraits, type ConverseImageFormat } from './bedrock-model-traits';

/** What the model is shown besides the instructions. */
export type MediaPart =
  | { readonly type: 'image'; readonly format: ConverseImageFormat; readonly bytes: Uint8Array }
  | { readonly type: 'audio'; readonly format: string; readonly bytes: Uint8Array }
  | { readonly type: 'audio-s3'; readonly format: string; readonly uri: string }
  /** A text-only call, e.g. merging the segments of a long recording. */
  | { readonly type: 'none' };

export interface MetadataRequestSpec {
  readonly modelId: string;
  /** Which result schema (and tool) the reply must satisfy. */
  readonly kind: MediaKind;
  readonly media: MediaPart;
  /** Appended to the instructions, e.g. which part of a long recording this is. */
  readonly note?: string;
  /** Replaces the default instruction (text-only calls). */
  readonly instruction?: string;
  readonly maxTokens: number;
  /** The request's extraction options (language, vocabulary, keyword count, alt text). */
  readonly options?: PromptOptions;
}

/** Mistral's chat body for InvokeModel, as AWS's Voxtral sample sends it. */
export interface MistralChatBody {
  readonly messages: ReadonlyArray<{ readonly role: 'user' | 'assistant'; readonly content: string | ReadonlyArray<Record<string, unknown>> }>;
  readonly max_tokens: number;
  readonly temperature: number;
  readonly response_format?: { readonly type: 'json_object' };
  readonly tools?: ReadonlyArray<Record<string, unknown>>;
  readonly tool_choice?: 'any';
}

export type BedrockRequest =
  | { readonly style: 'converse'; readonly kind: MediaKind; readonly input: ConverseCommandInput }
  | { readonly style: 'invoke'; readonly kind: MediaKind; readonly modelId: string; readonly body: MistralChatBody };

/** Mistral's chat reply (`choices[0].message.content`), the parts we read. */
export interface MistralChatReply {
  readonly choices?: ReadonlyArray<{
    readonly message?: {
      readonly content?: string | ReadonlyArray<{ readonly type?: string; readonly text?: string }> | null;
      readonly tool_calls?: ReadonlyArray<{ readonly function?: { readonly name?: string; readonly arguments?: string } }>;
    };
    readonly finish_reason?: string;
  }>;
  readonly usage?: { readonly prompt_tokens?: number; readonly completion_tokens?: number };
}

export type BedrockReply =
  | { readonly style: 'converse'; readonly output: ConverseCommandOutput }
  | { readonly style: 'invoke'; readonly body: MistralChatReply };

const base64 = (bytes: Uint8Array) => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');

/**
 * The request for one metadata call. Throws PermanentJobError('unsupported_media_type') when the
 * traits say the model cannot take this media at all, so no call is wasted on a sure 400.
 */
export function buildMetadataRequest(spec: MetadataRequestSpec, traits: BedrockModelTraits = bedrockModelTraits(spec.modelId)): BedrockRequest {
  const { media } = spec;
  if (media.type === 'image' && !traits.imageFormats.includes(media.format)) {
    throw new PermanentJobError('unsupported_media_type', `model ${spec.modelId} does not take ${media.format} images`);
  }
  if ((media.type === 'audio' || media.type === 'audio-s3') && !traits.audioFormats.includes(media.format)) {
    throw new PermanentJobError('unsupported_media_type', `model ${spec.modelId} does not take ${media.format} audio`);
  }
  if (media.type === 'audio-s3' && (!traits.readsS3 || traits.audioRequestStyle !== 'converse')) {
    throw new PermanentJobError('file_too_large', `model ${spec.modelId} cannot read audio from S3`);
  }
  const hasAudio = media.type === 'audio' || media.type === 'audio-s3';
  if (hasAudio && traits.audioRequestStyle === 'invoke') return invokeRequest(spec, traits);
  return converseRequest(spec, traits, hasAudio);
}

function converseRequest(spec: MetadataRequestSpec, traits: BedrockModelTraits, hasAudio: boolean): BedrockRequest {
  const tool = metadataToolFor(spec.kind);
  const toolChoice: ToolChoice = traits.toolChoice === 'tool' ? { tool: { name: tool.name } } : { any: {} };
  // Models that refuse a system prompt next to audio get the same text at the top of the user turn.
  const systemAllowed = !hasAudio || traits.systemPromptWithAudio;
  const instruction = spec.instruction ?? (systemAllowed ? userInstructionFor(spec.kind) : inlineInstructionsFor(spec.kind, spec.options));
  const text = spec.note ? `${instruction}\n${spec.note}` : instruction;
  const content: ContentBlock[] = [];
  const { media } = spec;
  if (media.type === 'image') content.push({ image: { format: media.format, source: { bytes: media.bytes } } });
  if (media.type === 'audio') content.push({ audio: { format: media.format as never, source: { bytes: media.bytes } } });
  if (media.type === 'audio-s3') content.push({ audio: { format: media.format as never, source: { s3Location: { uri: media.uri } } } });
  content.push({ text });
  return {
    style: 'converse',
    kind: spec.kind,
    input: {
      modelId: spec.modelId,
      ...(systemAllowed ? { system: [{ text: systemPromptFor(spec.kind, spec.options) }] } : {}),
      messages: [{ role: 'user', content }],
      toolConfig: {
        // The SDK types the schema as a DocumentType; ours is plain JSON.
        tools: [{ toolSpec: { name: tool.name, description: tool.description, inputSchema: { json: tool.inputSchema as never } } }],
        toolChoice,
      },
      // Temperature 0 and a fixed prompt: the same file gives the same metadata.
      inferenceConfig: { temperature: 0, maxTokens: spec.maxTokens },
    },
  };
}

/**
 * aws-samples/mistral-on-aws (re:Invent 2025 invoke_model notebook), `invoke_voxtral`:
 * `messages: [{ role: "user", content: [{ type: "input_audio", input_audio: { data, format: "mp3" } },
 * { type: "text", text }] }], max_tokens`, reply `choices[0].message.content`. Mistral refuses a
 * system message with audio, so everything is in the one user turn.
 */
function invokeRequest(spec: MetadataRequestSpec, traits: BedrockModelTraits): BedrockRequest {
  const media = spec.media as Extract<MediaPart, { type: 'audio' }>;
  const tool = metadataToolFor(spec.kind);
  const instruction = spec.instruction ?? (traits.jsonMode ? jsonReplyInstructionFor(spec.kind, spec.options) : inlineInstructionsFor(spec.kind, spec.options));
  const text = spec.note ? `${instruction}\n${spec.note}` : instruction;
  const body: MistralChatBody = {
    messages: [
      {
        role: 'user',
        content: [
          { type: 'input_audio', input_audio: { data: base64(media.bytes), format: media.format } },
          { type: 'text', text },
        ],
      },
    ],
    max_tokens: spec.maxTokens,
    temperature: 0,
    ...(traits.jsonMode
      ? { response_format: { type: 'json_object' as const } }
      : {
          tools: [{ type: 'function', function: { name: tool.name, description: tool.description, parameters: tool.inputSchema } }],
          tool_choice: 'any' as const,
        }),
  };
  return { style: 'invoke', kind: spec.kind, modelId: spec.modelId, body };
}

// ---------- reading replies ----------

export type MetadataReading = { readonly ok: true; readonly output: ModelOutput } | { readonly ok: false; readonly problems: string[] };

export function readMetadataReply(kind: MediaKind, reply: BedrockReply): MetadataReading {
  if (reply.style === 'converse') {
    const content = reply.output.output?.message?.content ?? [];
    const call = content.find((block) => block.toolUse?.name === METADATA_TOOL_NAME)?.toolUse;
    const truncated = reply.output.stopReason === 'max_tokens' ? ['the reply was cut off at the output token limit'] : [];
    if (!call) return { ok: false, problems: [`the reply did not call the ${METADATA_TOOL_NAME} tool`, ...truncated] };
    const parsed = parseModelOutput(kind, call.input);
    return parsed.ok ? parsed : { ok: false, problems: [...parsed.problems, ...truncated] };
  }
  const choice = reply.body.choices?.[0];
  const truncated = choice?.finish_reason === 'length' ? ['the reply was cut off at the output token limit'] : [];
  const json = replyJsonText(reply.body);
  if (json === undefined) return { ok: false, problems: ['the reply held no JSON object', ...truncated] };
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch {
    return { ok: false, problems: ['the reply was not valid JSON', ...truncated] };
  }
  const parsed = parseModelOutput(kind, value);
  return parsed.ok ? parsed : { ok: false, problems: [...parsed.problems, ...truncated] };
}

/** The JSON text of a Mistral reply: a tool call's arguments, or the content (code fences tolerated). */
function replyJsonText(body: MistralChatReply): string | undefined {
  const message = body.choices?.[0]?.message;
  const call = message?.tool_calls?.find((c) => c.function?.name === METADATA_TOOL_NAME);
  if (call?.function?.arguments) return call.function.arguments;
  const content = typeof message?.content === 'string' ? message.content : (message?.content ?? []).map((part) => part.text ?? '').join('');
  const trimmed = content.trim().replace(/^```(?:json)?\s*/i, '').replace(/\s*```$/, '');
  return trimmed === '' ? undefined : trimmed;
}

export function replyUsage(reply: BedrockReply): { inputTokens: number; outputTokens: number; latencyMs: number | undefined } {
  if (reply.style === 'converse') {
    return {
      inputTokens: reply.output.usage?.inputTokens ?? 0,
      outputTokens: reply.output.usage?.outputTokens ?? 0,
      latencyMs: reply.output.metrics?.latencyMs,
    };
  }
  return { inputTokens: reply.body.usage?.prompt_tokens ?? 0, outputTokens: reply.body.usage?.completion_tokens ?? 0, latencyMs: undefined };
}

// ---------- the one repair turn ----------

/** The same request with the model's reply and what was wrong with it appended. */
export function buildRepairRequest(request: BedrockRequest, reply: BedrockReply, problems: readonly string[]): BedrockRequest {
  if (request.style === 'converse' && reply.style === 'converse') {
    const content = reply.output.output?.message?.content ?? [];
    // Converse wants user and assistant turns to alternate, so an empty reply still takes a turn.
    const assistant: Message = { role: 'assistant', content: content.length > 0 ? content : [{ text: '(no reply)' }] };
    const feedback = repairInstruction(problems);
    // Every toolUse must be answered by a toolResult in the next user turn.
    const toolResults: ContentBlock[] = content
      .flatMap((block) => (block.toolUse?.toolUseId ? [block.toolUse.toolUseId] : []))
      .map((toolUseId) => ({ toolResult: { toolUseId, content: [{ text: feedback }] } }));
    const user: Message = { role: 'user', content: [...toolResults, { text: feedback }] };
    return { ...request, input: { ...request.input, messages: [...(request.input.messages ?? []), assistant, user] } };
  }
  if (request.style === 'invoke' && reply.style === 'invoke') {
    const previous = replyJsonText(reply.body) ?? '(no reply)';
    return {
      ...request,
      body: {
        ...request.body,
        messages: [
          ...request.body.messages,
          { role: 'assistant', content: previous },
          { role: 'user', content: [{ type: 'text', text: jsonRepairInstruction(problems) }] },
        ],
      },
    };
  }
  throw new Error(`a ${reply.style} reply cannot repair a ${request.style} request`);
}
