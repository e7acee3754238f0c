// The capacity plan (lib/capacity.ts): derivation of the extractor's concurrency/batch size and the
// POST /jobs throttle and quota from one setting, the checks that refuse a plan admitting more than
// the pipeline finishes within the 15-minute promise, and what the synthesized stack carries.
import { afterAll, describe, expect, it } from 'vitest';
import { CloudAssembly } from 'aws-cdk-lib/cx-api';
import { CapacityError, deriveCapacityPlan, PROMISE_SECONDS, type CapacityInputs } from '../../lib/capacity';
import { DeployConfigError, parseDeployConfig } from '../../lib/deploy-config';
import { DEFAULT_CAPACITY } from '../../lib/settings';
import { synthStack } from './synth-stack';

afterAll(() => CloudAssembly.cleanupTemporaryDirectories());

const inputs = (over: Partial<CapacityInputs> = {}): CapacityInputs => ({ ...DEFAULT_CAPACITY, maxFilesPerRequest: 100, ...over });
const problemsOf = (run: () => unknown): string[] => {
  try {
    run();
  } catch (error) {
    if (error instanceof CapacityError || error instanceof DeployConfigError) return [...error.problems];
    throw error;
  }
  return [];
};

describe('deriveCapacityPlan', () => {
  it('sizes the extractor so it finishes at least the files/s asked for', () => {
    for (const filesPerSecond of [1, 17, 20, 100, 333, 1000]) {
      const plan = deriveCapacityPlan(inputs({
        filesPerSecond,
        maxExtractorConcurrency: 1000,
        bedrock: { image: { ...DEFAULT_CAPACITY.bedrock.image, requestsPerMinute: 1e9, tokensPerMinute: 1e12 }, audio: { ...DEFAULT_CAPACITY.bedrock.audio, requestsPerMinute: 1e9, tokensPerMinute: 1e12 } },
      }));
      expect(plan.extractor.filesPerSecond).toBeGreaterThanOrEqual(filesPerSecond);
      expect(plan.extractor.maxConcurrency).toBeGreaterThanOrEqual(2);
      expect(plan.extractor.maxConcurrency).toBeLessThanOrEqual(1000);
      // Never more than one extra invocation over the need.
      expect((plan.extractor.maxConcurrency - 1) * plan.extractor.batchSize / 3).toBeLessThan(Math.max(filesPerSecond, 2 * plan.extractor.batchSize / 3));
    }
  });

  it('moves to batches of 10 only when batches of 5 would exceed the concurrency budget', () => {
    expect(deriveCapacityPlan(inputs({ filesPerSecond: 20 })).extractor).toMatchObject({ batchSize: 5, maxConcurrency: 12 });
    // 400 files/s x 3 s = 1,200 records in flight: 240 extractors at 5, 120 at 10; budget 200.
    const big = inputs({
      filesPerSecond: 400,
      bedrock: { image: { ...DEFAULT_CAPACITY.bedrock.image, requestsPerMinute: 1e6, tokensPerMinute: 1e9 }, audio: { ...DEFAULT_CAPACITY.bedrock.audio, requestsPerMinute: 1e6, tokensPerMinute: 1e9 } },
    });
    expect(deriveCapacityPlan(big).extractor).toMatchObject({ batchSize: 10, maxConcurrency: 120 });
    // 400 job + 4 batch events/s at 1 s each, 10 per invocation.
    expect(deriveCapacityPlan(big).callback).toEqual({ batchSize: 10, maxConcurrency: 41 });
    expect(deriveCapacityPlan(inputs()).callback.maxConcurrency).toBe(20);
    expect(problemsOf(() => deriveCapacityPlan({ ...big, filesPerSecond: 1000 })).join('\n')).toMatch(/needs 300 concurrent extractors at batch size 10, over the budget of 200/);
  });

  it('derives a POST /jobs throttle whose every key at full rate and full burst still meets the promise', () => {
    for (const [filesPerSecond, tenantsAtFullRate] of [[20, 1], [20, 4], [15, 3], [7, 1]] as const) {
      const plan = deriveCapacityPlan(inputs({ filesPerSecond, tenantsAtFullRate }));
      const { rateLimit, burstLimit } = plan.submitThrottle;
      // Sustained admissions never outrun the pipeline...
      expect(tenantsAtFullRate * rateLimit * 100).toBeLessThanOrEqual(filesPerSecond + 1e-9);
      // ...and one burst from every key drains before the promise minus the allowance.
      expect((tenantsAtFullRate * burstLimit * 100) / filesPerSecond).toBeLessThanOrEqual(PROMISE_SECONDS - DEFAULT_CAPACITY.latencyAllowanceSeconds);
      expect(burstLimit).toBeGreaterThanOrEqual(rateLimit);
      expect(Math.abs(plan.monthlyQuota - rateLimit * 30 * 86400 * DEFAULT_CAPACITY.monthlyDutyCycle)).toBeLessThan(1);
    }
  });

  it("refuses today's plan: 10 requests/s x 100 files per key against a 20 files/s pipeline", () => {
    const problems = problemsOf(() => deriveCapacityPlan(inputs(), { rateLimit: 10, burstLimit: 20 }));
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/admits 1,000 files\/s .* sized for 20 files\/s.*15-minute promise; set submitRateLimit <= 0.2/);
    // A burst of 200 requests x 100 files = 20,000 files; 20 files/s drain 12,000 in the 600 s left.
    expect(problemsOf(() => deriveCapacityPlan(inputs(), { burstLimit: 200 }))).toEqual([
      expect.stringMatching(/burst admits 20,000 files at once .* 20 files\/s finish in 600s \(12,000 files\); set submitBurstLimit <= 120/),
    ]);
  });

  it('refuses a rate the Bedrock quotas cannot serve, naming the quota', () => {
    const problems = problemsOf(() => deriveCapacityPlan(inputs({ filesPerSecond: 100 })));
    // 100 files/s x 0.75 x 60 = 4,500 image requests/min > 2,000; x 2,350 tokens = 10.6M > 4M.
    expect(problems.some((p) => /image model: .* 4,500 requests\/min, over its quota of 2,000/.test(p))).toBe(true);
    expect(problems.some((p) => /image model: .* tokens\/min, over its quota of 4,000,000/.test(p))).toBe(true);
  });
});

describe('capacity at synth', () => {
  it('fails synth with the context keys to change when the plan admits more than the pipeline finishes', () => {
    const problems = problemsOf(() => synthStack({ context: { submitRateLimit: 10, submitBurstLimit: 20 } }));
    expect(problems[0]).toMatch(/^capacity: the POST \/jobs throttle admits 1,000 files\/s/);
    expect(problems[0]).toMatch(/submitRateLimit <= 0.2 or raise capacityFilesPerSecond/);
    expect(problemsOf(() => parseDeployConfig({ capacityFilesPerSecond: 50, bedrockImageRequestsPerMinute: 1000 })).join('\n'))
      .toMatch(/image model: .* 2,250 requests\/min, over its quota of 1,000 .*bedrockImageRequestsPerMinute/);
  });

  it('carries one plan into the event source, reserved concurrency and the usage plan', () => {
    const { template, stack } = synthStack({ context: { capacityFilesPerSecond: 30, capacityTenantsAtFullRate: 2 } });
    // 30 files/s x 3 s / 5 = 18 extractors; per key 15 files/s = 0.15 requests of 100 files.
    const mappings = template.findResources('AWS::Lambda::EventSourceMapping');
    const extractorFn = stack.getLogicalId(stack.extraction.extractor.function.node.defaultChild as never);
    const extractorMapping = Object.values(mappings).find((m: any) => m.Properties.FunctionName.Ref === extractorFn) as any;
    expect(extractorMapping.Properties).toMatchObject({ BatchSize: 5, ScalingConfig: { MaximumConcurrency: 18 } });
    expect(template.toJSON().Resources[extractorFn].Properties.ReservedConcurrentExecutions).toBe(18);

    const plan = Object.values(template.findResources('AWS::ApiGateway::UsagePlan'))[0] as any;
    const stage = plan.Properties.ApiStages[0];
    expect(stage.Throttle).toEqual({ '/jobs/POST': { RateLimit: 0.15, BurstLimit: 90 } });
    expect(plan.Properties.Quota).toEqual({ Limit: Math.ceil(0.15 * 30 * 86400 * 0.25), Period: 'MONTH' });
    // Other routes keep the plan-wide throttle.
    expect(plan.Properties.Throttle).toEqual({ RateLimit: 10, BurstLimit: 20 });
  });
});
