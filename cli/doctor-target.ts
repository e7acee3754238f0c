// CLI plumbing for `metahook doctor`: builds the checks' collaborators for the local stack
// (its state file, the provider the local extractor uses) or a deployed stack (its outputs,
// the production Bedrock provider with the caller's credentials, the alarm topic over SNS, the
// functions' logs for their cold starts).
import { existsSync, readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { ENV } from '../lambdas/runtime-config';
import { importOptionalSdk } from '../lambdas/adapters/apigateway-keys';
import { createMetadataProvider } from '../lambdas/adapters/model-provider';
import { DEFAULT_AUDIO_MODEL_ID, DEFAULT_IMAGE_MODEL_ID } from '../lib/deploy-config';
import type { LocalCredentials } from '../local/stack';
import { ALARM_TOPIC_OUTPUT, bundledFixtures, type DoctorCheck, type DoctorDeps } from './commands/doctor';
import { END_TO_END_CHECK, runEndToEndCheck } from './commands/doctor-end-to-end';
import { readStackColdStarts } from './cold-start-logs';
import { UsageError, type CliIo } from './io';
import { chooseTarget, loadStackOutputs, localStateFile, stackNameFor, STACK_OUTPUTS, TargetUnavailableError, type TargetOptions } from './target';

export interface DoctorOptions extends TargetOptions {
  readonly imageModel?: string;
  readonly audioModel?: string;
  /** Send one real job whose event goes to this URL. */
  readonly e2eCallback?: string;
  /** @default 120 */
  readonly e2eTimeoutSeconds?: number;
  /** The p50 Init Duration the cold-start check holds each function to. @default 100 */
  readonly initBudgetMs?: number;
}

/** The tenant key the end-to-end job is sent with: an environment variable, never a flag (shell history, ps). */
export const API_KEY_ENV = 'METAHOOK_API_KEY';
/** The stage URL output of lib/constructs/intake-api.ts. */
const API_BASE_URL_OUTPUT = 'ApiBaseUrl';

/** The outputs `doctor --aws` requires: all the CLI reads, the alarm topic and the API's base URL. */
export const AWS_DOCTOR_REQUIRED_OUTPUTS: readonly string[] = [...Object.values(STACK_OUTPUTS), ALARM_TOPIC_OUTPUT, API_BASE_URL_OUTPUT];

function endToEnd(
  options: DoctorOptions,
  apiKey: string | undefined,
  apiBaseUrl: (outputs: Record<string, string>) => string | undefined,
): DoctorDeps['endToEnd'] {
  const callbackUrl = options.e2eCallback;
  if (callbackUrl === undefined) return undefined;
  if (!apiKey) throw new UsageError(`--e2e-callback sends a job as a tenant: export ${API_KEY_ENV} with that tenant's API key`);
  return async (outputs): Promise<DoctorCheck> => {
    const base = apiBaseUrl(outputs);
    if (!base) return { name: END_TO_END_CHECK, status: 'fail', detail: `no ${API_BASE_URL_OUTPUT} output`, fix: 'deploy this version of the stack' };
    return runEndToEndCheck({
      apiBaseUrl: base,
      apiKey,
      callbackUrl,
      image: (await bundledFixtures()).image.bytes,
      fetch: globalThis.fetch,
      timeoutMs: (options.e2eTimeoutSeconds ?? 120) * 1000,
    });
  };
}

export function doctorDeps(options: DoctorOptions, io: Pick<CliIo, 'env' | 'cwd'>): DoctorDeps {
  if (chooseTarget(options, io) === 'local') {
    const file = localStateFile(io);
    const state = async () => {
      if (!existsSync(file)) throw new TargetUnavailableError(`${file} not found: start the local stack with npm start`);
      return JSON.parse(await readFile(file, 'utf8')) as Partial<LocalCredentials>;
    };
    // The local stack's own tenant unless the operator names another.
    const saved = existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as Partial<LocalCredentials>) : {};
    const e2e = endToEnd(options, io.env[API_KEY_ENV] ?? saved.apiKey, () => (saved.endpoint ? `${saved.endpoint}/v1/` : undefined));
    return {
      description: `local stack (${file})`,
      ...(e2e ? { endToEnd: e2e } : {}),
      loadOutputs: async () => ({ ...(await state()).handlerEnv }),
      requiredOutputs: [ENV.tableName, ENV.jobsQueueUrl, ENV.jobsDlqUrl, ENV.deliveriesQueueUrl, ENV.deliveriesDlqUrl, ENV.mediaBucket],
      modelIds: { image: options.imageModel ?? DEFAULT_IMAGE_MODEL_ID, audio: options.audioModel ?? DEFAULT_AUDIO_MODEL_ID },
      // The provider the local extractor runs with (the local analyzer unless the stack was started with Bedrock).
      createProvider: async () => createMetadataProvider({ ...(await state()).handlerEnv }),
    };
  }
  const stackName = stackNameFor(options, io.env);
  const region = options.region ?? io.env.AWS_REGION;
  const modelIds = { image: options.imageModel ?? DEFAULT_IMAGE_MODEL_ID, audio: options.audioModel ?? DEFAULT_AUDIO_MODEL_ID };
  const e2e = endToEnd(options, io.env[API_KEY_ENV], (outputs) => outputs[API_BASE_URL_OUTPUT]);
  return {
    ...(e2e ? { endToEnd: e2e } : {}),
    description: `AWS stack ${stackName}${region ? ` in ${region}` : ''}`,
    loadOutputs: () => loadStackOutputs(stackName, region),
    coldStarts: () => readStackColdStarts(stackName, region),
    ...(options.initBudgetMs !== undefined ? { initBudgetMs: options.initBudgetMs } : {}),
    // Every output some CLI command reads (a stack from before a release may lack a newer one).
    requiredOutputs: AWS_DOCTOR_REQUIRED_OUTPUTS,
    modelIds,
    // The extractor's own provider wiring, with the operator's credentials.
    createProvider: () =>
      createMetadataProvider({
        ...(region ? { AWS_REGION: region } : {}),
        [ENV.modelProvider]: 'bedrock',
        [ENV.imageModelId]: modelIds.image,
        [ENV.audioModelId]: modelIds.audio,
      }),
    async publishToTopic(topicArn, subject, message) {
      const { SNSClient, PublishCommand } = await importOptionalSdk('@aws-sdk/client-sns');
      const sns = new SNSClient(region ? { region } : {});
      try {
        await sns.send(new PublishCommand({ TopicArn: topicArn, Subject: subject, Message: message }));
      } finally {
        sns.destroy();
      }
    },
  };
}
