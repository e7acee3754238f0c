// Observability: alarms on what breaks the promise (a dead-lettered job or delivery, jobs
// waiting past 10 minutes of the 15-minute end-to-end promise, Lambda errors, webhook
// receivers failing) to an encrypted SNS topic, and one dashboard of the whole pipeline.
import { CfnOutput, Duration, Stack } from 'aws-cdk-lib';
import type { RestApi } from 'aws-cdk-lib/aws-apigateway';
import {
  Alarm,
  ComparisonOperator,
  Dashboard,
  GraphWidget,
  MathExpression,
  Metric,
  TextWidget,
  TreatMissingData,
  type IMetric,
} from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import { PolicyStatement, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { Topic } from 'aws-cdk-lib/aws-sns';
import { EmailSubscription } from 'aws-cdk-lib/aws-sns-subscriptions';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { METRIC, METRIC_SERVICE, METRICS_NAMESPACE } from '../../lambdas/core/metric-names';

/** EMF metrics the callback handler publishes (Powertools Metrics, default dimension service). */
export const DELIVERY_METRICS = {
  namespace: METRICS_NAMESPACE,
  attempt: METRIC.deliveryAttempt,
  failed: METRIC.deliveryFailed,
  dimensions: { service: METRIC_SERVICE.callback },
} as const;

/**
 * This stack's CloudWatch alarms: CloudFormation names an unnamed alarm
 * `<stack name>-<logical id>-<suffix>`, so the stack name prefix holds them to this stack.
 */
export const alarmArnPattern = (stack: Stack): string =>
  `arn:${stack.partition}:cloudwatch:${stack.region}:${stack.account}:alarm:${stack.stackName}-*`;

export interface ObservedQueue {
  readonly label: string;
  readonly queue: IQueue;
  readonly deadLetterQueue: IQueue;
  /** Alarm when the oldest message is older than this. @default no age alarm */
  readonly maxAgeSeconds?: number;
}

export interface ObservabilityProps {
  readonly api: RestApi;
  readonly intake: IFunction;
  readonly jobsApi: IFunction;
  readonly extractor: IFunction;
  readonly callback: IFunction;
  readonly queues: readonly ObservedQueue[];
  /** Encrypts the alarm topic; CloudWatch is allowed to use it. */
  readonly encryptionKey: IKey;
  /** @default no subscription */
  readonly alarmEmail?: string;
  /** Failed share of delivery attempts (percent) that raises the alarm. @default 25 */
  readonly deliveryFailureRatePercent?: number;
  /** Fewer attempts than this in a period never alarm (one failure out of two is noise). @default 10 */
  readonly deliveryFailureMinAttempts?: number;
}

export class Observability extends Construct {
  public readonly alarmTopic: Topic;
  public readonly alarms: Alarm[] = [];
  public readonly dashboard: Dashboard;

  constructor(scope: Construct, id: string, props: ObservabilityProps) {
    super(scope, id);
    const minAttempts = props.deliveryFailureMinAttempts ?? 10;
    const failureRate = props.deliveryFailureRatePercent ?? 25;
    if (failureRate <= 0 || failureRate > 100) throw new Error('deliveryFailureRatePercent must be in (0, 100]');

    this.alarmTopic = new Topic(this, 'AlarmTopic', {
      displayName: 'Metahook alarms',
      masterKey: props.encryptionKey,
      enforceSSL: true,
    });
    // A topic policy replaces SNS's default one, and enforceSSL's policy holds only a Deny, so
    // CloudWatch needs its own Allow or every alarm notification is dropped. Scoped to this
    // account's alarms in this Region against the confused-deputy problem:
    // https://docs.aws.amazon.com/sns/latest/dg/sns-access-policy-use-cases.html (CloudWatch alarms,
    // aws:SourceAccount / aws:SourceArn) and
    // https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/Notify_Users_Alarm_Changes.html
    const stack = Stack.of(this);
    const fromOwnAlarms = {
      StringEquals: { 'aws:SourceAccount': stack.account },
      ArnLike: { 'aws:SourceArn': alarmArnPattern(stack) },
    };
    this.alarmTopic.addToResourcePolicy(
      new PolicyStatement({
        sid: 'AllowCloudWatchAlarmsToPublish',
        principals: [new ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['sns:Publish'],
        resources: [this.alarmTopic.topicArn],
        conditions: fromOwnAlarms,
      }),
    );
    // An SSE-KMS topic: the publishing service must be able to use the key ("Enable compatibility
    // between event sources from AWS services and encrypted topics",
    // https://docs.aws.amazon.com/sns/latest/dg/sns-key-management.html#compatibility-with-aws-services).
    props.encryptionKey.addToResourcePolicy(
      new PolicyStatement({
        sid: 'AllowCloudWatchAlarmsToPublishToTheEncryptedTopic',
        principals: [new ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
        resources: ['*'],
        conditions: fromOwnAlarms,
      }),
    );
    if (props.alarmEmail) this.alarmTopic.addSubscription(new EmailSubscription(props.alarmEmail));
    const action = new SnsAction(this.alarmTopic);

    const alarm = (alarmId: string, description: string, metric: IMetric, threshold: number, evaluationPeriods = 1) => {
      const created = notifyingAlarm(this, alarmId, action, { description, metric, threshold, evaluationPeriods });
      this.alarms.push(created);
      return created;
    };

    for (const observed of props.queues) {
      alarm(
        `${observed.label}DeadLetterNotEmpty`,
        `${observed.label} dead-letter queue holds messages: inspect them and redrive with the CLI`,
        observed.deadLetterQueue.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(1), statistic: 'Maximum' }),
        0,
      );
      if (observed.maxAgeSeconds !== undefined) {
        alarm(
          `${observed.label}OldestMessageAge`,
          `Oldest ${observed.label} message is older than ${observed.maxAgeSeconds / 60} minutes: the 15-minute promise is at risk`,
          observed.queue.metricApproximateAgeOfOldestMessage({ period: Duration.minutes(1), statistic: 'Maximum' }),
          observed.maxAgeSeconds,
        );
      }
    }

    for (const [label, fn] of [['Extractor', props.extractor], ['Callback', props.callback], ['Intake', props.intake], ['JobsApi', props.jobsApi]] as const) {
      alarm(
        `${label}Errors`,
        `${label} Lambda invocations failed (crash or timeout, not per-record failures)`,
        fn.metricErrors({ period: Duration.minutes(5), statistic: 'Sum' }),
        0,
      );
    }

    const deliveryMetric = (metricName: string) =>
      new Metric({
        namespace: DELIVERY_METRICS.namespace,
        metricName,
        dimensionsMap: { ...DELIVERY_METRICS.dimensions },
        statistic: 'Sum',
        period: Duration.minutes(5),
      });
    const deliveryFailureRate = new MathExpression({
      expression: `IF(attempts >= ${minAttempts}, 100 * failed / attempts, 0)`,
      usingMetrics: { attempts: deliveryMetric(DELIVERY_METRICS.attempt), failed: deliveryMetric(DELIVERY_METRICS.failed) },
      label: 'Delivery failure rate (%)',
      period: Duration.minutes(5),
    });
    alarm(
      'DeliveryFailureRate',
      `More than ${failureRate}% of webhook delivery attempts failed in 3 consecutive 5-minute periods`,
      deliveryFailureRate,
      failureRate,
      3,
    );

    this.dashboard = new Dashboard(this, 'Dashboard', { defaultInterval: Duration.hours(6) });
    const graph = (title: string, left: IMetric[], right: IMetric[] = []) =>
      new GraphWidget({ title, left, right, width: 8, height: 6 });
    const api = props.api;
    const queueWidgets = props.queues.flatMap((observed) => [
      graph(`${observed.label} queue`, [
        observed.queue.metricApproximateNumberOfMessagesVisible({ label: 'visible' }),
        observed.queue.metricApproximateNumberOfMessagesNotVisible({ label: 'in flight' }),
      ], [observed.queue.metricApproximateAgeOfOldestMessage({ label: 'oldest (s)' })]),
      graph(`${observed.label} dead letters`, [
        observed.deadLetterQueue.metricApproximateNumberOfMessagesVisible({ label: 'dead-lettered' }),
      ]),
    ]);
    const lambdaWidgets = ([['Intake', props.intake], ['JobsApi', props.jobsApi], ['Extractor', props.extractor], ['Callback', props.callback]] as const).map(
      ([label, fn]) =>
        graph(`${label} Lambda`, [fn.metricInvocations(), fn.metricErrors(), fn.metricThrottles()], [
          fn.metricDuration({ statistic: 'p95', label: 'duration p95' }),
          fn.metric('ConcurrentExecutions', { statistic: 'Maximum' }),
        ]),
    );
    this.dashboard.addWidgets(
      new TextWidget({
        markdown: '# Metahook pipeline\nAPI -> jobs queue -> extractor (Bedrock) -> deliveries queue -> callback (webhooks)',
        width: 24,
        height: 2,
      }),
    );
    this.dashboard.addWidgets(
      graph('API requests', [api.metricCount(), api.metricClientError(), api.metricServerError()], [
        api.metricLatency({ statistic: 'p95' }),
      ]),
      ...lambdaWidgets,
    );
    this.dashboard.addWidgets(...queueWidgets);
    this.dashboard.addWidgets(
      graph('Webhook deliveries', [deliveryMetric(DELIVERY_METRICS.attempt), deliveryMetric(DELIVERY_METRICS.failed)], [
        deliveryFailureRate,
      ]),
    );

    new CfnOutput(stack, 'AlarmTopicArn', { value: this.alarmTopic.topicArn, description: 'Subscribe on-call here' });
    new CfnOutput(stack, 'DashboardName', { value: this.dashboard.dashboardName });
  }
}

/** An alarm above `threshold` that tells the alarm topic when it fires and when it clears; no data is not a breach. */
export function notifyingAlarm(
  scope: Construct,
  id: string,
  action: SnsAction,
  spec: { readonly description: string; readonly metric: IMetric; readonly threshold: number; readonly evaluationPeriods: number },
): Alarm {
  const created = new Alarm(scope, id, {
    alarmDescription: spec.description,
    metric: spec.metric,
    threshold: spec.threshold,
    evaluationPeriods: spec.evaluationPeriods,
    comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
    treatMissingData: TreatMissingData.NOT_BREACHING,
  });
  created.addAlarmAction(action);
  created.addOkAction(action);
  return created;
}
