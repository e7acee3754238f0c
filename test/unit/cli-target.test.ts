// Where CLI commands act (local state file or CloudFormation outputs), the API Gateway key
// adapter, and usage errors caught before anything is contacted.
import { afterEach, describe, expect, it } from 'vitest';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { mockClient } from 'aws-sdk-client-mock';
import { ListDeadLetterSourceQueuesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { chooseTarget, resolveAwsTarget, resolveLocalTarget, TargetUnavailableError } from '../../cli/target';
import { UsageError } from '../../cli/io';
import { runCli } from '../../cli/run';
import { createApiGatewayKeys, type ApiGatewayKeyOperations } from '../../lambdas/adapters/apigateway-keys';

const sqs = new SQSClient({ region: 'us-east-1' });
const sqsMock = mockClient(sqs);
afterEach(() => sqsMock.reset());

describe('chooseTarget', () => {
  it('defaults to local only when the local stack left its state file (or METAHOOK_LOCAL=1)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'metahook-target-'));
    try {
      const io = { env: { METAHOOK_DATA_DIR: dir }, cwd: '/' };
      expect(() => chooseTarget({}, io)).toThrow(UsageError);
      expect(chooseTarget({}, { ...io, env: { ...io.env, METAHOOK_LOCAL: '1' } })).toBe('local');
      await writeFile(join(dir, 'local.json'), '{}');
      expect(chooseTarget({}, io)).toBe('local');
      expect(chooseTarget({ aws: true }, io)).toBe('aws');
      expect(() => chooseTarget({ aws: true, local: true }, io)).toThrow('either --local or --aws');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('explains a missing or outdated local state file', async () => {
    await expect(resolveLocalTarget('/nonexistent/local.json')).rejects.toThrow(TargetUnavailableError);
    const dir = await mkdtemp(join(tmpdir(), 'metahook-target-'));
    try {
      await writeFile(join(dir, 'local.json'), JSON.stringify({ endpoint: 'http://127.0.0.1:3000', apiKey: 'k' }));
      await expect(resolveLocalTarget(join(dir, 'local.json'))).rejects.toThrow(/restart the local stack/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('resolveAwsTarget', () => {
  const outputs = {
    TableName: 'Metahook-Table',
    UsagePlanId: 'plan1',
    JobsDeadLetterQueueUrl: 'https://sqs/jobs-dlq',
    JobsHeldQueueUrl: 'https://sqs/jobs-held',
    DeliveriesDeadLetterQueueUrl: 'https://sqs/deliveries-dlq',
  };

  it('reads names from the stack outputs and finds source queues from their DLQs when not output', async () => {
    sqsMock
      .on(ListDeadLetterSourceQueuesCommand, { QueueUrl: 'https://sqs/jobs-dlq' })
      .resolves({ queueUrls: ['https://sqs/jobs'] })
      .on(ListDeadLetterSourceQueuesCommand, { QueueUrl: 'https://sqs/deliveries-dlq' })
      .resolves({ queueUrls: ['https://sqs/deliveries'] });
    const asked: string[] = [];
    const target = await resolveAwsTarget({
      stackName: 'Metahook',
      region: 'eu-west-1',
      sqs,
      loadOutputs: async (name, region) => {
        asked.push(`${name}@${region}`);
        return outputs;
      },
    });
    expect(asked).toEqual(['Metahook@eu-west-1']);
    expect(target.tableName).toBe('Metahook-Table');
    expect(await target.queueUrls()).toEqual({
      jobs: 'https://sqs/jobs',
      jobsDeadLetter: 'https://sqs/jobs-dlq',
      jobsHeld: 'https://sqs/jobs-held',
      deliveries: 'https://sqs/deliveries',
      deliveriesDeadLetter: 'https://sqs/deliveries-dlq',
    });
    target.close();
  });

  it('prefers explicit source queue outputs and names a missing output', async () => {
    const target = await resolveAwsTarget({
      stackName: 'Metahook',
      sqs,
      loadOutputs: async () => ({ ...outputs, JobsQueueUrl: 'https://sqs/j', DeliveriesQueueUrl: 'https://sqs/d' }),
    });
    expect((await target.queueUrls()).jobs).toBe('https://sqs/j');
    expect(sqsMock.commandCalls(ListDeadLetterSourceQueuesCommand)).toHaveLength(0);
    target.close();
    await expect(resolveAwsTarget({ stackName: 'Old', sqs, loadOutputs: async () => ({}) })).rejects.toThrow(
      'stack Old has no output TableName',
    );
  });

  it("reads the deployment's audio limit from MaxAudioSeconds, and names the output when a stack lacks it", async () => {
    const current = await resolveAwsTarget({ stackName: 'Metahook', sqs, loadOutputs: async () => ({ ...outputs, MaxAudioSeconds: '3600' }) });
    expect(await current.maxAudioDurationSeconds()).toBe(3600);
    current.close();
    const older = await resolveAwsTarget({ stackName: 'Old', sqs, loadOutputs: async () => outputs });
    await expect(older.maxAudioDurationSeconds()).rejects.toThrow('stack Old has no output MaxAudioSeconds');
    older.close();
  });
});

describe('API Gateway keys', () => {
  function fakeGateway(failUsagePlan = false) {
    const calls: string[] = [];
    const ops: ApiGatewayKeyOperations = {
      async createApiKey(input) {
        calls.push(`create ${input.name} enabled=${input.enabled}`);
        return { id: 'k1', value: 'secret-value' };
      },
      async createUsagePlanKey(input) {
        calls.push(`plan ${input.usagePlanId} ${input.keyId} ${input.keyType}`);
        if (failUsagePlan) throw new Error('TooManyRequests');
      },
      async updateApiKey(input) {
        calls.push(`update ${input.apiKey} ${JSON.stringify(input.patchOperations)}`);
      },
      async deleteApiKey(input) {
        calls.push(`delete ${input.apiKey}`);
      },
    };
    return { ops, calls };
  }

  it('creates a key in the usage plan and disables it with a patch', async () => {
    const { ops, calls } = fakeGateway();
    const keys = createApiGatewayKeys(ops, { usagePlanId: 'plan1' });
    expect(await keys.createKey('metahook-ten_1')).toEqual({ id: 'k1', value: 'secret-value' });
    await keys.setEnabled('k1', false);
    expect(calls).toEqual([
      'create metahook-ten_1 enabled=true',
      'plan plan1 k1 API_KEY',
      'update k1 [{"op":"replace","path":"/enabled","value":"false"}]',
    ]);
  });

  it('deletes the key again when it cannot join the usage plan', async () => {
    const { ops, calls } = fakeGateway(true);
    await expect(createApiGatewayKeys(ops, { usagePlanId: 'plan1' }).createKey('x')).rejects.toThrow('TooManyRequests');
    expect(calls.at(-1)).toBe('delete k1');
  });
});

describe('usage errors (exit 2, nothing contacted)', () => {
  const run = async (...argv: string[]) => {
    let stderr = '';
    const code = await runCli(argv, { stdout: () => undefined, stderr: (t) => (stderr += t), env: {}, cwd: '/nonexistent' });
    return { code, stderr };
  };

  it.each([
    [['bogus'], 'unknown command'],
    [['tenants'], 'tenants needs one of'],
    [['tenants', 'list', '--format', 'xml'], '--format must be'],
    [['audit', 'deliveries', '--tenant', 't', '--since', 'yesterday', '--until', '2026-01-01'], '--since must be an ISO 8601'],
    [['audit', 'deliveries', '--since', '2026-01-01', '--until', '2026-01-02'], '--tenant is required'],
    [['audit', 'deliveries', '--tenant', 't', '--since', '2026-01-01', '--until', '2026-01-02', '--outcome', 'maybe'], '--outcome'],
    [['audit', 'job', '--tenant', 't'], 'needs a job id'],
    [['redrive', 'everything'], 'redrive needs one of'],
    [['redrive', 'jobs', '--max', '0'], '--max must be'],
    [['redrive', 'jobs', 'extra'], 'unexpected argument'],
  ])('%j', async (argv, message) => {
    const { code, stderr } = await run(...argv);
    expect(code).toBe(2);
    expect(stderr).toContain(message);
  });

  it('says how to get a target when there is none', async () => {
    const { code, stderr } = await run('tenants', 'list');
    expect(code).toBe(2);
    expect(stderr).toContain('npm start');
  });
});

describe('default stack name', () => {
  it('is the stack bin/metahook.ts deploys for the default stage, or for METAHOOK_STAGE', async () => {
    const { metahookStackName, parseDeployConfig } = await import('../../lib/deploy-config');
    const { stackNameFor } = await import('../../cli/target');
    // A deploy without -c stage=... gets this stage; bin/metahook.ts names its stack with metahookStackName.
    const config = parseDeployConfig({}, { region: 'us-east-1' });
    const bin = await readFile(new URL('../../bin/metahook.ts', import.meta.url), 'utf8');
    expect(bin).toMatch(/new MetahookStack\(app, metahookStackName\(config\.stage\)/);
    expect(stackNameFor({}, {})).toBe(metahookStackName(config.stage));
    expect(stackNameFor({}, {})).toBe('Metahook-prod');
    expect(stackNameFor({}, { METAHOOK_STAGE: 'dev' })).toBe('Metahook-dev');
    expect(stackNameFor({ stack: 'Other' }, { METAHOOK_STAGE: 'dev' })).toBe('Other');
  });
});
