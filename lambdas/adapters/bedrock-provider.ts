// Adapter (Amazon Bedrock): extractor handler -> extractJob -> MetadataProvider.
// Sends one image or audio file with the prompts of core/prompts in the request style the model
// takes (bedrock-request.ts, driven by bedrock-model-traits.ts), validates the reply (one repair
// turn), splits recordings longer than the model's audio window and merges the parts, and maps
// Bedrock errors to transient (retry the SQS record) or permanent (fail the job) errors.
// Takes its client (and optionally an AudioNormaliser) so tests can inject them.
import {
  ConverseCommand,
  InvokeModelCommand,
  type BedrockRuntimeClient,
} from '@aws-sdk/client-bedrock-runtime';
import { PermanentJobError, TransientJobError, type JobFailureCode } from '../core/errors';
import { MAX_KEYWORDS, normalizeKeywords, type MetadataResult } from '../core/metadata-result';
import type { AudioNormaliser, ExtractionInput, ExtractionOutput, MetadataProvider, ModelUsage, NormalisedAudio } from '../core/ports';
import { DEFAULT_LANGUAGE } from '../core/extraction-options';
import { mergeSegmentsInstruction, PROMPT_VERSION, segmentNote, type ModelOutput } from '../core/prompts';
import { bedrockModelTraits, type BedrockModelTraits, type ConverseImageFormat } from './bedrock-model-traits';
import {
  buildMetadataRequest,
  buildRepairRequest,
  readMetadataReply,
  replyUsage,
  type BedrockReply,
  type BedrockRequest,
  type MediaPart,
  type MetadataRequestSpec,
  type MistralChatReply,
} from './bedrock-request';
import type { ImageDecodeBudget } from './image-decode-budget';
import { CONVERSE_IMAGE_LIMITS, fitImageWithinLimits, type ImageLimits } from './image-downscaler';

export interface BedrockProviderOptions {
  /** Model or inference-profile ID per media kind, e.g. `us.amazon.nova-lite-v1:0`. */
  readonly modelIds: { readonly image: string; readonly audio: string };
  /** @default CONVERSE_IMAGE_LIMITS (3.75 MB, 8000 px per side), capped by the model's traits */
  readonly imageLimits?: ImageLimits;
  /** Pixels, side and time an image may cost before it is refused (settings.decode). @default DEFAULT_IMAGE_DECODE_BUDGET */
  readonly imageDecodeBudget?: ImageDecodeBudget;
  /**
   * Largest audio payload sent inline as bytes. Bigger files go by s3Location when the model
   * reads S3, and fail with file_too_large otherwise.
   * @default the model's traits (25 MB: Bedrock's request payload limit for multimodal models)
   */
  readonly maxInlineAudioBytes?: number;
  /** @default 1024: the metadata fits in a few hundred tokens; this caps a runaway reply. */
  readonly maxOutputTokens?: number;
  /**
   * Decodes and re-encodes audio (mono 16 kHz MP3) and splits it at the model's audio window.
   * Without one, audio is sent as uploaded, in one call.
   * @default none
   */
  readonly audioNormaliser?: AudioNormaliser;
  /**
   * This deployment's longest recording; longer ones fail with file_too_long. A job's own
   * `audioLimit` (a tenant's) may lower it, never raise it. Only enforced with an audioNormaliser.
   * @default 2 hours
   */
  readonly maxAudioDurationSeconds?: number;
}

const DEFAULT_MAX_OUTPUT_TOKENS = 1024;
export const DEFAULT_MAX_AUDIO_DURATION_SECONDS = 2 * 60 * 60;

type Properties = Record<string, string | number | boolean | string[] | null>;

export function createBedrockProvider(client: BedrockRuntimeClient, options: BedrockProviderOptions): MetadataProvider {
  const maxTokens = options.maxOutputTokens ?? DEFAULT_MAX_OUTPUT_TOKENS;
  const maxDuration = options.maxAudioDurationSeconds ?? DEFAULT_MAX_AUDIO_DURATION_SECONDS;

  return {
    name: 'bedrock',
    async extract(input: ExtractionInput): Promise<ExtractionOutput> {
      const modelId = input.kind === 'image' ? options.modelIds.image : options.modelIds.audio;
      const traits = bedrockModelTraits(modelId);
      const usage = new UsageTally();
      const ask = (media: MediaPart, extra: Partial<MetadataRequestSpec> = {}) =>
        askForMetadata(client, { modelId, kind: input.kind, media, maxTokens, ...(input.options ? { options: input.options } : {}), ...extra }, traits, usage);

      if (input.kind === 'image') {
        const { media, properties, sentPixels } = await imagePart(input, traits, options.imageLimits ?? CONVERSE_IMAGE_LIMITS, options.imageDecodeBudget);
        if (sentPixels !== undefined) usage.imagePixels(sentPixels);
        const output = await ask(media);
        return finish({ ...output, keywords: normalizeKeywords(output.keywords), properties }, modelId, usage, input.options?.language ?? DEFAULT_LANGUAGE);
      }

      if (traits.audioFormats.length === 0) {
        throw new PermanentJobError('unsupported_media_type', `model ${modelId} takes no audio; choose an audio model (METAHOOK_AUDIO_MODEL_ID)`);
      }
      const maxInline = options.maxInlineAudioBytes ?? traits.maxInlineAudioBytes;
      if (!options.audioNormaliser) {
        const media = rawAudioPart(input, traits, maxInline);
        const output = await ask(media);
        return finish({ ...output, keywords: normalizeKeywords(output.keywords), properties: { format: input.format } }, modelId, usage, input.options?.language ?? DEFAULT_LANGUAGE);
      }

      // The job's limit (a tenant's own, core/audio-limit.ts), never above this deployment's.
      const limit = input.audioLimit && input.audioLimit.maxSeconds < maxDuration ? input.audioLimit : { maxSeconds: maxDuration, setBy: 'deployment' as const };
      const audio = await options.audioNormaliser.normalise(
        { bytes: input.bytes, format: input.format },
        {
          segmentSeconds: Math.min(traits.audioWindowSeconds ?? limit.maxSeconds, limit.maxSeconds),
          maxDurationSeconds: limit.maxSeconds,
          limitSetBy: limit.setBy,
        },
      );
      const properties = originalAudioProperties(input.format, audio);
      const parts: ModelOutput[] = [];
      for (const [index, segment] of audio.segments.entries()) {
        if (segment.bytes.byteLength > maxInline) {
          throw new PermanentJobError('file_too_large', `a normalised audio segment of ${segment.bytes.byteLength} bytes is over the ${maxInline}-byte inline limit of ${modelId}`);
        }
        const note = audio.segments.length > 1 ? segmentNote(index, audio.segments.length, segment.startSeconds, segment.durationSeconds) : undefined;
        usage.audioSeconds(segment.durationSeconds);
        parts.push(await ask({ type: 'audio', format: segment.format, bytes: segment.bytes }, note ? { note } : {}));
      }
      if (parts.length === 1) {
        return finish({ ...parts[0]!, keywords: normalizeKeywords(parts[0]!.keywords), properties }, modelId, usage, input.options?.language ?? DEFAULT_LANGUAGE);
      }
      // One text-only call turns the parts' descriptions and summaries into one; keywords are the parts' own.
      const segments = parts.map((part) => ({ description: part.description, summary: 'summary' in part ? part.summary : '' }));
      const merged = await ask({ type: 'none' }, { instruction: mergeSegmentsInstruction(segments) });
      return finish({ ...merged, keywords: mergeKeywords(parts.map((part) => part.keywords)), properties }, modelId, usage, input.options?.language ?? DEFAULT_LANGUAGE);
    },
  };
}

function finish(result: MetadataResult, modelId: string, usage: UsageTally, language: string): ExtractionOutput {
  return { result, model: { provider: 'bedrock', id: modelId }, usage: usage.total(), promptVersion: PROMPT_VERSION, language };
}

/** Round-robin over the parts, so every part contributes before the cap cuts the list. */
export function mergeKeywords(perPart: readonly (readonly string[])[]): string[] {
  const interleaved: string[] = [];
  const longest = Math.max(0, ...perPart.map((keywords) => keywords.length));
  for (let i = 0; i < longest; i++) for (const keywords of perPart) if (i < keywords.length) interleaved.push(keywords[i]!);
  return normalizeKeywords(interleaved).slice(0, MAX_KEYWORDS);
}

/** One call plus, when the reply does not validate, the one repair turn. */
async function askForMetadata(
  client: BedrockRuntimeClient,
  spec: MetadataRequestSpec,
  traits: BedrockModelTraits,
  usage: UsageTally,
): Promise<ModelOutput> {
  const request = buildMetadataRequest(spec, traits);
  const first = await send(client, request, usage);
  let reading = readMetadataReply(spec.kind, first);
  if (!reading.ok) {
    // The model sees its own reply and what was wrong with it (and the media again).
    const second = await send(client, buildRepairRequest(request, first, reading.problems), usage);
    reading = readMetadataReply(spec.kind, second);
    if (!reading.ok) {
      throw new PermanentJobError('model_invalid_output', `the model's metadata did not validate after one repair: ${summarise(reading.problems)}`);
    }
  }
  return reading.output;
}

const summarise = (problems: readonly string[]) =>
  problems.slice(0, 5).join('; ') + (problems.length > 5 ? ` (+${problems.length - 5} more)` : '');

// ---------- request content ----------

async function imagePart(
  input: ExtractionInput,
  traits: BedrockModelTraits,
  limits: ImageLimits,
  budget: ImageDecodeBudget | undefined,
): Promise<{ media: MediaPart; properties: Properties; sentPixels: number | undefined }> {
  if (traits.imageFormats.length === 0) {
    throw new PermanentJobError('unsupported_media_type', 'the configured image model takes no images; choose a vision model (METAHOOK_IMAGE_MODEL_ID)');
  }
  const fitted = await fitImageWithinLimits(input.bytes, input.format, { ...limits, maxBytes: Math.min(limits.maxBytes, traits.maxInlineImageBytes) }, budget);
  const properties: Properties = { format: input.format };
  if (fitted.originalSize) {
    properties.width = fitted.originalSize.width;
    properties.height = fitted.originalSize.height;
  }
  const sentPixels = fitted.sentSize ? fitted.sentSize.width * fitted.sentSize.height : undefined;
  return { media: { type: 'image', format: fitted.format as ConverseImageFormat, bytes: fitted.bytes }, properties, sentPixels };
}

function rawAudioPart(input: ExtractionInput, traits: BedrockModelTraits, maxInlineBytes: number): MediaPart {
  // S3 saves the request payload (and Lambda memory) when the model can read the object itself.
  if (input.s3Location && traits.readsS3 && traits.audioRequestStyle === 'converse') {
    return { type: 'audio-s3', format: input.format, uri: `s3://${input.s3Location.bucket}/${input.s3Location.key}` };
  }
  if (input.bytes.byteLength > maxInlineBytes) {
    throw new PermanentJobError('file_too_large', `audio over ${maxInlineBytes} bytes must be read from S3, which this model does not support`);
  }
  return { type: 'audio', format: input.format, bytes: input.bytes };
}

/** The original upload's facts (the model only heard the normalised copy). */
function originalAudioProperties(format: string, audio: NormalisedAudio): Properties {
  const { original } = audio;
  const properties: Properties = {
    format,
    duration_seconds: original.duration_seconds,
    codec: original.codec,
    channels: original.channels,
    sample_rate: original.sample_rate,
    segments: audio.segments.length,
  };
  for (const [name, value] of Object.entries(original.tags)) properties[`tag_${name}`] = value;
  return properties;
}

// ---------- calls, usage, errors ----------

class UsageTally {
  private inputTokens = 0;
  private outputTokens = 0;
  private latencyMs = 0;
  private seconds = 0;
  private pixels = 0;

  add(reply: BedrockReply, measuredMs: number): void {
    const usage = replyUsage(reply);
    this.inputTokens += usage.inputTokens;
    this.outputTokens += usage.outputTokens;
    // Bedrock's own figure (Converse) excludes our network time; otherwise the wall clock.
    this.latencyMs += usage.latencyMs ?? measuredMs;
  }

  audioSeconds(seconds: number): void {
    this.seconds += seconds;
  }

  imagePixels(pixels: number): void {
    this.pixels += pixels;
  }

  total(): ModelUsage {
    return {
      input_tokens: this.inputTokens,
      output_tokens: this.outputTokens,
      latency_ms: Math.round(this.latencyMs),
      ...(this.seconds > 0 ? { audio_seconds: Math.round(this.seconds * 10) / 10 } : {}),
      ...(this.pixels > 0 ? { image_pixels: this.pixels } : {}),
    };
  }
}

async function send(client: BedrockRuntimeClient, request: BedrockRequest, usage: UsageTally): Promise<BedrockReply> {
  const { reply, elapsedMs } = await sendBedrockRequest(client, request);
  usage.add(reply, elapsedMs);
  return reply;
}

/**
 * Sends one request built by buildMetadataRequest (Converse or InvokeModel) and returns the reply
 * in either style. Errors come back classified (TransientJobError / PermanentJobError). Used by
 * the provider and by `metahook doctor`, so both speak to Bedrock exactly alike.
 */
export async function sendBedrockRequest(client: BedrockRuntimeClient, request: BedrockRequest): Promise<{ reply: BedrockReply; elapsedMs: number }> {
  const started = performance.now();
  const modelId = request.style === 'converse' ? (request.input.modelId ?? '') : request.modelId;
  let reply: BedrockReply;
  try {
    if (request.style === 'converse') {
      reply = { style: 'converse', output: await client.send(new ConverseCommand(request.input)) };
    } else {
      const response = await client.send(
        new InvokeModelCommand({
          modelId,
          contentType: 'application/json',
          accept: 'application/json',
          body: new TextEncoder().encode(JSON.stringify(request.body)),
        }),
      );
      reply = { style: 'invoke', body: parseInvokeBody(response.body, modelId) };
    }
  } catch (error) {
    if (error instanceof PermanentJobError) throw error;
    throw classifyBedrockError(error, modelId);
  }
  return { reply, elapsedMs: performance.now() - started };
}

function parseInvokeBody(body: Uint8Array | undefined, modelId: string): MistralChatReply {
  try {
    return JSON.parse(new TextDecoder().decode(body ?? new Uint8Array())) as MistralChatReply;
  } catch (error) {
    throw new PermanentJobError('model_error', `model ${modelId} answered InvokeModel with a body that is not JSON`, { cause: error });
  }
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
