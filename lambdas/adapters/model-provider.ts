// Adapter factory: extractor handler (module scope) -> createMetadataProvider(env).
// Picks the offline local analyzer (default) or Amazon Bedrock from METAHOOK_MODEL_PROVIDER,
// and builds the Bedrock client once per process from the standard AWS settings
// (AWS_ENDPOINT_URL_BEDROCK_RUNTIME, region, default credential chain).
import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { BedrockRuntimeClient } from '@aws-sdk/client-bedrock-runtime';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { DEFAULT_BEDROCK_MODEL_IDS, resolveSettings } from '../../lib/settings';
import type { AudioNormaliser, MetadataProvider } from '../core/ports';
import { ConfigurationError, ENV } from '../runtime-config';
import { createAudioNormaliser, findFfmpeg } from './audio-normaliser';
import { createBedrockProvider } from './bedrock-provider';
import { MetadataParser } from './metadata-parser/metadata-parser';
import { processTracer } from './tracing';

type Env = Record<string, string | undefined>;

export const MODEL_PROVIDERS = ['local', 'bedrock'] as const;

export type ModelConfig =
  | { readonly provider: 'local' }
  | { readonly provider: 'bedrock'; readonly imageModelId: string; readonly audioModelId: string };

// Model IDs, inference-profile IDs and ARNs: letters, digits and . : / _ -
const MODEL_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9.:/_-]{2,2047}$/;

function modelIdFrom(env: Env, variable: string, fallback: string): string {
  const raw = env[variable]?.trim();
  if (raw === undefined || raw === '') return fallback;
  if (!MODEL_ID_PATTERN.test(raw)) {
    throw new ConfigurationError(`${variable} must be a Bedrock model ID, inference-profile ID or ARN, got "${raw}"`);
  }
  return raw;
}

/** Reads the provider choice; bedrock without model IDs uses DEFAULT_BEDROCK_MODEL_IDS. */
export function readModelConfig(env: Env): ModelConfig {
  const provider = (env[ENV.modelProvider]?.trim() || 'local').toLowerCase();
  if (provider === 'local') return { provider };
  if (provider === 'bedrock') {
    return {
      provider,
      imageModelId: modelIdFrom(env, ENV.imageModelId, DEFAULT_BEDROCK_MODEL_IDS.image),
      audioModelId: modelIdFrom(env, ENV.audioModelId, DEFAULT_BEDROCK_MODEL_IDS.audio),
    };
  }
  throw new ConfigurationError(`${ENV.modelProvider} must be one of ${MODEL_PROVIDERS.join(', ')}, got "${provider}"`);
}

export interface BedrockClientTuning {
  /** Attempts per Converse call inside the SDK, throttling included. @default 2 */
  readonly maxAttempts?: number;
  /** Time limit per attempt; Converse sends nothing until the model is done, so it is also the idle limit. @default 40000 */
  readonly requestTimeoutMs?: number;
}

/**
 * One client per process. Always HTTP/1.1 (NodeHttpHandler) with keep-alive: Converse is a
 * plain request/response call, so the SDK's HTTP/2 default (needed only for bidirectional
 * streaming) buys nothing on Lambda, while HTTP/1.1 also reaches local Converse-compatible
 * stubs. Keep-alive reuses the TLS connection across invocations of a warm function.
 * Two SDK attempts absorb a throttling blip; beyond that the SQS record is retried later.
 */
export function createBedrockRuntimeClient(env: Env = process.env, tuning: BedrockClientTuning = {}): BedrockRuntimeClient {
  const endpoint = env.AWS_ENDPOINT_URL_BEDROCK_RUNTIME ?? env.AWS_ENDPOINT_URL;
  const region = env.AWS_REGION ?? env.AWS_DEFAULT_REGION;
  // Traced like the clients of aws-clients.ts: each Converse call is a subsegment of the job's trace.
  return processTracer().captureAWSv3Client(new BedrockRuntimeClient({
    ...(endpoint ? { endpoint } : {}),
    ...(region ? { region } : {}),
    maxAttempts: tuning.maxAttempts ?? 2,
    requestHandler: new NodeHttpHandler({
      httpAgent: new HttpAgent({ keepAlive: true }),
      httpsAgent: new HttpsAgent({ keepAlive: true }),
      connectionTimeout: 5_000,
      requestTimeout: tuning.requestTimeoutMs ?? 40_000,
      // Without it a breached requestTimeout only logs a warning and the call waits on until the
      // function times out (@smithy/types httpHandlerInitialization.d.ts, throwOnRequestTimeout).
      throwOnRequestTimeout: true,
    }),
  }));
}

/** Builds the configured provider; call once at module scope and reuse across invocations. */
export async function createMetadataProvider(
  env: Env = process.env,
  deps: { readonly bedrockClient?: BedrockRuntimeClient; readonly audioNormaliser?: AudioNormaliser } = {},
): Promise<MetadataProvider> {
  const config = readModelConfig(env);
  const { extraction, decode } = resolveSettings(env);
  if (config.provider === 'local') {
    // Loaded only when chosen, so a Bedrock deployment never loads the local analyzer.
    const { createLocalAnalyzer } = await import('./local-analyzer');
    return createLocalAnalyzer({ decode });
  }
  // ffmpeg ships with the extractor (lib/constructs/extraction.ts, `audioNormalisation`); where it
  // is absent the provider sends audio as uploaded. Half the function timeout for one decode.
  // METAHOOK_AUDIO_NORMALISATION=false sends audio as uploaded even where ffmpeg is installed.
  const ffmpegPath = env.METAHOOK_AUDIO_NORMALISATION === 'false' ? undefined : await findFfmpeg(env);
  const audioNormaliser =
    deps.audioNormaliser ??
    (ffmpegPath
      ? await createAudioNormaliser({
        ffmpegPath,
        timeBudgetMs: (extraction.functionTimeoutSeconds * 1000) / 2,
        parser: new MetadataParser(decode),
        maxTagBytes: decode.maxAudioTagBytes,
      })
      : undefined);
  return createBedrockProvider(deps.bedrockClient ?? createBedrockRuntimeClient(env), {
    modelIds: { image: config.imageModelId, audio: config.audioModelId },
    ...(audioNormaliser ? { audioNormaliser } : {}),
    maxAudioDurationSeconds: extraction.maxAudioDurationSeconds,
    imageDecodeBudget: decode,
  });
}
