// CLI plumbing: which deployment a command acts on. `--local` reads the running local stack's
// .metahook/local.json (emulator endpoints, table and queue names); `--aws` reads the
// CloudFormation stack's outputs. Either way commands get the same clients and names.
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { ListDeadLetterSourceQueuesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { KMSClient } from '@aws-sdk/client-kms';
import type { MediaSourceLimits } from '../lambdas/core/manage-tenants';
import type { ApiKeyRegistry, SecretSealer } from '../lambdas/core/ports';
import { createKmsSecretSealer } from '../lambdas/adapters/kms-secret-sealer';
import { ENV } from '../lambdas/runtime-config';
import { DEFAULT_STAGE, metahookStackName } from '../lib/deploy-config';
import { resolveSettings } from '../lib/settings';
import { createApiGatewayKeys, importOptionalSdk, loadApiGatewayClient } from '../lambdas/adapters/apigateway-keys';
import { createLocalApiKeys } from '../local/api-key-registry';
import type { LocalCredentials } from '../local/stack';
import { UsageError, type CliIo } from './io';

/** What bin/metahook.ts deploys without `-c stage=...`: the same name function, so they cannot drift. */
export const DEFAULT_STACK_NAME = metahookStackName(DEFAULT_STAGE);

/** --stack wins; else METAHOOK_STAGE names the stage (`Metahook-<stage>`); else the default stage's stack. */
export function stackNameFor(options: Pick<TargetOptions, 'stack'>, env: Readonly<Record<string, string | undefined>>): string {
  if (options.stack) return options.stack;
  return env.METAHOOK_STAGE ? metahookStackName(env.METAHOOK_STAGE) : DEFAULT_STACK_NAME;
}

export interface QueueUrls {
  readonly jobs: string;
  readonly jobsDeadLetter: string;
  readonly jobsHeld: string;
  readonly deliveries: string;
  readonly deliveriesDeadLetter: string;
}

export interface Target {
  /** For messages: where the command acted. */
  readonly description: string;
  readonly tableName: string;
  readonly db: DynamoDBDocumentClient;
  readonly sqs: SQSClient;
  queueUrls(): Promise<QueueUrls>;
  /** Lazy: only tenant commands need the gateway's keys (and, on AWS, its SDK package). */
  apiKeys(): Promise<ApiKeyRegistry>;
  /** The stack's secrets key (KMS, or the local key service): tenant commands seal with it. */
  sealer(): SecretSealer;
  /** The media bucket and the buckets the deployment may read (tenants allow-source checks against them). */
  mediaSourceLimits(): Promise<MediaSourceLimits>;
  /** The deployment's longest recording (maxAudioDurationSeconds): tenants set-audio-limit caps at it. */
  maxAudioDurationSeconds(): Promise<number>;
  close(): void;
}

export interface TargetOptions {
  readonly local?: boolean;
  readonly aws?: boolean;
  readonly stack?: string;
  readonly region?: string;
}

export class TargetUnavailableError extends Error {
  override readonly name = 'TargetUnavailableError';
}

export const localStateFile = (io: Pick<CliIo, 'env' | 'cwd'>): string =>
  join(resolve(io.cwd, io.env.METAHOOK_DATA_DIR ?? '.metahook'), 'local.json');

/** --local, or by default when a local stack has written its state file (or METAHOOK_LOCAL=1). */
export function chooseTarget(options: TargetOptions, io: Pick<CliIo, 'env' | 'cwd'>): 'local' | 'aws' {
  if (options.local && options.aws) throw new UsageError('pass either --local or --aws, not both');
  if (options.aws) return 'aws';
  if (options.local || io.env.METAHOOK_LOCAL === '1' || existsSync(localStateFile(io))) return 'local';
  throw new UsageError('no target: start the local stack (npm start) or pass --aws [--stack NAME]');
}

export async function resolveTarget(options: TargetOptions, io: Pick<CliIo, 'env' | 'cwd'>): Promise<Target> {
  return chooseTarget(options, io) === 'local'
    ? resolveLocalTarget(localStateFile(io))
    : resolveAwsTarget({ stackName: stackNameFor(options, io.env), region: options.region ?? io.env.AWS_REGION });
}

// ---------- local ----------

export async function resolveLocalTarget(stateFile: string): Promise<Target> {
  if (!existsSync(stateFile)) throw new TargetUnavailableError(`${stateFile} not found: start the local stack with npm start`);
  const state = JSON.parse(await readFile(stateFile, 'utf8')) as Partial<LocalCredentials>;
  const env = state.handlerEnv ?? {};
  const need = (name: string) => {
    const value = env[name];
    if (!value) throw new TargetUnavailableError(`${stateFile} has no ${name}: restart the local stack (npm start)`);
    return value;
  };
  if (!state.dynamoEndpoint || !state.sqsEndpoint) {
    throw new TargetUnavailableError(`${stateFile} has no emulator endpoints: restart the local stack (npm start)`);
  }
  // The emulators take any credentials; never hand them the operator's real ones.
  const common = { region: env.AWS_REGION ?? 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } };
  const dynamo = new DynamoDBClient({ ...common, endpoint: state.dynamoEndpoint });
  const db = DynamoDBDocumentClient.from(dynamo, { marshallOptions: { removeUndefinedValues: true } });
  const sqs = new SQSClient({ ...common, endpoint: state.sqsEndpoint, useQueueUrlAsEndpoint: false });
  let kms: KMSClient | undefined;
  const queues: QueueUrls = {
    jobs: need(ENV.jobsQueueUrl),
    jobsDeadLetter: need(ENV.jobsDlqUrl),
    jobsHeld: need(ENV.jobsHeldQueueUrl),
    deliveries: need(ENV.deliveriesQueueUrl),
    deliveriesDeadLetter: need(ENV.deliveriesDlqUrl),
  };
  return {
    description: `local stack at ${state.endpoint ?? state.dynamoEndpoint}`,
    tableName: need(ENV.tableName),
    db,
    sqs,
    queueUrls: async () => queues,
    apiKeys: async () => createLocalApiKeys(db),
    sealer() {
      const keyId = need(ENV.secretsKeyId);
      kms ??= new KMSClient({ ...common, endpoint: need('AWS_ENDPOINT_URL_KMS') });
      return createKmsSecretSealer(kms, { keyId });
    },
    mediaSourceLimits: async () => ({
      mediaBucket: need(ENV.mediaBucket),
      allowedSourceBuckets: listOf(env[ENV.allowedSourceBuckets]),
    }),
    // The same reading of METAHOOK_MAX_AUDIO_SECONDS as the local extractor's.
    maxAudioDurationSeconds: async () => resolveSettings(env).extraction.maxAudioDurationSeconds,
    close() {
      dynamo.destroy();
      sqs.destroy();
      kms?.destroy();
    },
  };
}

// ---------- AWS ----------

/** CloudFormation output keys of lib/metahook-stack.ts and lib/constructs/intake-api.ts. */
export const STACK_OUTPUTS = {
  tableName: 'TableName',
  usagePlanId: 'UsagePlanId',
  jobsDeadLetterQueueUrl: 'JobsDeadLetterQueueUrl',
  jobsHeldQueueUrl: 'JobsHeldQueueUrl',
  deliveriesDeadLetterQueueUrl: 'DeliveriesDeadLetterQueueUrl',
  /** Optional: found from the dead-letter queue (ListDeadLetterSourceQueues) when the stack lacks them. */
  jobsQueueUrl: 'JobsQueueUrl',
  deliveriesQueueUrl: 'DeliveriesQueueUrl',
  /** The KMS key that seals signing secrets (lib/constructs/storage.ts). */
  secretsKeyArn: 'SecretsKeyArn',
  mediaBucketName: 'MediaBucketName',
  /** Comma-separated; `-` when the deployment reads no other bucket (an output cannot be empty). */
  allowedSourceBuckets: 'AllowedSourceBuckets',
  /** The extractor's maxAudioDurationSeconds: `tenants set-audio-limit` may set less, never more. */
  maxAudioSeconds: 'MaxAudioSeconds',
} as const;

const listOf = (raw: string | undefined): string[] =>
  (raw ?? '')
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item.length > 0 && item !== '-');

export type StackOutputs = Record<string, string>;

export async function loadStackOutputs(stackName: string, region: string | undefined): Promise<StackOutputs> {
  const { CloudFormation } = await importOptionalSdk('@aws-sdk/client-cloudformation');
  const cloudFormation = new CloudFormation(region ? { region } : {});
  try {
    const { Stacks } = (await cloudFormation.describeStacks({ StackName: stackName })) as {
      Stacks?: { Outputs?: { OutputKey?: string; OutputValue?: string }[] }[];
    };
    const outputs = Stacks?.[0]?.Outputs ?? [];
    return Object.fromEntries(outputs.filter((o) => o.OutputKey && o.OutputValue).map((o) => [o.OutputKey!, o.OutputValue!]));
  } finally {
    cloudFormation.destroy?.();
  }
}

export interface AwsTargetOptions {
  readonly stackName: string;
  readonly region?: string | undefined;
  /** Injected by tests; defaults to CloudFormation DescribeStacks. */
  readonly loadOutputs?: (stackName: string, region: string | undefined) => Promise<StackOutputs>;
  readonly sqs?: SQSClient;
  readonly db?: DynamoDBDocumentClient;
  readonly apiKeys?: () => Promise<ApiKeyRegistry>;
  readonly kms?: KMSClient;
}

export async function resolveAwsTarget(options: AwsTargetOptions): Promise<Target> {
  const outputs = await (options.loadOutputs ?? loadStackOutputs)(options.stackName, options.region);
  const need = (key: string) => {
    const value = outputs[key];
    if (!value) throw new TargetUnavailableError(`stack ${options.stackName} has no output ${key}`);
    return value;
  };
  const tableName = need(STACK_OUTPUTS.tableName);
  const config = options.region ? { region: options.region } : {};
  const dynamo = options.db ? undefined : new DynamoDBClient(config);
  const db = options.db ?? DynamoDBDocumentClient.from(dynamo!, { marshallOptions: { removeUndefinedValues: true } });
  const sqs = options.sqs ?? new SQSClient(config);
  let kms = options.kms;

  async function sourceOf(deadLetterQueueUrl: string, outputKey: string): Promise<string> {
    if (outputs[outputKey]) return outputs[outputKey];
    const { queueUrls = [] } = await sqs.send(new ListDeadLetterSourceQueuesCommand({ QueueUrl: deadLetterQueueUrl }));
    if (queueUrls.length !== 1) {
      throw new TargetUnavailableError(
        `cannot tell the source queue of ${deadLetterQueueUrl} (${queueUrls.length} found); add the ${outputKey} stack output`,
      );
    }
    return queueUrls[0]!;
  }

  let queues: Promise<QueueUrls> | undefined;
  return {
    description: `AWS stack ${options.stackName}${options.region ? ` in ${options.region}` : ''}`,
    tableName,
    db,
    sqs,
    queueUrls() {
      queues ??= (async () => {
        const jobsDeadLetter = need(STACK_OUTPUTS.jobsDeadLetterQueueUrl);
        const deliveriesDeadLetter = need(STACK_OUTPUTS.deliveriesDeadLetterQueueUrl);
        return {
          jobsDeadLetter,
          jobsHeld: need(STACK_OUTPUTS.jobsHeldQueueUrl),
          deliveriesDeadLetter,
          jobs: await sourceOf(jobsDeadLetter, STACK_OUTPUTS.jobsQueueUrl),
          deliveries: await sourceOf(deliveriesDeadLetter, STACK_OUTPUTS.deliveriesQueueUrl),
        };
      })();
      return queues;
    },
    mediaSourceLimits: async () => ({
      mediaBucket: need(STACK_OUTPUTS.mediaBucketName),
      allowedSourceBuckets: listOf(need(STACK_OUTPUTS.allowedSourceBuckets)),
    }),
    async maxAudioDurationSeconds() {
      const seconds = Number(need(STACK_OUTPUTS.maxAudioSeconds));
      if (!Number.isInteger(seconds) || seconds < 1) throw new TargetUnavailableError(`stack ${options.stackName} output ${STACK_OUTPUTS.maxAudioSeconds} is not a whole number of seconds`);
      return seconds;
    },
    apiKeys:
      options.apiKeys ??
      (async () =>
        createApiGatewayKeys(await loadApiGatewayClient(options.region ? { region: options.region } : {}), {
          usagePlanId: need(STACK_OUTPUTS.usagePlanId),
        })),
    sealer() {
      const keyId = need(STACK_OUTPUTS.secretsKeyArn);
      kms ??= new KMSClient(config);
      return createKmsSecretSealer(kms, { keyId });
    },
    close() {
      dynamo?.destroy();
      if (!options.sqs) sqs.destroy();
      if (!options.kms) kms?.destroy();
    },
  };
}
