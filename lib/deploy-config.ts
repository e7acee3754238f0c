// Deploy-time configuration of the CDK app (bin/metahook.ts -> here -> lib/metahook-stack.ts).
// Values come from CDK context (`-c key=value` or cdk.json), are validated once, and every
// error names the context key to fix. Runtime timings and limits live in lib/settings.ts.
import { CapacityError, deriveCapacityPlan, type CapacityPlan } from './capacity';
import { capacityInputs, DEFAULT_BEDROCK_MODEL_IDS, resolveSettings, SettingsError } from './settings';
import { z } from 'zod';
import { MODEL_PRICES_ENV, PriceTableError, readPriceTable } from '../lambdas/core/model-prices';

/** Log retention values CloudWatch Logs accepts (days). */
export const LOG_RETENTION_DAYS = [
  1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653,
] as const;

/**
 * Default models: the same ones the handlers fall back to (lib/settings.ts), so a deploy
 * and a local run against Bedrock call the same models. Images: Amazon Nova Lite through its
 * US cross-Region inference profile. Audio: Mistral Voxtral Small 24B, in-Region on-demand
 * (speech + text input; Nova Lite does not take audio). See docs/bedrock.md.
 */
export const DEFAULT_IMAGE_MODEL_ID = DEFAULT_BEDROCK_MODEL_IDS.image;
export const DEFAULT_AUDIO_MODEL_ID = DEFAULT_BEDROCK_MODEL_IDS.audio;

/**
 * Regions a geographic inference profile may route to; the extractor needs InvokeModel on the
 * foundation model in each of them. Override with `-c bedrockRoutingRegions=...` when a profile
 * routes elsewhere (`aws bedrock get-inference-profile` lists them).
 */
export const INFERENCE_PROFILE_ROUTING_REGIONS: Readonly<Record<string, readonly string[]>> = {
  us: ['us-east-1', 'us-east-2', 'us-west-1', 'us-west-2'],
  eu: ['eu-central-1', 'eu-central-2', 'eu-north-1', 'eu-south-1', 'eu-south-2', 'eu-west-1', 'eu-west-2', 'eu-west-3'],
  apac: [
    'ap-northeast-1', 'ap-northeast-2', 'ap-northeast-3', 'ap-south-1', 'ap-south-2',
    'ap-southeast-1', 'ap-southeast-2', 'ap-southeast-4',
  ],
  jp: ['ap-northeast-1', 'ap-northeast-3'],
  au: ['ap-southeast-2', 'ap-southeast-4'],
  ca: ['ca-central-1', 'ca-west-1'],
};

/** Context keys this app reads; anything else in the context is CDK's own business. */
export const DEPLOY_CONTEXT_KEYS = [
  'stage',
  'imageModelId',
  'audioModelId',
  'bedrockRoutingRegions',
  'allowedSourceBuckets',
  'throttleRateLimit',
  'throttleBurstLimit',
  'monthlyQuota',
  'capacityFilesPerSecond',
  'capacityTenantsAtFullRate',
  'capacitySecondsPerFile',
  'maxExtractorConcurrency',
  'bedrockImageRequestsPerMinute',
  'bedrockImageTokensPerMinute',
  'bedrockAudioRequestsPerMinute',
  'bedrockAudioTokensPerMinute',
  'submitRateLimit',
  'submitBurstLimit',
  'logRetentionDays',
  'deletionProtection',
  'alarmEmail',
  'mediaExpiryDays',
  'apiGatewayCloudWatchRole',
  'imageDownscaling',
  'audioNormalisation',
  'maxAudioDurationSeconds',
  'modelPrices',
  'sourceMapStackTraces',
] as const;

export type DeployContextKey = (typeof DEPLOY_CONTEXT_KEYS)[number];

export interface DeployConfig {
  /** Deployment name (dev, prod...): part of the stack name. */
  readonly stage: string;
  readonly imageModelId: string;
  readonly audioModelId: string;
  /** Overrides INFERENCE_PROFILE_ROUTING_REGIONS for every geographic profile; empty = use the table. */
  readonly bedrockRoutingRegions: readonly string[];
  /** Buckets besides the media bucket that the extractor may read s3:// files from. */
  readonly allowedSourceBuckets: readonly string[];
  readonly usagePlan: {
    /** Plan-wide throttle per key (reads, cancels, redeliveries). */
    readonly rateLimit: number;
    readonly burstLimit: number;
    /** POST /jobs throttle per key: derived from the capacity plan (or an override it validated). */
    readonly submit: { readonly rateLimit: number; readonly burstLimit: number };
    readonly monthlyQuota: number;
  };
  /** METAHOOK_CAPACITY_* / METAHOOK_BEDROCK_* values from context: resolveSettings(capacityEnv) is the plan synthesized. */
  readonly capacityEnv: Readonly<Record<string, string>>;
  readonly capacity: CapacityPlan;
  readonly logRetentionDays: (typeof LOG_RETENTION_DAYS)[number];
  readonly deletionProtection: boolean;
  readonly alarmEmail: string | undefined;
  /** Days before objects in the media (staging) bucket expire. */
  readonly mediaExpiryDays: number;
  /** Set API Gateway's account-level CloudWatch role (needed once per account and Region for access logs). */
  readonly apiGatewayCloudWatchRole: boolean;
  /** Ship sharp (linux-arm64) with the extractor so oversize images are downscaled; synth then needs the npm registry. */
  readonly imageDownscaling: boolean;
  /** Ship ffmpeg (linux-arm64) with the extractor so audio is sent mono 16 kHz MP3, split at the model's window; synth then needs the npm registry. */
  readonly audioNormalisation: boolean;
  /** Longest recording accepted (seconds); longer ones fail with file_too_long. */
  readonly maxAudioDurationSeconds: number;
  /** The price table as JSON (lambdas/core/model-prices.ts) when the deploy overrides the defaults. */
  readonly modelPrices: string | undefined;
  /**
   * Run every function with NODE_OPTIONS=--enable-source-maps, so logged stack traces name the
   * TypeScript sources instead of the minified bundle. Off by default: Node then reads each
   * bundle's source map at init, 20-45 ms more per cold start (BENCHMARKS.md, cold start).
   */
  readonly sourceMapStackTraces: boolean;
}

export class DeployConfigError extends Error {
  override readonly name = 'DeployConfigError';
  constructor(readonly problems: readonly string[]) {
    super(`Invalid deploy configuration (CDK context):\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  }
}

// `-c key=value` always arrives as a string; cdk.json may hold real JSON types. Accept both.
const fromString = <T extends z.ZodType>(schema: T, parse: (raw: string) => unknown) =>
  z.preprocess((value) => (typeof value === 'string' ? parse(value.trim()) : value), schema);

const toNumber = (raw: string): unknown => (raw === '' ? undefined : Number(raw));
const toBoolean = (raw: string): unknown => (raw === 'true' ? true : raw === 'false' ? false : raw);
const toList = (raw: string): unknown => {
  if (raw.startsWith('[')) {
    try {
      return JSON.parse(raw);
    } catch {
      return raw;
    }
  }
  return raw.split(',').map((item) => item.trim()).filter((item) => item.length > 0);
};

const BUCKET_NAME = /^(?!xn--)(?!.*\.\.)[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
const REGION = /^[a-z]{2}(-[a-z]+)+-\d$/;
// A Bedrock model id, a system inference profile id, or a system profile's ARN. Application
// inference profiles are refused: the models they route to are not knowable at synth time.
const MODEL_ID = /^(arn:aws[a-z-]*:bedrock:[a-z0-9-]+:\d{12}:inference-profile\/[A-Za-z0-9.:_-]+|[a-z0-9-]+\.[A-Za-z0-9.:_-]+)$/;

/** The stage a deploy without `-c stage=...` gets. */
export const DEFAULT_STAGE = 'prod';

/** The CloudFormation stack bin/metahook.ts deploys for a stage; the CLI's default target. */
export const metahookStackName = (stage: string): string => `Metahook-${stage}`;

const positiveInt = (max: number) => fromString(z.number().int().min(1).max(max), toNumber);
const positiveNumber = (max: number) => fromString(z.number().positive().max(max), toNumber);

/** Context key -> the METAHOOK_* variable lib/settings.ts reads, so CDK and runtime derive one plan. */
const CAPACITY_CONTEXT_ENV = {
  capacityFilesPerSecond: 'METAHOOK_CAPACITY_FILES_PER_SECOND',
  capacityTenantsAtFullRate: 'METAHOOK_CAPACITY_TENANTS_AT_FULL_RATE',
  capacitySecondsPerFile: 'METAHOOK_CAPACITY_SECONDS_PER_FILE',
  maxExtractorConcurrency: 'METAHOOK_CAPACITY_MAX_EXTRACTOR_CONCURRENCY',
  bedrockImageRequestsPerMinute: 'METAHOOK_BEDROCK_IMAGE_REQUESTS_PER_MINUTE',
  bedrockImageTokensPerMinute: 'METAHOOK_BEDROCK_IMAGE_TOKENS_PER_MINUTE',
  bedrockAudioRequestsPerMinute: 'METAHOOK_BEDROCK_AUDIO_REQUESTS_PER_MINUTE',
  bedrockAudioTokensPerMinute: 'METAHOOK_BEDROCK_AUDIO_TOKENS_PER_MINUTE',
} as const;

const schema = z.strictObject({
  stage: z
    .string()
    .regex(/^[a-z][a-z0-9-]{0,19}$/, 'must be 1-20 lowercase letters, digits or dashes, starting with a letter')
    .default(DEFAULT_STAGE),
  imageModelId: z.string().regex(MODEL_ID, 'must be a Bedrock model id, inference profile id, or profile ARN').default(DEFAULT_IMAGE_MODEL_ID),
  audioModelId: z.string().regex(MODEL_ID, 'must be a Bedrock model id, inference profile id, or profile ARN').default(DEFAULT_AUDIO_MODEL_ID),
  bedrockRoutingRegions: fromString(z.array(z.string().regex(REGION, 'must be an AWS Region code such as us-east-1')), toList).default([]),
  allowedSourceBuckets: fromString(
    z.array(z.string().regex(BUCKET_NAME, 'must be an S3 bucket name (not an ARN or s3:// URL)')).max(50),
    toList,
  ).default([]),
  throttleRateLimit: positiveInt(10_000).default(10),
  throttleBurstLimit: positiveInt(5_000).default(20),
  monthlyQuota: positiveInt(1_000_000_000).optional(),
  capacityFilesPerSecond: positiveNumber(100_000).optional(),
  capacityTenantsAtFullRate: positiveInt(100_000).optional(),
  capacitySecondsPerFile: positiveNumber(900).optional(),
  maxExtractorConcurrency: positiveInt(100_000).optional(),
  bedrockImageRequestsPerMinute: positiveNumber(1e9).optional(),
  bedrockImageTokensPerMinute: positiveNumber(1e12).optional(),
  bedrockAudioRequestsPerMinute: positiveNumber(1e9).optional(),
  bedrockAudioTokensPerMinute: positiveNumber(1e12).optional(),
  submitRateLimit: positiveNumber(10_000).optional(),
  submitBurstLimit: positiveInt(5_000).optional(),
  logRetentionDays: fromString(
    z.number().refine((n) => (LOG_RETENTION_DAYS as readonly number[]).includes(n), {
      message: `must be one of ${LOG_RETENTION_DAYS.join(', ')}`,
    }),
    toNumber,
  ).default(30),
  deletionProtection: fromString(z.boolean({ error: 'must be true or false' }), toBoolean).default(true),
  alarmEmail: z.email('must be an email address').optional(),
  mediaExpiryDays: positiveInt(365).default(7),
  apiGatewayCloudWatchRole: fromString(z.boolean({ error: 'must be true or false' }), toBoolean).default(true),
  imageDownscaling: fromString(z.boolean({ error: 'must be true or false' }), toBoolean).default(true),
  audioNormalisation: fromString(z.boolean({ error: 'must be true or false' }), toBoolean).default(true),
  maxAudioDurationSeconds: positiveInt(24 * 3600).default(2 * 3600),
  // JSON text (`-c modelPrices='{...}'`) or an object in cdk.json; checked by readPriceTable below.
  modelPrices: z.union([z.string(), z.record(z.string(), z.unknown())]).optional(),
  sourceMapStackTraces: fromString(z.boolean({ error: 'must be true or false' }), toBoolean).default(false),
});

/**
 * Validates the app's context values. `region` (when known at synth time) lets us refuse a
 * geographic inference profile that cannot be called from that Region.
 */
export function parseDeployConfig(context: Partial<Record<DeployContextKey, unknown>>, options: { region?: string } = {}): DeployConfig {
  const picked = Object.fromEntries(
    DEPLOY_CONTEXT_KEYS.filter((key) => context[key] !== undefined).map((key) => [key, context[key]]),
  );
  const result = schema.safeParse(picked);
  if (!result.success) {
    throw new DeployConfigError(
      result.error.issues.map((issue) => {
        const key = String(issue.path[0] ?? '(context)');
        const where = issue.path.length > 1 ? `${key}[${issue.path.slice(1).join('.')}]` : key;
        return `context key "${where}": ${issue.message} (got ${JSON.stringify(context[key as DeployContextKey])})`;
      }),
    );
  }
  const value = result.data;
  const problems: string[] = [];
  if (value.throttleBurstLimit < value.throttleRateLimit) {
    problems.push(
      `context key "throttleBurstLimit": must be >= throttleRateLimit (${value.throttleRateLimit}), got ${value.throttleBurstLimit}`,
    );
  }
  for (const key of ['imageModelId', 'audioModelId'] as const) {
    const geo = inferenceProfileGeography(value[key]);
    if (geo !== undefined && geo !== 'global' && options.region && !options.region.startsWith('${Token')) {
      const regions = value.bedrockRoutingRegions.length > 0 ? value.bedrockRoutingRegions : INFERENCE_PROFILE_ROUTING_REGIONS[geo];
      if (regions === undefined) {
        problems.push(`context key "${key}": unknown inference profile prefix "${geo}."; set bedrockRoutingRegions to the Regions it routes to`);
      } else if (!regions.includes(options.region)) {
        problems.push(
          `context key "${key}": the "${geo}." inference profile cannot be called from ${options.region}; use a profile of this Region's geography or an in-Region model id`,
        );
      }
    }
  }
  const capacityEnv = Object.fromEntries(
    Object.entries(CAPACITY_CONTEXT_ENV)
      .filter(([key]) => value[key as keyof typeof CAPACITY_CONTEXT_ENV] !== undefined)
      .map(([key, variable]) => [variable, String(value[key as keyof typeof CAPACITY_CONTEXT_ENV])]),
  );
  let capacity: CapacityPlan | undefined;
  try {
    capacity = deriveCapacityPlan(capacityInputs(capacityEnv, resolveSettings({}).api.maxFilesPerRequest), {
      ...(value.submitRateLimit !== undefined ? { rateLimit: value.submitRateLimit } : {}),
      ...(value.submitBurstLimit !== undefined ? { burstLimit: value.submitBurstLimit } : {}),
      ...(value.monthlyQuota !== undefined ? { monthlyQuota: value.monthlyQuota } : {}),
    });
  } catch (error) {
    if (error instanceof CapacityError) problems.push(...error.problems.map((p) => `capacity: ${p}`));
    else if (error instanceof SettingsError) problems.push(`capacity: ${error.message}`);
    else throw error;
  }
  let modelPrices: string | undefined;
  if (value.modelPrices !== undefined) {
    const raw = typeof value.modelPrices === 'string' ? value.modelPrices : JSON.stringify(value.modelPrices);
    try {
      readPriceTable({ [MODEL_PRICES_ENV]: raw });
      modelPrices = raw;
    } catch (error) {
      if (!(error instanceof PriceTableError)) throw error;
      problems.push(`context key "modelPrices": ${error.message}`);
    }
  }
  if (problems.length > 0 || capacity === undefined) throw new DeployConfigError(problems);
  return {
    stage: value.stage,
    imageModelId: value.imageModelId,
    audioModelId: value.audioModelId,
    bedrockRoutingRegions: value.bedrockRoutingRegions,
    allowedSourceBuckets: [...new Set(value.allowedSourceBuckets)],
    usagePlan: {
      rateLimit: value.throttleRateLimit,
      burstLimit: value.throttleBurstLimit,
      submit: capacity.submitThrottle,
      monthlyQuota: capacity.monthlyQuota,
    },
    capacityEnv,
    capacity,
    logRetentionDays: value.logRetentionDays as DeployConfig['logRetentionDays'],
    deletionProtection: value.deletionProtection,
    alarmEmail: value.alarmEmail,
    mediaExpiryDays: value.mediaExpiryDays,
    apiGatewayCloudWatchRole: value.apiGatewayCloudWatchRole,
    imageDownscaling: value.imageDownscaling,
    audioNormalisation: value.audioNormalisation,
    maxAudioDurationSeconds: value.maxAudioDurationSeconds,
    modelPrices,
    sourceMapStackTraces: value.sourceMapStackTraces,
  };
}

/** Reads this app's keys from a construct node's context (the App in bin/metahook.ts). */
export function readDeployConfig(
  node: { tryGetContext(key: string): unknown },
  options: { region?: string } = {},
): DeployConfig {
  const context = Object.fromEntries(DEPLOY_CONTEXT_KEYS.map((key) => [key, node.tryGetContext(key)]));
  return parseDeployConfig(context, options);
}

/** "us" for "us.amazon.nova-lite-v1:0" (or its profile ARN); undefined for an in-Region model id. */
export function inferenceProfileGeography(modelId: string): string | undefined {
  const id = modelId.includes(':inference-profile/') ? modelId.split(':inference-profile/')[1]! : modelId;
  // In-Region ids are "<provider>.<model>"; system profile ids prefix a geography: "<geo>.<provider>.<model>".
  const [geo, provider] = id.split('.');
  return geo !== undefined && provider !== undefined && KNOWN_PROVIDERS.has(provider) && !KNOWN_PROVIDERS.has(geo)
    ? geo
    : undefined;
}

/** Model id without its geography prefix: the foundation model a profile routes to. */
export function foundationModelId(modelId: string): string {
  const id = modelId.includes(':inference-profile/') ? modelId.split(':inference-profile/')[1]! : modelId;
  const geo = inferenceProfileGeography(modelId);
  return geo === undefined ? id : id.slice(geo.length + 1);
}

const KNOWN_PROVIDERS = new Set([
  'amazon', 'anthropic', 'meta', 'mistral', 'cohere', 'ai21', 'deepseek', 'writer', 'openai', 'qwen',
  'google', 'twelvelabs', 'stability', 'luma', 'nvidia', 'minimax', 'moonshot', 'moonshotai',
]);
