// Sweeper: a scheduled Lambda that finishes what a dead intake left half done (issue 17). It reads
// the intake outbox (jobs written whose messages were never confirmed) and queues those jobs again,
// and the lease index (jobs in flight past their lease or retry time with no live message) and
// queues those again too. What it re-enqueues is alarmed on: every requeue is an intake that failed
// midway, or a job message that was lost (dead-lettered by count, expired).
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
import { INDEXES } from '../table-design';
import type { Settings } from '../settings';
import { grantSend } from './grants';
import { PipelineFunction } from './pipeline-function';

/** The sweeper's EMF metric (lambdas/sweeper/handler.ts emits it under this namespace and service). */
export const SWEEPER_METRIC = { namespace: METRICS_NAMESPACE, metricName: METRIC.sweeperJobsRequeued, dimensions: { service: METRIC_SERVICE.sweeper } } as const;
/** The stalled-jobs requeue metric, same namespace and service. */
export const SWEEPER_STALLED_JOBS_METRIC = { ...SWEEPER_METRIC, metricName: METRIC.sweeperStalledJobsRequeued } as const;
/** Batches the sweeper announced because their progress missed a finished job, same namespace and service. */
export const SWEEPER_BATCHES_COMPLETED_METRIC = { ...SWEEPER_METRIC, metricName: METRIC.sweeperBatchesCompleted } as const;
/** Finished jobs whose webhooks the sweeper sent because the extractor could not queue them, same namespace and service. */
export const SWEEPER_JOBS_ANNOUNCED_METRIC = { ...SWEEPER_METRIC, metricName: METRIC.sweeperJobsAnnounced } as const;

export interface SweeperProps {
  readonly settings: Settings;
  readonly table: ITable;
  readonly jobsQueue: IQueue;
  /** batch.completed of a batch the sweeper cut down to its written jobs goes here. */
  readonly deliveriesQueue: IQueue;
  readonly environment: Record<string, string>;
  readonly logRetention: RetentionDays;
  /** Where the requeue alarm notifies. */
  readonly alarmTopic: ITopic;
}

export class Sweeper extends Construct {
  public readonly sweeper: PipelineFunction;
  public readonly schedule: Rule;
  public readonly requeueAlarm: Alarm;
  public readonly stalledJobsAlarm: Alarm;
  /** Fires on any batch.completed the sweeper had to send (sweep-batches.ts). */
  public readonly batchesCompletedAlarm: Alarm;
  /** Fires on any finished job whose webhooks the sweeper had to send (sweep-leases.ts, deferAnnouncement). */
  public readonly jobsAnnouncedAlarm: Alarm;

  constructor(scope: Construct, id: string, props: SweeperProps) {
    super(scope, id);
    const { settings } = props;
    if (settings.sweeper.intervalSeconds % 60 !== 0) {
      throw new Error(`sweeper.intervalSeconds must be whole minutes for an EventBridge rate, got ${settings.sweeper.intervalSeconds}`);
    }
    this.sweeper = new PipelineFunction(this, 'Sweeper', {
      handlerName: 'sweeper',
      description: 'Metahook sweeper: queues jobs whose intake died before queuing them, or whose message was lost',
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
    // lambdas/adapters/dynamo/stalled-jobs.ts: Query the lease index; GetItem + conditional UpdateItem
    // of one job (its deadline and requeue count), before sending it a fresh message. UpdateItem also
    // cuts a half-written batch down to its jobs (batch-progress.ts) and claims its batch.completed.
    fn.addToRolePolicy(
      new PolicyStatement({
        sid: 'FindStalledJobsByLease',
        actions: ['dynamodb:Query'],
        resources: [`${props.table.tableArn}/index/${INDEXES.leases.indexName}`],
      }),
    );
    fn.addToRolePolicy(
      new PolicyStatement({
        sid: 'ClaimStalledJobRequeue',
        actions: ['dynamodb:GetItem', 'dynamodb:UpdateItem'],
        resources: [props.table.tableArn],
      }),
    );
    props.table.encryptionKey?.grant(fn, 'kms:Decrypt');
    grantSend(props.jobsQueue, fn);
    grantSend(props.deliveriesQueue, fn);

    // Any requeue at all is worth a look: nothing is lost, but something failed midway.
    const anyRequeue = (alarmId: string, metric: { namespace: string; metricName: string; dimensions: Record<string, string> }, alarmDescription: string) =>
      new Alarm(this, alarmId, {
        alarmDescription,
        metric: new Metric({
          namespace: metric.namespace,
          metricName: metric.metricName,
          dimensionsMap: { ...metric.dimensions },
          statistic: 'Sum',
          period: Duration.minutes(5),
        }),
        threshold: 0,
        evaluationPeriods: 1,
        comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
        treatMissingData: TreatMissingData.NOT_BREACHING,
      });
    this.requeueAlarm = anyRequeue(
      'JobsRequeued',
      SWEEPER_METRIC,
      'The sweeper queued jobs an intake wrote but never queued (an intake died or SQS failed midway): check the intake logs',
    );
    this.stalledJobsAlarm = anyRequeue(
      'StalledJobsRequeued',
      SWEEPER_STALLED_JOBS_METRIC,
      'The sweeper queued jobs that were in flight past their lease with no message left (lost or dead-lettered by count): check the extractor logs and the jobs DLQ',
    );
    this.batchesCompletedAlarm = anyRequeue(
      'BatchesCompletedBySweeper',
      SWEEPER_BATCHES_COMPLETED_METRIC,
      'The sweeper sent batch.completed for batches whose progress missed a finished job (a progress write failed where nothing retried it): check the extractor logs and the jobs DLQ (handler_error)',
    );
    this.jobsAnnouncedAlarm = anyRequeue(
      'JobsAnnouncedBySweeper',
      SWEEPER_JOBS_ANNOUNCED_METRIC,
      'The sweeper sent the webhooks of finished jobs whose extractor could not queue them on the last receive (SendMessageBatch to the deliveries queue failed): check the extractor logs',
    );
    const action = new SnsAction(props.alarmTopic);
    for (const alarm of [this.requeueAlarm, this.stalledJobsAlarm, this.batchesCompletedAlarm, this.jobsAnnouncedAlarm]) {
      alarm.addAlarmAction(action);
      alarm.addOkAction(action);
    }
  }
}
