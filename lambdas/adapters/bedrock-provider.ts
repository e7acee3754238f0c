// Adapter (Amazon Bedrock Converse): extractor handler -> extractJob -> MetadataProvider.
// Sends one image or audio file with the prompts of core/prompts, forces the metadata tool,
// validates the reply (one repair turn), and maps Bedrock errors to transient (retry the SQS
// record) or permanent (fail the job) errors. Takes its client so tests can inject one.
import {
  ConverseCommand,
  type BedrockRuntimeClient,
  type ContentBlock,
  type ConverseCommandInput,
  type ConverseCommandOutput,
  type Message,
  type ToolChoice,
} from '@aws-sdk/client-bedrock-runtime';
import type { MediaKind } from '../core/api-schemas';
import { PermanentJobError, TransientJobError, type JobFailureCode } from '../core/errors';
import { normalizeKeywords, type MetadataResult } from '../core/metadata-result';
import type { ExtractionInput, ExtractionOutput, MetadataProvider, ModelUsage } from '../core/ports';
import {
  METADATA_TOOL_NAME,
  metadataToolFor,
  parseModelOutput,
  repairInstruction,
  systemPromptFor,
  userInstructionFor,
  type ModelOutput,
} from '../core/prompts';
import { CONVERSE_IMAGE_LIMITS, fitImageWithinLimits, type ImageLimits } from './image-downscaler';

export interface BedrockProviderOptions {
  /** Model or inference-profile ID per media kind, e.g. `us.amazon.nova-lite-v1:0`. */
  readonly modelIds: { readonly image: string; readonly audio: string };
  /** @default CONVERSE_IMAGE_LIMITS (3.75 MB, 8000 px per side) */
  readonly imageLimits?: ImageLimits;
  /**
   * Largest audio file sent inline as bytes. Bigger files go by s3Location when the model
   * reads S3, and fail with file_too_large otherwise.
   * @default 25 MB (Bedrock's request payload limit for multimodal models such as Nova)
   */
  readonly maxInlineAudioBytes?: number;
  /** @default 1024: the metadata fits in a few hundred tokens; this caps a runaway reply. */
  readonly maxOutputTokens?: number;
}

export const DEFAULT_MAX_INLINE_AUDIO_BYTES = 25 * 1024 * 1024;
const DEFAULT_MAX_OUTPUT_TOKENS = 1024;

/** What a model family supports that changes the request we build. */
export interface BedrockModelTraits {
  /** `tool` names the metadata tool; `any` forces a tool call where naming one is unsupported (one tool: same effect). */
  readonly toolChoice: 'tool' | 'any';
  /** The model can read audio straight from S3 (s3Location) instead of inline bytes. */
  readonly readsAudioFromS3: boolean;
}

/**
 * Bedrock documents ToolChoice.tool for Anthropic Claude 3+ and Amazon Nova only; S3 media
 * input is documented for Amazon Nova. Everything else gets the conservative choice.
 */
export function bedrockModelTraits(modelId: string): BedrockModelTraits {
  // Drop an ARN prefix and a cross-region profile prefix (us., eu., apac., global., ...).
  const base = modelId.replace(/^arn:[^/]+\//, '').replace(/^[a-z]{2,6}\.(?=[a-z0-9-]+\.)/, '');
  const isNova = base.startsWith('amazon.nova');
  return {
    toolChoice: isNova || base.startsWith('anthropic.') ? 'tool' : 'any',
    readsAudioFromS3: isNova,
  };
}

export function createBedrockProvider(client: BedrockRuntimeClient, options: BedrockProviderOptions): MetadataProvider {
  const imageLimits = options.imageLimits ?? CONVERSE_IMAGE_LIMITS;
  const maxInlineAudioBytes = options.maxInlineAudioBytes ?? DEFAULT_MAX_INLINE_AUDIO_BYTES;
  const maxTokens = options.maxOutputTokens ?? DEFAULT_MAX_OUTPUT_TOKENS;

  return {
    name: 'bedrock',
    async extract(input: ExtractionInput): Promise<ExtractionOutput> {
      const modelId = input.kind === 'image' ? options.modelIds.image : options.modelIds.audio;
      const traits = bedrockModelTraits(modelId);
      const media =
        input.kind === 'image'
          ? await imageBlock(input, imageLimits)
          : audioBlock(input, traits, maxInlineAudioBytes);

      const tool = metadataToolFor(input.kind);
      const toolChoice: ToolChoice = traits.toolChoice === 'tool' ? { tool: { name: tool.name } } : { any: {} };
      const request: Omit<ConverseCommandInput, 'messages'> = {
        modelId,
        system: [{ text: systemPromptFor(input.kind) }],
        toolConfig: {
          tools: [
            // The SDK types the schema as a DocumentType; ours is plain JSON.
            { toolSpec: { name: tool.name, description: tool.description, inputSchema: { json: tool.inputSchema as never } } },
          ],
          toolChoice,
        },
        // Temperature 0 and a fixed prompt: the same file gives the same metadata.
        inferenceConfig: { temperature: 0, maxTokens },
      };
      const askForMetadata: Message = {
        role: 'user',
        content: [media.block, { text: userInstructionFor(input.kind) }],
      };

      const usage = new UsageTally();
      const first = await converse(client, { ...request, messages: [askForMetadata] }, usage);
      let reading = readMetadataReply(input.kind, first);
      if (!reading.ok) {
        // One repair turn: the model sees its own reply and what was wrong with it.
        const second = await converse(
          client,
          { ...request, messages: [askForMetadata, assistantTurn(first), repairTurn(first, reading.problems)] },
          usage,
        );
        reading = readMetadataReply(input.kind, second);
        if (!reading.ok) {
          throw new PermanentJobError(
            'model_invalid_output',
            `the model's metadata did not validate after one repair: ${summarise(reading.problems)}`,
          );
        }
      }

      const result: MetadataResult = {
        ...reading.output,
        keywords: normalizeKeywords(reading.output.keywords),
        properties: media.properties,
      };
      return { result, model: { provider: 'bedrock', id: modelId }, usage: usage.total() };
    },
  };
}

// ---------- request content ----------

interface MediaBlock {
  readonly block: ContentBlock;
  readonly properties: Record<string, string | number>;
}

async function imageBlock(input: ExtractionInput, limits: ImageLimits): Promise<MediaBlock> {
  const image = await fitImageWithinLimits(input.bytes, input.format, limits);
  const properties: Record<string, string | number> = { format: input.format };
  if (image.originalSize) {
    properties.width = image.originalSize.width;
    properties.height = image.originalSize.height;
  }
  return { block: { image: { format: image.format, source: { bytes: image.bytes } } }, properties };
}

function audioBlock(input: ExtractionInput, traits: BedrockModelTraits, maxInlineBytes: number): MediaBlock {
  const format = input.format as NonNullable<ContentBlock.AudioMember['audio']>['format'];
  const properties = { format: input.format };
  // S3 saves the request payload (and Lambda memory) when the model can read the object itself.
  if (input.s3Location && traits.readsAudioFromS3) {
    const uri = `s3://${input.s3Location.bucket}/${input.s3Location.key}`;
    return { block: { audio: { format, source: { s3Location: { uri } } } }, properties };
  }
  if (input.bytes.byteLength > maxInlineBytes) {
    throw new PermanentJobError(
      'file_too_large',
      `audio over ${maxInlineBytes} bytes must be read from S3, which this model does not support`,
    );
  }
  return { block: { audio: { format, source: { bytes: input.bytes } } }, properties };
}

// ---------- reply handling ----------

type MetadataReading = { readonly ok: true; readonly output: ModelOutput } | { readonly ok: false; readonly problems: string[] };

function readMetadataReply(kind: MediaKind, reply: ConverseCommandOutput): MetadataReading {
  const content = reply.output?.message?.content ?? [];
  const call = content.find((block) => block.toolUse?.name === METADATA_TOOL_NAME)?.toolUse;
  const truncated = reply.stopReason === 'max_tokens' ? ['the reply was cut off at the output token limit'] : [];
  if (!call) {
    return { ok: false, problems: [`the reply did not call the ${METADATA_TOOL_NAME} tool`, ...truncated] };
  }
  const parsed = parseModelOutput(kind, call.input);
  return parsed.ok ? parsed : { ok: false, problems: [...parsed.problems, ...truncated] };
}

function assistantTurn(reply: ConverseCommandOutput): Message {
  const content = reply.output?.message?.content ?? [];
  // Converse wants user and assistant turns to alternate, so an empty reply still takes a turn.
  return { role: 'assistant', content: content.length > 0 ? content : [{ text: '(no reply)' }] };
}

function repairTurn(reply: ConverseCommandOutput, problems: readonly string[]): Message {
  const feedback = repairInstruction(problems);
  // Every toolUse must be answered by a toolResult in the next user turn.
  const toolResults: ContentBlock[] = (reply.output?.message?.content ?? [])
    .flatMap((block) => (block.toolUse?.toolUseId ? [block.toolUse.toolUseId] : []))
    .map((toolUseId) => ({ toolResult: { toolUseId, content: [{ text: feedback }] } }));
  return { role: 'user', content: [...toolResults, { text: feedback }] };
}

const summarise = (problems: readonly string[]) =>
  problems.slice(0, 5).join('; ') + (problems.length > 5 ? ` (+${problems.length - 5} more)` : '');

// ---------- calls, usage, errors ----------

class UsageTally {
  private inputTokens = 0;
  private outputTokens = 0;
  private latencyMs = 0;

  add(reply: ConverseCommandOutput, measuredMs: number): void {
    this.inputTokens += reply.usage?.inputTokens ?? 0;
    this.outputTokens += reply.usage?.outputTokens ?? 0;
    // Bedrock's own figure excludes our network time; fall back to the wall clock.
    this.latencyMs += reply.metrics?.latencyMs ?? measuredMs;
  }

  total(): ModelUsage {
    return { input_tokens: this.inputTokens, output_tokens: this.outputTokens, latency_ms: Math.round(this.latencyMs) };
  }
}

async function converse(
  client: BedrockRuntimeClient,
  request: ConverseCommandInput,
  usage: UsageTally,
): Promise<ConverseCommandOutput> {
  const started = performance.now();
  let reply: ConverseCommandOutput;
  try {
    reply = await client.send(new ConverseCommand(request));
  } catch (error) {
    throw classifyBedrockError(error, request.modelId ?? '');
  }
  usage.add(reply, performance.now() - started);
  return reply;
}

const TRANSIENT_ERROR_NAMES = new Set([
  'ThrottlingException',
  'ServiceUnavailableException',
  'ServiceQuotaExceededException',
  'InternalServerException',
  'ModelNotReadyException',
  'ModelTimeoutException',
  // The model itself failed while running; a later attempt usually succeeds.
  'ModelErrorException',
  'TimeoutError',
  'AbortError',
]);

const NETWORK_ERROR_CODES = new Set(['ECONNRESET', 'ECONNREFUSED', 'ETIMEDOUT', 'EPIPE', 'EAI_AGAIN', 'ENOTFOUND']);

const SIZE_COMPLAINT = /too (large|big|long)|exceeds?|maximum (size|length)|payload|dimension/i;

/**
 * Throttling, 5xx, timeouts and network faults are transient: the SQS record is retried and
 * the job is not failed. Access and validation errors are permanent: the job fails with a code.
 */
export function classifyBedrockError(error: unknown, modelId: string): PermanentJobError | TransientJobError {
  const details = error as { name?: string; message?: string; code?: string; $metadata?: { httpStatusCode?: number } };
  const name = details?.name ?? 'Error';
  const reason = `Bedrock ${name} for model ${modelId}: ${(details?.message ?? '').slice(0, 300)}`;
  const status = details?.$metadata?.httpStatusCode;
  const permanent = (code: JobFailureCode) => new PermanentJobError(code, reason, { cause: error });
  const transient = (code: JobFailureCode) => new TransientJobError(code, reason, { cause: error });

  if (TRANSIENT_ERROR_NAMES.has(name)) return transient('model_error');
  if (name === 'AccessDeniedException' || status === 403) return permanent('model_access_denied');
  // Missing local credentials are a setup problem, not the file's: retry once they are fixed.
  if (name === 'CredentialsProviderError') return transient('model_access_denied');
  if (name === 'ValidationException' || status === 400 || status === 413) {
    return permanent(status === 413 || SIZE_COMPLAINT.test(details?.message ?? '') ? 'file_too_large' : 'model_error');
  }
  if (name === 'ResourceNotFoundException' || status === 404) return permanent('model_error');
  if (status === 429 || (status !== undefined && status >= 500)) return transient('model_error');
  if (details?.code && NETWORK_ERROR_CODES.has(details.code)) return transient('model_error');
  if (status !== undefined && status >= 400) return permanent('model_error');
  // No HTTP status at all: the request never got an answer (network, DNS): try again later.
  return transient('model_error');
}
