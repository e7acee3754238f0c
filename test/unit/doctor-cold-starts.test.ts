// doctor's cold-start check: reading Init Duration from Lambda's REPORT lines in both log formats,
// the verdict against the budget, and the AWS reads (the stack's log groups, paged) with the SDK
// clients mocked.
import { CloudFormationClient, ListStackResourcesCommand } from '@aws-sdk/client-cloudformation';
import { CloudWatchLogsClient, FilterLogEventsCommand } from '@aws-sdk/client-cloudwatch-logs';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { readColdStarts } from '../../cli/cold-start-logs';
import { COLD_START_WINDOW_HOURS, coldStartCheck, INIT_DURATION_FILTER_PATTERN, initDurationOf } from '../../cli/commands/doctor-cold-starts';
import { runDoctor, type DoctorDeps } from '../../cli/commands/doctor';
import { runCli } from '../../cli/run';

// As Lambda writes them (docs: "Lambda function logs", plain text and JSON formats).
const REPORT_COLD = 'REPORT RequestId: 3604209a-e9a3-11e6-939a-754dd98c7be3\tDuration: 12.34 ms\tBilled Duration: 13 ms\tMemory Size: 512 MB\tMax Memory Used: 90 MB\tInit Duration: 234.56 ms\t\n';
const REPORT_WARM = 'REPORT RequestId: 3604209a-e9a3-11e6-939a-754dd98c7be4\tDuration: 2.10 ms\tBilled Duration: 3 ms\tMemory Size: 512 MB\tMax Memory Used: 91 MB\t\n';
const jsonReport = (metrics: Record<string, number>) =>
  JSON.stringify({ time: '2026-12-02T17:00:00.000Z', type: 'platform.report', record: { requestId: 'r', metrics, status: 'success' } });

describe('Init Duration from a log event', () => {
  it('reads the plain-text REPORT line of a cold start, and nothing from a warm one', () => {
    expect(initDurationOf(REPORT_COLD)).toBe(234.56);
    expect(initDurationOf(REPORT_WARM)).toBeUndefined();
  });

  it('reads platform.report records of the JSON log format', () => {
    expect(initDurationOf(jsonReport({ durationMs: 12.3, initDurationMs: 98.7 }))).toBe(98.7);
    expect(initDurationOf(jsonReport({ durationMs: 2.1 }))).toBeUndefined();
  });

  it('ignores an application line that merely mentions it, and broken JSON', () => {
    expect(initDurationOf('{"level":"INFO","message":"Init Duration: 5 ms is what we aim for"}')).toBeUndefined();
    expect(initDurationOf('INFO Init Duration: 5 ms')).toBeUndefined();
    expect(initDurationOf('{"type":"platform.report", "record": {')).toBeUndefined();
    expect(initDurationOf(JSON.stringify({ type: 'function', record: { metrics: { initDurationMs: 5 } } }))).toBeUndefined();
  });
});

describe('the verdict', () => {
  it('skips when there was no cold start to judge', () => {
    expect(coldStartCheck(new Map())).toMatchObject({ status: 'skip' });
    expect(coldStartCheck(new Map([['IntakeFunctionLogs', []]]))).toMatchObject({ status: 'skip' });
  });

  it('passes when every function is within the budget at p50, a slow outlier notwithstanding', () => {
    const check = coldStartCheck(new Map([['IntakeFunctionLogs', [80, 90, 95, 400]], ['CallbackFunctionLogs', [70]]]));
    expect(check.status).toBe('pass');
    expect(check.detail).toContain('IntakeFunctionLogs p50 90 ms, p95 400 ms (4 cold starts)');
  });

  it('fails naming each function over the budget, with the fix, and holds the budget it is given', () => {
    const coldStarts = new Map([['ExtractorFunctionLogs', [130, 140, 150]], ['IntakeFunctionLogs', [90]]]);
    const check = coldStartCheck(coldStarts);
    expect(check.status).toBe('fail');
    expect(check.detail).toMatch(/^Init Duration over 100 ms at p50: ExtractorFunctionLogs p50 140 ms/);
    expect(check.detail).toContain('within: IntakeFunctionLogs p50 90 ms');
    expect(check.fix).toContain('sourceMapStackTraces');
    expect(coldStartCheck(coldStarts, 150).status).toBe('pass');
  });
});

describe('in runDoctor', () => {
  const base: DoctorDeps = {
    description: 'test',
    loadOutputs: async () => ({}),
    requiredOutputs: [],
    modelIds: { image: 'i', audio: 'a' },
    createProvider: async () => ({ name: 'local', extract: async (input) => ({ result: { kind: input.kind } as never, model: { provider: 'local', id: 'l' } }) }),
  };

  it('runs last, skips where there is no Lambda, and turns a refused read into a failure with the permissions to add', async () => {
    expect((await runDoctor(base)).at(-1)).toMatchObject({ name: 'cold starts', status: 'skip' });
    const refused = await runDoctor({
      ...base,
      coldStarts: async () => {
        throw Object.assign(new Error('User is not authorized to perform: logs:FilterLogEvents'), { name: 'AccessDeniedException' });
      },
    });
    expect(refused.at(-1)).toMatchObject({ name: 'cold starts', status: 'fail' });
    expect(refused.at(-1)!.fix).toContain('logs:FilterLogEvents');
    const over = await runDoctor({ ...base, coldStarts: async () => new Map([['IntakeFunctionLogs', [120]]]), initBudgetMs: 110 });
    expect(over.at(-1)).toMatchObject({ status: 'fail' });
  });
});

describe('--init-budget-ms', () => {
  it('is refused unless a whole number of at least 1', async () => {
    for (const value of ['0', '-5', '99.5', 'fast']) {
      let stderr = '';
      const code = await runCli(['doctor', '--local', '--init-budget-ms', value], { stdout: () => {}, stderr: (t) => (stderr += t), env: {}, cwd: process.cwd() });
      expect(code, value).toBe(2);
      expect(stderr).toContain('--init-budget-ms');
    }
  });
});

describe('reading the deployed stack', () => {
  const cloudFormation = mockClient(CloudFormationClient);
  const logs = mockClient(CloudWatchLogsClient);
  afterEach(() => {
    cloudFormation.reset();
    logs.reset();
  });

  it("reads every page of the stack's log groups and of their REPORT lines over the window", async () => {
    cloudFormation
      .on(ListStackResourcesCommand, { StackName: 'Metahook-prod', NextToken: undefined })
      .resolves({
        StackResourceSummaries: [
          { ResourceType: 'AWS::Logs::LogGroup', LogicalResourceId: 'IntakeApiIntakeFunctionLogs1A2B3C4D', PhysicalResourceId: 'Metahook-prod-IntakeLogs-abc', ResourceStatus: 'CREATE_COMPLETE', LastUpdatedTimestamp: new Date() },
          { ResourceType: 'AWS::Lambda::Function', LogicalResourceId: 'IntakeFunction9F8E7D6C', PhysicalResourceId: 'fn', ResourceStatus: 'CREATE_COMPLETE', LastUpdatedTimestamp: new Date() },
        ],
        NextToken: 'page-2',
      })
      .on(ListStackResourcesCommand, { StackName: 'Metahook-prod', NextToken: 'page-2' })
      .resolves({
        StackResourceSummaries: [
          { ResourceType: 'AWS::Logs::LogGroup', LogicalResourceId: 'ApiAccessLogs0A1B2C3D', PhysicalResourceId: 'Metahook-prod-ApiAccess-def', ResourceStatus: 'CREATE_COMPLETE', LastUpdatedTimestamp: new Date() },
        ],
      });
    logs
      .on(FilterLogEventsCommand, { logGroupName: 'Metahook-prod-IntakeLogs-abc', nextToken: undefined })
      .resolves({ events: [{ message: REPORT_COLD }, { message: REPORT_WARM }], nextToken: 'more' })
      .on(FilterLogEventsCommand, { logGroupName: 'Metahook-prod-IntakeLogs-abc', nextToken: 'more' })
      .resolves({ events: [{ message: jsonReport({ durationMs: 1, initDurationMs: 101.5 }) }] })
      .on(FilterLogEventsCommand, { logGroupName: 'Metahook-prod-ApiAccess-def' })
      .resolves({ events: [] });

    const now = Date.parse('2026-12-02T17:00:00Z');
    const coldStarts = await readColdStarts('Metahook-prod', { cloudFormation, logs }, now);
    expect([...coldStarts]).toEqual([['IntakeApiIntakeFunctionLogs', [234.56, 101.5]]]);
    const filters = logs.commandCalls(FilterLogEventsCommand).map((call) => call.args[0].input);
    expect(filters).toHaveLength(3);
    for (const input of filters) {
      expect(input).toMatchObject({ filterPattern: INIT_DURATION_FILTER_PATTERN, startTime: now - COLD_START_WINDOW_HOURS * 3600_000, endTime: now });
    }
  });
});
