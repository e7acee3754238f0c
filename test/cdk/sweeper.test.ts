// The sweeper in the synthesized stack: scheduled, least-privilege, and alarmed on what it requeues.
import { afterAll, describe, expect, it } from 'vitest';
import { CloudAssembly } from 'aws-cdk-lib/cx-api';
import { Match } from 'aws-cdk-lib/assertions';
import { Stack } from 'aws-cdk-lib';
import { resolveSettings } from '../../lib/settings';
import { SWEEPER_METRIC } from '../../lib/constructs/sweeper';
import { METRIC } from '../../lambdas/core/metric-names';
import { synthStack } from './synth-stack';

const REQUEUED_METRIC = METRIC.sweeperJobsRequeued;

afterAll(() => CloudAssembly.cleanupTemporaryDirectories());

describe('sweeper', () => {
  const { stack, template } = synthStack();
  const fnId = stack.getLogicalId(stack.sweeper.sweeper.function.node.defaultChild as never);

  it('runs on an EventBridge schedule at the settings interval, targeting the sweeper function', () => {
    template.hasResourceProperties('AWS::Events::Rule', {
      ScheduleExpression: `rate(${resolveSettings({}).sweeper.intervalSeconds / 60} minute${resolveSettings({}).sweeper.intervalSeconds === 60 ? '' : 's'})`,
      Targets: Match.arrayWith([Match.objectLike({ Arn: { 'Fn::GetAtt': [fnId, 'Arn'] } })]),
    });
  });

  it('may read and close outbox entries, claim stalled jobs and queue jobs, nothing else on the table', () => {
    const policies = template.findResources('AWS::IAM::Policy', {
      Properties: { Roles: [{ Ref: stack.getLogicalId(stack.sweeper.sweeper.role.node.defaultChild as never) }] },
    });
    const statements = Object.values(policies).flatMap((p) => (p as { Properties: { PolicyDocument: { Statement: { Action: string | string[] }[] } } }).Properties.PolicyDocument.Statement);
    const actions = statements.flatMap((s) => (Array.isArray(s.Action) ? s.Action : [s.Action])).sort();
    expect(actions.filter((a) => a.startsWith('dynamodb:'))).toEqual([
      'dynamodb:BatchGetItem', 'dynamodb:DeleteItem', 'dynamodb:GetItem', 'dynamodb:Query', 'dynamodb:Query', 'dynamodb:UpdateItem',
    ]);
    expect(actions).toContain('sqs:SendMessage');
    expect(actions.some((a) => a === 'dynamodb:PutItem' || a === 'dynamodb:Scan')).toBe(false);
    // The second Query is on the lease index only (not every index of the table).
    const indexQuery = statements.find((s) => s.Action === 'dynamodb:Query') as unknown as { Resource: unknown };
    expect(JSON.stringify(indexQuery.Resource)).toContain('/index/gsi3');
  });

  for (const [what, metricName] of [['any requeue', REQUEUED_METRIC], ['any stalled-job requeue', METRIC.sweeperStalledJobsRequeued], ['any batch it had to announce', METRIC.sweeperBatchesCompleted], ['any finished job whose webhooks it had to send', METRIC.sweeperJobsAnnounced]] as const) {
    it(`alarms on ${what}, to the alarm topic, on the metric the handler emits`, () => {
      expect(SWEEPER_METRIC.dimensions).toEqual({ service: 'sweeper' }); // Powertools' service dimension (handler's serviceName)
      template.hasResourceProperties('AWS::CloudWatch::Alarm', {
        MetricName: metricName,
        Namespace: 'Metahook',
        Dimensions: [{ Name: 'service', Value: 'sweeper' }],
        Threshold: 0,
        ComparisonOperator: 'GreaterThanThreshold',
        AlarmActions: [{ Ref: Stack.of(stack).getLogicalId(stack.observability.alarmTopic.node.defaultChild as never) }],
      });
    });
  }
});
