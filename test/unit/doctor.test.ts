// metahook doctor with fakes: each check's pass and fail, the fix it prints, and the production
// Bedrock wiring mapping the first-call Marketplace refusal of a third-party model to its fix.
import { afterEach, describe, expect, it } from 'vitest';
import { mockClient } from 'aws-sdk-client-mock';
import { BedrockRuntimeClient, ConverseCommand, InvokeModelCommand } from '@aws-sdk/client-bedrock-runtime';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { formatDoctorReport, runDoctor, type DoctorDeps } from '../../cli/commands/doctor';
import { doctorDeps } from '../../cli/doctor-target';
import type { MetadataProvider } from '../../lambdas/core/ports';

const bedrock = mockClient(BedrockRuntimeClient);
const sns = mockClient(SNSClient);
afterEach(() => {
  bedrock.reset();
  sns.reset();
});

const OUTPUTS = { TableName: 't', AlarmTopicArn: 'arn:aws:sns:us-east-1:123456789012:alarms' };
const answering: MetadataProvider = {
  name: 'bedrock',
  extract: async (input) => ({ result: { kind: input.kind, caption: 'a red disc' } as never, model: { provider: 'bedrock', id: 'm' } }),
};
const deps = (over: Partial<DoctorDeps> = {}): DoctorDeps => ({
  description: 'test stack',
  loadOutputs: async () => OUTPUTS,
  requiredOutputs: ['TableName', 'AlarmTopicArn'],
  modelIds: { image: 'us.amazon.nova-lite-v1:0', audio: 'mistral.voxtral-small-24b-2507' },
  createProvider: async () => answering,
  publishToTopic: async () => {},
  coldStarts: async () => new Map([['IntakeFunctionLogs', [80, 95]]]),
  ...over,
});

describe('runDoctor', () => {
  it('passes every check when outputs, models and the alarm topic all answer', async () => {
    const published: string[] = [];
    const checks = await runDoctor(deps({ publishToTopic: async (topic) => void published.push(topic) }));
    expect(checks.map((c) => [c.name, c.status])).toEqual([
      ['stack outputs', 'pass'],
      ['image model us.amazon.nova-lite-v1:0', 'pass'],
      ['audio model mistral.voxtral-small-24b-2507', 'pass'],
      ['alarm topic', 'pass'],
      ['end-to-end job', 'skip'],
      ['cold starts', 'pass'],
    ]);
    expect(published).toEqual([OUTPUTS.AlarmTopicArn]);
    expect(formatDoctorReport('test stack', checks)).toContain('all checks passed');
  });

  it('names missing outputs and a topic that refuses the notification, each with its fix', async () => {
    const checks = await runDoctor(
      deps({
        loadOutputs: async () => ({ AlarmTopicArn: OUTPUTS.AlarmTopicArn }),
        publishToTopic: async () => {
          throw Object.assign(new Error('User is not authorized to perform: SNS:Publish'), { name: 'AuthorizationErrorException' });
        },
      }),
    );
    const byName = Object.fromEntries(checks.map((c) => [c.name, c]));
    expect(byName['stack outputs']).toMatchObject({ status: 'fail', detail: 'missing: TableName' });
    expect(byName['stack outputs']!.fix).toContain('cdk deploy');
    expect(byName['alarm topic']).toMatchObject({ status: 'fail' });
    expect(byName['alarm topic']!.fix).toContain('sns:Publish');
    expect(formatDoctorReport('x', checks)).toMatch(/FAIL {2}stack outputs[\s\S]*fix: /);
  });

  it('maps the Marketplace refusal of a third-party model through the production provider to its fix', async () => {
    // The first call to a Marketplace model without aws-marketplace:Subscribe (Bedrock model access docs).
    const marketplace = Object.assign(
      new Error('Model access is denied due to IAM user or service role is not authorized to perform the required AWS Marketplace actions (aws-marketplace:ViewSubscriptions, aws-marketplace:Subscribe) to enable access to this model.'),
      { name: 'AccessDeniedException', $metadata: { httpStatusCode: 403 } },
    );
    bedrock.on(ConverseCommand).rejects(marketplace).on(InvokeModelCommand).rejects(marketplace);
    const wired = doctorDeps({ aws: true, stack: 'Metahook-prod', region: 'us-east-1' }, { env: {}, cwd: '/' });
    const checks = await runDoctor({ ...wired, loadOutputs: async () => OUTPUTS, publishToTopic: async () => {} });
    const audio = checks.find((c) => c.name.startsWith('audio model'))!;
    expect(audio.status).toBe('fail');
    expect(audio.fix).toMatch(/AWS Marketplace.*aws-marketplace:Subscribe/);
    expect(bedrock.calls().length).toBeGreaterThanOrEqual(2);
  });

  it('publishes the test notification to the stack output topic over SNS with the caller credentials', async () => {
    sns.on(PublishCommand).resolves({ MessageId: 'm1' });
    const wired = doctorDeps({ aws: true, stack: 'Metahook-prod', region: 'us-east-1' }, { env: {}, cwd: '/' });
    await wired.publishToTopic!(OUTPUTS.AlarmTopicArn, 'subject', 'message');
    expect(sns.commandCalls(PublishCommand)[0]!.args[0].input).toMatchObject({ TopicArn: OUTPUTS.AlarmTopicArn, Subject: 'subject' });
  });

  it('runs the end-to-end job against the ApiBaseUrl output, and needs the tenant key from METAHOOK_API_KEY', async () => {
    const e2e = { aws: true, stack: 'Metahook-prod', region: 'us-east-1', e2eCallback: 'https://hooks.example.com/in' };
    expect(() => doctorDeps(e2e, { env: {}, cwd: '/' })).toThrow(/METAHOOK_API_KEY/);
    const wired = doctorDeps(e2e, { env: { METAHOOK_API_KEY: 'k' }, cwd: '/' });
    // Without the output the check fails with the fix, before any request.
    expect(await wired.endToEnd!({})).toMatchObject({ status: 'fail', detail: 'no ApiBaseUrl output' });
    const realFetch = globalThis.fetch;
    const asked: string[] = [];
    globalThis.fetch = (async (url: string | URL) => {
      asked.push(String(url));
      return new Response('{"error":{"code":"invalid_api_key","message":"Forbidden"}}', { status: 403 });
    }) as typeof fetch;
    try {
      const check = await wired.endToEnd!({ ApiBaseUrl: 'https://abc.execute-api.us-east-1.amazonaws.com/v1/' });
      expect(check).toMatchObject({ status: 'fail' });
    } finally {
      globalThis.fetch = realFetch;
    }
    expect(asked).toEqual(['https://abc.execute-api.us-east-1.amazonaws.com/v1/uploads']);
  });

  it('reports a provider that cannot be built, and skips the alarm topic where there is no SNS', async () => {
    const checks = await runDoctor(
      deps({
        createProvider: async () => {
          throw new Error('METAHOOK_MODEL_PROVIDER must be one of local, bedrock');
        },
        publishToTopic: undefined,
      }),
    );
    expect(checks.find((c) => c.name === 'model provider')?.status).toBe('fail');
    expect(checks.find((c) => c.name === 'alarm topic')?.status).toBe('skip');
  });
});
