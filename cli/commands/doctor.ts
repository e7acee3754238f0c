// `metahook doctor`: what a platform team runs right after `cdk deploy` (or against `npm start`).
// Each check passes or fails with the fix: the stack's outputs are there; each configured model
// answers a tiny bundled image and audio file through the production provider (the extractor's
// own request builder and reply parsing); the alarm topic accepts a test notification; and, with
// --e2e-callback, one real job reaches the operator's receiver (doctor-end-to-end.ts); and on AWS
// the functions' logged Init Duration is within budget (doctor-cold-starts.ts).
// The checks take their collaborators as arguments, so unit tests pass fakes.
import { readFile } from 'node:fs/promises';
import type { ExtractionInput, MetadataProvider } from '../../lambdas/core/ports';
import { COLD_START_CHECK, coldStartCheck, type ColdStarts } from './doctor-cold-starts';
import { END_TO_END_CHECK } from './doctor-end-to-end';

export type CheckStatus = 'pass' | 'fail' | 'skip';

export interface DoctorCheck {
  readonly name: string;
  readonly status: CheckStatus;
  readonly detail: string;
  /** What to do about a failure. */
  readonly fix?: string;
}

export interface DoctorDeps {
  /** Where the checks run, for the report ("AWS stack Metahook-prod", "local stack"). */
  readonly description: string;
  /** The stack outputs (AWS) or the local state's names; undefined when they cannot be read. */
  loadOutputs(): Promise<Record<string, string>>;
  /** Output keys the CLI and the operators rely on. */
  readonly requiredOutputs: readonly string[];
  readonly modelIds: { readonly image: string; readonly audio: string };
  /** The extractor's provider, built the way the extractor builds it. */
  createProvider(): Promise<MetadataProvider>;
  /** Publishes a test notification to the alarm topic; undefined where there is no SNS (local). */
  readonly publishToTopic?: (topicArn: string, subject: string, message: string) => Promise<void>;
  /**
   * One real job through the API to the operator's callback URL (--e2e-callback), given the
   * outputs read above (ApiBaseUrl); undefined when not asked for.
   */
  readonly endToEnd?: (outputs: Record<string, string>) => Promise<DoctorCheck>;
  /** The Init Duration of each deployed function's recent cold starts; undefined where there is no Lambda (local). */
  readonly coldStarts?: () => Promise<ColdStarts>;
  /** The p50 Init Duration each function must stay within. @default 100 */
  readonly initBudgetMs?: number;
  /** @default the bundled cli/fixtures files */
  readonly fixtures?: { readonly image: ExtractionInput; readonly audio: ExtractionInput };
}

export const ALARM_TOPIC_OUTPUT = 'AlarmTopicArn';

export async function bundledFixtures(): Promise<{ image: ExtractionInput; audio: ExtractionInput }> {
  const file = (name: string) => readFile(new URL(`../fixtures/${name}`, import.meta.url));
  return {
    image: { kind: 'image', format: 'png', mime: 'image/png', bytes: new Uint8Array(await file('doctor-image.png')) },
    audio: { kind: 'audio', format: 'mp3', mime: 'audio/mpeg', bytes: new Uint8Array(await file('doctor-audio.mp3')) },
  };
}

/**
 * The fix for a model that did not answer. Third-party models (Mistral, Anthropic, ...) are sold
 * through AWS Marketplace: the first call subscribes the account and is refused with an
 * AccessDeniedException naming aws-marketplace actions unless the caller may subscribe
 * (https://docs.aws.amazon.com/bedrock/latest/userguide/model-access.html).
 */
export function modelFix(error: unknown, modelId: string): string {
  const message = `${(error as Error)?.name ?? ''} ${(error as Error)?.message ?? ''} ${String((error as { cause?: Error })?.cause?.message ?? '')}`;
  if (/aws-marketplace|marketplace/i.test(message)) {
    return `${modelId} is a third-party model its first call subscribes to through AWS Marketplace: run doctor once as a principal allowed aws-marketplace:Subscribe and aws-marketplace:ViewSubscriptions (or open the model once in the Bedrock console), then run doctor again. The extractor role needs no Marketplace permission.`;
  }
  if (/AccessDenied|not authorized|model_access_denied/i.test(message)) {
    return `allow bedrock:InvokeModel on ${modelId} for your credentials (the stack grants it to the extractor role), and make sure model access is enabled in this Region`;
  }
  if (/ResourceNotFound|not found|doesn't support|not supported/i.test(message)) {
    return `${modelId} is not offered in this Region (or through this profile): pick another model or inference profile with -c imageModelId=/audioModelId= and redeploy`;
  }
  if (/Throttl|Too many|ServiceUnavailable/i.test(message)) return 'Bedrock throttled the call: run doctor again in a minute; raise the quota if it persists';
  if (/Credential/i.test(message)) return 'no AWS credentials found: export AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY';
  return 'see the message; docs/bedrock.md lists what each model accepts';
}

export async function runDoctor(deps: DoctorDeps): Promise<DoctorCheck[]> {
  const checks: DoctorCheck[] = [];
  let outputs: Record<string, string> = {};
  try {
    outputs = await deps.loadOutputs();
    const missing = deps.requiredOutputs.filter((key) => !outputs[key]);
    checks.push(
      missing.length === 0
        ? { name: 'stack outputs', status: 'pass', detail: `${deps.requiredOutputs.length} outputs present` }
        : {
            name: 'stack outputs',
            status: 'fail',
            detail: `missing: ${missing.join(', ')}`,
            fix: 'deploy this version of the stack (npx cdk deploy), or pass the right --stack / METAHOOK_STAGE',
          },
    );
  } catch (error) {
    checks.push({
      name: 'stack outputs',
      status: 'fail',
      detail: `cannot read them: ${(error as Error).message}`,
      fix: 'check --stack and --region, and that your credentials allow cloudformation:DescribeStacks',
    });
  }

  const fixtures = deps.fixtures ?? (await bundledFixtures());
  let provider: MetadataProvider | undefined;
  try {
    provider = await deps.createProvider();
  } catch (error) {
    checks.push({ name: 'model provider', status: 'fail', detail: (error as Error).message, fix: 'fix the model configuration' });
  }
  if (provider) {
    for (const kind of ['image', 'audio'] as const) {
      const modelId = provider.name === 'bedrock' ? deps.modelIds[kind] : provider.name;
      try {
        const output = await provider.extract(fixtures[kind]);
        const fields = Object.keys(output.result ?? {}).join(', ');
        checks.push({ name: `${kind} model ${modelId}`, status: 'pass', detail: `answered the bundled ${kind} (${fields || 'no fields'})` });
      } catch (error) {
        checks.push({ name: `${kind} model ${modelId}`, status: 'fail', detail: (error as Error).message, fix: modelFix(error, modelId) });
      }
    }
  }

  const topic = outputs[ALARM_TOPIC_OUTPUT];
  if (!deps.publishToTopic) {
    checks.push({ name: 'alarm topic', status: 'skip', detail: 'no SNS here (local stack)' });
  } else if (!topic) {
    checks.push({ name: 'alarm topic', status: 'fail', detail: `no ${ALARM_TOPIC_OUTPUT} output`, fix: 'deploy this version of the stack' });
  } else {
    try {
      await deps.publishToTopic(topic, 'Metahook doctor test notification', `metahook doctor checked ${deps.description} at ${new Date().toISOString()}; no action needed.`);
      checks.push({ name: 'alarm topic', status: 'pass', detail: `accepted a test notification (${topic}); subscribers should receive it` });
    } catch (error) {
      checks.push({
        name: 'alarm topic',
        status: 'fail',
        detail: (error as Error).message,
        fix: 'your credentials need sns:Publish on the topic and kms:GenerateDataKey + kms:Decrypt on the stack key (the key policy delegates to IAM)',
      });
    }
  }
  checks.push(
    deps.endToEnd
      ? await deps.endToEnd(outputs)
      : { name: END_TO_END_CHECK, status: 'skip', detail: 'not asked for: --e2e-callback URL sends one real job to your receiver' },
  );
  // Last, so the end-to-end job's own cold starts have had a moment to reach the logs.
  if (!deps.coldStarts) {
    checks.push({ name: COLD_START_CHECK, status: 'skip', detail: 'no Lambda here (local stack): BENCHMARKS.md 6 measures bundle init instead' });
  } else {
    try {
      checks.push(coldStartCheck(await deps.coldStarts(), deps.initBudgetMs));
    } catch (error) {
      checks.push({
        name: COLD_START_CHECK,
        status: 'fail',
        detail: `cannot read the functions' logs: ${(error as Error).message}`,
        fix: "your credentials need cloudformation:ListStackResources on the stack and logs:FilterLogEvents on its functions' log groups",
      });
    }
  }
  return checks;
}

export function formatDoctorReport(description: string, checks: readonly DoctorCheck[]): string {
  const mark: Record<CheckStatus, string> = { pass: 'PASS', fail: 'FAIL', skip: 'SKIP' };
  const lines = [`metahook doctor: ${description}`];
  for (const check of checks) {
    lines.push(`${mark[check.status]}  ${check.name}: ${check.detail}`);
    if (check.fix) lines.push(`      fix: ${check.fix}`);
  }
  const failed = checks.filter((c) => c.status === 'fail').length;
  lines.push(failed === 0 ? 'all checks passed' : `${failed} check(s) failed`);
  return lines.join('\n');
}
