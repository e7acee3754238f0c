// Sweeper: a scheduled Lambda that finishes what a dead intake left half done (issue 17). It reads
// the intake outbox (jobs written whose messages were never confirmed) and queues those jobs again.
// What it re-enqueues is alarmed on: every requeue is an intake that failed midway.
import { Duration } from 'aws-cdk-lib';
import { Alarm, ComparisonOperator, Metric, TreatMissingData } from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { Rule, Schedule } from 'aws-cdk-lib/aws-events';
import { LambdaFunction } from 'aws-cdk-lib/aws-events-targets';
import type { RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { ITopic } from 'aws-cdk-lib/aws-sns';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { METRIC, METRIC_SERVICE, METRICS_NAMESPACE } from '../../lambdas/core/metric-names';
import type { Settings } from '../settings';
import { grantSend } from './grants';
import { PipelineFunction } from './pipeline-function';

/** The sweeper's EMF metric (lambdas/sweeper/handler.ts emits it under this namespace and service). */
export const SWEEPER_METRIC = { namespace: METRICS_NAMESPACE, metricName: METRIC.sweeperJobsRequeued, dimensions: { service: METRIC_SERVICE.sweeper } } as const;

export interface SweeperProps {
  readonly settings: Settings;
  readonly table: ITable;
  readonly jobsQueue: IQueue;
  readonly environment: Record<string, string>;
  readonly logRetention: RetentionDays;
  /** Where the requeue alarm notifies. */
  readonly alarmTopic: ITopic;
}

export class Sweeper extends Construct {
  public readonly sweeper: PipelineFunction;
  public readonly schedule: Rule;
  public readonly requeueAlarm: Alarm;

  constructor(scope: Construct, id: string, props: SweeperProps) {
    super(scope, id);
    const { settings } = props;
    if (settings.sweeper.intervalSeconds % 60 !== 0) {
      throw new Error(`sweeper.intervalSeconds must be whole minutes for an EventBridge rate, got ${settings.sweeper.intervalSeconds}`);
    }
    this.sweeper = new PipelineFunction(this, 'Sweeper', {
      handlerName: 'sweeper',
      description: 'Metahook sweeper: queues jobs whose intake died between writing them and queuing them',
      timeoutSeconds: settings.sweeper.functionTimeoutSeconds,
      memoryMb: 256,
      environment: props.environment,
      logRetention: props.logRetention,
    });
    const fn = this.sweeper.function;
    this.schedule = new Rule(this, 'Schedule', {
      description: 'Runs the Metahook sweeper',
      schedule: Schedule.rate(Duration.seconds(settings.sweeper.intervalSeconds)),
      targets: [new LambdaFunction(fn, { retryAttempts: 0 })], // the next run is the retry
    });

    // Exactly what lambdas/core/sweep-outbox.ts calls: Query the outbox, BatchGetItem the jobs,
    // DeleteItem the entry. The outbox partitions are not tenant-scoped, so the grant is on the table.
    fn.addToRolePolicy(
      new PolicyStatement({
        sid: 'SweepTheIntakeOutbox',
        actions: ['dynamodb:Query', 'dynamodb:BatchGetItem', 'dynamodb:DeleteItem'],
        resources: [props.table.tableArn], // the base table only: the outbox uses no index
      }),
    );
    props.table.encryptionKey?.grant(fn, 'kms:Decrypt');
    grantSend(props.jobsQueue, fn);

    this.requeueAlarm = new Alarm(this, 'JobsRequeued', {
      alarmDescription:
        'The sweeper queued jobs an intake wrote but never queued (an intake died or SQS failed midway): check the intake logs',
      metric: new Metric({
        namespace: SWEEPER_METRIC.namespace,
        metricName: SWEEPER_METRIC.metricName,
        dimensionsMap: { ...SWEEPER_METRIC.dimensions },
        statistic: 'Sum',
        period: Duration.minutes(5),
      }),
      threshold: 0,
      evaluationPeriods: 1,
      comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
      treatMissingData: TreatMissingData.NOT_BREACHING,
    });
    const action = new SnsAction(props.alarmTopic);
    this.requeueAlarm.addAlarmAction(action);
    this.requeueAlarm.addOkAction(action);
  }
}
