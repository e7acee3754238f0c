// Deploy config validation (lib/deploy-config.ts) and the Bedrock IAM scoping built from it
// (lib/constructs/bedrock-access.ts). Pure: no stack synthesis.
import { describe, expect, it } from 'vitest';
import { App, Stack } from 'aws-cdk-lib';
import {
  DEFAULT_AUDIO_MODEL_ID,
  DEFAULT_IMAGE_MODEL_ID,
  DeployConfigError,
  foundationModelId,
  inferenceProfileGeography,
  parseDeployConfig,
  readDeployConfig,
} from '../../lib/deploy-config';
import { bedrockInvokeStatements } from '../../lib/constructs/bedrock-access';

const problemsOf = (context: Record<string, unknown>, region?: string): string[] => {
  try {
    parseDeployConfig(context, { region });
  } catch (error) {
    if (error instanceof DeployConfigError) return [...error.problems];
    throw error;
  }
  return [];
};

describe('parseDeployConfig', () => {
  it('has production defaults', () => {
    const { capacity, ...config } = parseDeployConfig({});
    expect(capacity.inputs.filesPerSecond).toBe(20);
    expect(config).toEqual({
      stage: 'prod',
      imageModelId: DEFAULT_IMAGE_MODEL_ID,
      audioModelId: DEFAULT_AUDIO_MODEL_ID,
      bedrockRoutingRegions: [],
      allowedSourceBuckets: [],
      // POST /jobs from the capacity plan: 20 files/s / 100 files per request; 600 s of drain.
      usagePlan: { rateLimit: 10, burstLimit: 20, submit: { rateLimit: 0.2, burstLimit: 120 }, monthlyQuota: 129_600 },
      capacityEnv: {},
      logRetentionDays: 30,
      deletionProtection: true,
      alarmEmail: undefined,
      mediaExpiryDays: 7,
      apiGatewayCloudWatchRole: true,
      imageDownscaling: true,
      audioNormalisation: true,
      maxAudioDurationSeconds: 7200,
      sourceMapStackTraces: false,
    });
  });

  it('accepts -c strings and cdk.json types alike', () => {
    const fromCli = parseDeployConfig({
      stage: 'dev',
      allowedSourceBuckets: 'a-bucket, other.bucket,a-bucket',
      throttleRateLimit: '50',
      throttleBurstLimit: '100',
      monthlyQuota: '2000000',
      logRetentionDays: '365',
      deletionProtection: 'false',
      bedrockRoutingRegions: '["us-east-1","us-west-2"]',
    });
    const fromJson = parseDeployConfig({
      stage: 'dev',
      allowedSourceBuckets: ['a-bucket', 'other.bucket'],
      throttleRateLimit: 50,
      throttleBurstLimit: 100,
      monthlyQuota: 2_000_000,
      logRetentionDays: 365,
      deletionProtection: false,
      bedrockRoutingRegions: ['us-east-1', 'us-west-2'],
    });
    expect(fromCli).toEqual(fromJson);
    expect(fromCli.allowedSourceBuckets).toEqual(['a-bucket', 'other.bucket']);
    expect(fromCli.deletionProtection).toBe(false);
  });

  it('reads the keys from an App context', () => {
    const app = new App({ context: { stage: 'staging', monthlyQuota: '42', unrelated: 'ignored' } });
    expect(readDeployConfig(app.node)).toMatchObject({ stage: 'staging', usagePlan: { monthlyQuota: 42 } });
  });

  it('names the context key in every error, all problems at once', () => {
    const problems = problemsOf({
      stage: 'Prod!',
      allowedSourceBuckets: 's3://my-bucket',
      throttleRateLimit: 'fast',
      logRetentionDays: '31',
      deletionProtection: 'yes',
      alarmEmail: 'not-an-email',
      imageModelId: 'arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/abc',
    });
    const keys = ['stage', 'allowedSourceBuckets[0]', 'throttleRateLimit', 'logRetentionDays', 'deletionProtection', 'alarmEmail', 'imageModelId'];
    expect(problems).toHaveLength(keys.length);
    for (const key of keys) expect(problems.some((p) => p.startsWith(`context key "${key}"`)), key).toBe(true);
    expect(problems.find((p) => p.includes('"logRetentionDays"'))).toContain('must be one of 1, 3, 5');
    expect(() => parseDeployConfig({ stage: 'Prod!' })).toThrow(/Invalid deploy configuration \(CDK context\):\n {2}- context key "stage"/);
  });

  it('refuses a burst smaller than the rate', () => {
    expect(problemsOf({ throttleRateLimit: 100, throttleBurstLimit: 10 })).toEqual([
      'context key "throttleBurstLimit": must be >= throttleRateLimit (100), got 10',
    ]);
  });

  it('refuses a geographic inference profile the deploy Region cannot call', () => {
    expect(problemsOf({}, 'eu-west-1')).toEqual([
      expect.stringMatching(/^context key "imageModelId": the "us\." inference profile cannot be called from eu-west-1/),
    ]);
    expect(problemsOf({ imageModelId: 'eu.amazon.nova-2-lite-v1:0' }, 'eu-west-1')).toEqual([]);
    expect(problemsOf({ imageModelId: 'global.amazon.nova-2-lite-v1:0' }, 'eu-west-1')).toEqual([]);
    // Unknown Region at synth time (environment-agnostic stack): nothing to check.
    expect(problemsOf({}, undefined)).toEqual([]);
  });
});

describe('inference profile ids', () => {
  it.each([
    ['us.amazon.nova-2-lite-v1:0', 'us', 'amazon.nova-2-lite-v1:0'],
    ['global.anthropic.claude-haiku-4-5-20251001-v1:0', 'global', 'anthropic.claude-haiku-4-5-20251001-v1:0'],
    ['arn:aws:bedrock:eu-west-1:123456789012:inference-profile/eu.amazon.nova-lite-v1:0', 'eu', 'amazon.nova-lite-v1:0'],
    ['mistral.voxtral-small-24b-2507', undefined, 'mistral.voxtral-small-24b-2507'],
    ['deepseek.v3.2', undefined, 'deepseek.v3.2'],
    ['amazon.nova-lite-v1:0', undefined, 'amazon.nova-lite-v1:0'],
  ])('%s -> geography %s, model %s', (id, geography, model) => {
    expect(inferenceProfileGeography(id)).toBe(geography);
    expect(foundationModelId(id)).toBe(model);
  });
});

describe('bedrockInvokeStatements', () => {
  const render = (modelIds: string[], routingRegions?: string[], region = 'us-east-2') => {
    const stack = new Stack(new App(), 'S', { env: { account: '123456789012', region } });
    return bedrockInvokeStatements(stack, modelIds, { routingRegions }).map((s) => stack.resolve(s.toStatementJson()));
  };
  const arns = (statement: { Resource: unknown }) =>
    (Array.isArray(statement.Resource) ? statement.Resource : [statement.Resource]).map((r) =>
      JSON.stringify(r).replace(/\{"Ref":"AWS::Partition"\}/g, 'aws').replace(/[[\]",]|\{"Fn::Join":|\}/g, ''),
    );

  it('grants an in-Region model in the deploy Region only', () => {
    const [statement, ...rest] = render(['mistral.voxtral-small-24b-2507']);
    expect(rest).toEqual([]);
    expect(statement.Action).toBe('bedrock:InvokeModel');
    expect(arns(statement)).toEqual(['arn:aws:bedrock:us-east-2::foundation-model/mistral.voxtral-small-24b-2507']);
  });

  it('grants a geographic profile plus its model in every Region it routes to', () => {
    const [statement] = render(['us.amazon.nova-2-lite-v1:0'], ['us-east-1', 'us-west-2']);
    expect(arns(statement!).sort()).toEqual([
      'arn:aws:bedrock:us-east-1::foundation-model/amazon.nova-2-lite-v1:0',
      'arn:aws:bedrock:us-east-2:123456789012:inference-profile/us.amazon.nova-2-lite-v1:0',
      // The calling Region is added even when the override forgets it.
      'arn:aws:bedrock:us-east-2::foundation-model/amazon.nova-2-lite-v1:0',
      'arn:aws:bedrock:us-west-2::foundation-model/amazon.nova-2-lite-v1:0',
    ]);
  });

  it('holds a global profile\'s Region wildcard to calls through that profile', () => {
    const [direct, global] = render(['global.amazon.nova-2-lite-v1:0']);
    expect(arns(direct!)).toEqual(['arn:aws:bedrock:us-east-2:123456789012:inference-profile/global.amazon.nova-2-lite-v1:0']);
    expect(arns(global!)).toContain('arn:aws:bedrock:*::foundation-model/amazon.nova-2-lite-v1:0');
    expect(JSON.stringify(global!.Condition)).toContain('bedrock:InferenceProfileArn');
    expect(JSON.stringify(global!.Condition)).toContain('inference-profile/global.amazon.nova-2-lite-v1:0');
  });
});
