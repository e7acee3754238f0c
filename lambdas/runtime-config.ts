// Environment contract between the deploy (CDK or the local stack) and the handlers.
// A missing required variable fails at cold start with a clear message, never defaults to ''.
import { resolveSettings, type Settings } from '../lib/settings';

/** Variable names, shared with lib/constructs and local/ so the contract has one spelling. */
export const ENV = {
  tableName: 'METAHOOK_TABLE_NAME',
  jobsQueueUrl: 'METAHOOK_JOBS_QUEUE_URL',
  jobsDlqUrl: 'METAHOOK_JOBS_DLQ_URL',
  deliveriesQueueUrl: 'METAHOOK_DELIVERIES_QUEUE_URL',
  deliveriesDlqUrl: 'METAHOOK_DELIVERIES_DLQ_URL',
  mediaBucket: 'METAHOOK_MEDIA_BUCKET',
  allowedSourceBuckets: 'METAHOOK_ALLOWED_SOURCE_BUCKETS',
  modelProvider: 'METAHOOK_MODEL_PROVIDER',
  imageModelId: 'METAHOOK_IMAGE_MODEL_ID',
  audioModelId: 'METAHOOK_AUDIO_MODEL_ID',
  /** Local mode only: lets file and callback URLs use http:// on loopback. */
  allowLoopbackHttp: 'METAHOOK_ALLOW_LOOPBACK_HTTP',
  /** Extra outbound ports besides 443, comma-separated. */
  allowedPorts: 'METAHOOK_ALLOWED_PORTS',
  /** Local mode only: the S3 emulator needs path-style addressing. */
  s3ForcePathStyle: 'METAHOOK_S3_FORCE_PATH_STYLE',
  /** ARN of the KMS key that seals signing secrets and receiver credentials (SecretSealer). */
  secretsKeyId: 'METAHOOK_SECRETS_KEY_ID',
} as const;

export class ConfigurationError extends Error {
  override readonly name = 'ConfigurationError';
}

type Env = Record<string, string | undefined>;

export function requireEnv(env: Env, name: string): string {
  const value = env[name];
  if (value === undefined || value.trim() === '') {
    throw new ConfigurationError(`Environment variable ${name} is required but not set`);
  }
  return value;
}

const list = (raw: string | undefined): string[] =>
  (raw ?? '')
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item.length > 0);

export interface OutboundPolicy {
  readonly allowLoopbackHttp: boolean;
  readonly allowedPorts: readonly number[];
}

export function readOutboundPolicy(env: Env): OutboundPolicy {
  const extraPorts = list(env[ENV.allowedPorts]).map((port) => {
    const value = Number(port);
    if (!Number.isInteger(value) || value < 1 || value > 65_535) {
      throw new ConfigurationError(`${ENV.allowedPorts} has an invalid port "${port}"`);
    }
    return value;
  });
  return {
    allowLoopbackHttp: env[ENV.allowLoopbackHttp] === 'true',
    allowedPorts: [443, ...extraPorts],
  };
}

export interface SourcePolicy {
  readonly mediaBucket: string;
  readonly allowedSourceBuckets: readonly string[];
}

export function readSourcePolicy(env: Env): SourcePolicy {
  return {
    mediaBucket: requireEnv(env, ENV.mediaBucket),
    allowedSourceBuckets: list(env[ENV.allowedSourceBuckets]),
  };
}

export const readSettings = (env: Env): Settings => resolveSettings(env);
