// Smoke test of the benchmark harness (bench/): runs the quick pipeline phase against a real
// embedded stack in a child process and checks that its measurements are complete and sane,
// so `npm run bench` cannot rot silently. Numbers are not asserted against targets here.
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { bundleHandler, deployedEnvironment, importAsDeployed } from '../../bench/cold-start';
import { HANDLER_ENTRIES, type HandlerName } from '../../lib/constructs/pipeline-function';
import { percentile, summarize } from '../../bench/lib/stats';
import { costPer1000 } from '../../bench/lib/cost';
import type { CallStat } from '../../bench/lib/aws-calls';

const run = promisify(execFile);
const ROOT = join(import.meta.dirname, '..', '..');
const dirs: string[] = [];

afterAll(async () => {
  await Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true })));
});

describe('bench statistics and cost model', () => {
  it('takes nearest-rank percentiles', () => {
    const samples = Array.from({ length: 100 }, (_, i) => 100 - i); // 100..1, unsorted
    expect(percentile(samples, 0.5)).toBe(50);
    expect(percentile(samples, 0.99)).toBe(99);
    expect(summarize(samples)).toMatchObject({ n: 100, min: 1, max: 100, p95: 95 });
  });

  it('bills GSI writes on top of the table write for items that carry index keys', () => {
    const call = (entity: string, units: number): CallStat => ({
      origin: 'extractor', service: 'DynamoDB', operation: 'UpdateItem', count: 1, errors: 0, conditionalFailures: 0, conditionalFailuresBy: {},
      totalMs: 1, capacityUnits: units, writeUnitsByEntity: { [entity]: units },
    });
    const inputs = {
      files: 1,
      invocationsPerFile: { intake: 0, extractor: 0, callback: 0 },
      handlerMsPerFile: { intake: 0, extractor: 0, callback: 0 },
      memoryMb: { intake: 512, extractor: 1024, callback: 256 },
      logBytesPerFile: 0,
      filesPerRequest: 100,
    };
    const withIndexes = costPer1000({ ...inputs, calls: [call('job', 2)], gsiCountByEntity: { job: 2 } });
    const withoutIndexes = costPer1000({ ...inputs, calls: [call('batch', 2)], gsiCountByEntity: { job: 2 } });
    expect(withIndexes.writeUnitsPerFile).toBe(6);
    expect(withoutIndexes.writeUnitsPerFile).toBe(2);
  });
});

describe('bench harness (quick run)', () => {
  it('bundles a handler the CDK way, the AWS SDK included (the runtime\'s own SDK is never used)', async () => {
    const bundle = await bundleHandler('intake', { dir: 'smoke-intake' });
    const source = await readFile(bundle.file, 'utf8');
    expect(bundle.externals.filter((name) => name.startsWith('@aws-sdk/'))).toEqual([]);
    expect(source).toContain('SQSClient');
    // Built-ins with costly ESM namespace reflection load through lib/builtin-shims (require semantics).
    expect(source).not.toMatch(/from\s*"node:(http|crypto|util|process)"/);
    expect(source).toContain('getBuiltinModule("node:http")');
    expect(bundle.composition.some(({ part }) => part === '@aws-sdk/client-sqs')).toBe(true);
    // The SDK's default credential chain is replaced by the env/container shim (CREDENTIAL_PROVIDER_SHIM).
    for (const gone of ['@aws-sdk/credential-provider-node', '@aws-sdk/nested-clients', '@aws-sdk/credential-provider-ini', '@aws-sdk/credential-provider-sso']) {
      expect(bundle.composition.map(({ part }) => part)).not.toContain(gone);
    }
    expect(bundle.composition.map(({ part }) => part)).toContain('lib/bundle-shims');

    // The bench's "previous" rows still leave the SDK external, for comparison only.
    const previous = await bundleHandler('intake', { dir: 'smoke-intake-sdk-external', sdkExternal: true });
    expect(previous.externals.some((name) => name.startsWith('@aws-sdk/'))).toBe(true);
    expect(await readFile(previous.file, 'utf8')).not.toContain('class SQSClient');
    expect(bundle.composition.length).toBeGreaterThan(0);
  });

  // The bench's environment comes from the synthesized stack, so a variable a handler requires at
  // import but the stack does not pass fails here (and on AWS), not only in the bench.
  it.each(Object.keys(HANDLER_ENTRIES) as HandlerName[])('imports the %s bundle with the environment the stack gives it', async (name) => {
    const { env, nodeFlags } = deployedEnvironment(name);
    expect(env.POWERTOOLS_SERVICE_NAME).toBe(name);
    expect(env.METAHOOK_SECRETS_KEY_ID).toMatch(/^arn:aws:kms:/);
    // Source-mapped stack traces are a deploy option (sourceMapStackTraces), off by default.
    expect(nodeFlags).not.toContain('--enable-source-maps');
    const bundle = await bundleHandler(name, { dir: `smoke-deployed-${name}` });
    await expect(importAsDeployed(name, bundle)).resolves.toMatchObject({ initMs: expect.any(Number) });
  }, 60_000);

  it('fails an import when the stack leaves out a variable the handler requires', async () => {
    const bundle = await bundleHandler('intake', { dir: 'smoke-deployed-intake-missing' });
    const { env } = deployedEnvironment('intake');
    expect(env.METAHOOK_TABLE_NAME).toBeTruthy();
    await expect(importAsDeployed('intake', bundle, { METAHOOK_TABLE_NAME: '' })).rejects.toThrow(/METAHOOK_TABLE_NAME is required/);
  }, 60_000);

  it('drives the pipeline end to end and counts its AWS calls', async () => {
    const out = await mkdtemp(join(tmpdir(), 'metahook-bench-smoke-'));
    dirs.push(out);
    await run(process.execPath, ['--import', 'tsx', 'bench/run.ts', '--quick', '--only', 'pipeline-bedrock', '--out-dir', out], {
      cwd: ROOT,
      env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
      timeout: 90_000,
    });
    const report = JSON.parse(await readFile(join(out, 'latest.quick.json'), 'utf8'));
    const { e2e, throughput } = report.bedrock;

    expect(e2e.samples).toBe(10);
    expect(e2e.pipelineFrom202.p50).toBeGreaterThan(0);
    expect(e2e.baseline.p50).toBeGreaterThan(0);
    expect(throughput.files).toBe(200);
    expect(throughput.failedJobs).toBe(0);
    expect(throughput.invalidSignatures).toBe(0);
    expect(throughput.bedrockCallsPerFile).toBeCloseTo(1, 1);
    // Every file is read from S3 exactly once by the extractor.
    const gets = throughput.calls.filter((c: CallStat) => c.origin === 'extractor' && c.operation === 'GetObject');
    expect(gets.reduce((sum: number, c: CallStat) => sum + c.count, 0)).toBe(throughput.files);
    expect(throughput.calls.some((c: CallStat) => c.origin === 'unknown')).toBe(false);
    expect(report.cost.unloaded.total).toBeGreaterThan(0);
    expect(report.targets.length).toBeGreaterThan(0);
  }, 120_000);
});
