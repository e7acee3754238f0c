// Stage alarms on the pipeline's own metrics (lambdas/core/metric-names.ts), to the alarm topic.
// Each says what broke in that stage; docs/operations.md says what to do. Held jobs of a disabled
// tenant (JobsProcessed outcome=held) are graphed, never alarmed: a routine disable pages no one.
import { Duration } from 'aws-cdk-lib';
import { MathExpression, type Alarm, type IMetric } from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import type { ITopic } from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import { METRIC } from '../../lambdas/core/metric-names';
import { notifyingAlarm } from './observability';
import { stageMetric } from './stage-metrics';

export interface StageAlarmsProps {
  readonly alarmTopic: ITopic;
  /** Model calls (per 5 minutes) below which the error rate never alarms. @default 10 */
  readonly minModelCalls?: number;
  /** Failed share of model calls (percent) that alarms, 3 periods in a row. @default 50 */
  readonly modelErrorRatePercent?: number;
  /** A record that waited longer than this in its queue (seconds). @default 600 (10 of the 15-minute promise) */
  readonly maxBacklogAgeSeconds?: number;
}

export class StageAlarms extends Construct {
  public readonly alarms: Alarm[] = [];

  constructor(scope: Construct, id: string, props: StageAlarmsProps) {
    super(scope, id);
    const minCalls = props.minModelCalls ?? 10;
    const errorRate = props.modelErrorRatePercent ?? 50;
    if (errorRate <= 0 || errorRate > 100) throw new Error('modelErrorRatePercent must be in (0, 100]');
    const maxAge = props.maxBacklogAgeSeconds ?? 600;
    const action = new SnsAction(props.alarmTopic);
    const alarm = (alarmId: string, description: string, metric: IMetric, threshold: number, evaluationPeriods = 1) => {
      this.alarms.push(notifyingAlarm(this, alarmId, action, { description, metric, threshold, evaluationPeriods }));
    };

    alarm(
      'IntakeInternalErrors',
      'Intake answered internal_error (our failure, not the caller\'s): see the intake logs and the trace of a failed request',
      stageMetric('intake', METRIC.requestsRefused, { dimensions: { code: 'internal_error' } }),
      0,
    );

    const calls = stageMetric('extractor', METRIC.modelCalls, { dimensions: { outcome: 'ok' } });
    const transient = stageMetric('extractor', METRIC.modelCalls, { dimensions: { outcome: 'transient_error' } });
    alarm(
      'ModelErrorRate',
      `More than ${errorRate}% of model calls failed transiently (throttling, timeouts, model unavailable) in 3 consecutive 5-minute periods`,
      new MathExpression({
        expression: `IF(ok + failed >= ${minCalls}, 100 * failed / (ok + failed), 0)`,
        usingMetrics: { ok: calls, failed: transient },
        label: 'Model call transient error rate (%)',
        period: Duration.minutes(5),
      }),
      errorRate,
      3,
    );
    alarm(
      'ExtractorBacklogAge',
      `A job waited more than ${maxAge / 60} minutes in the jobs queue before the extractor took it: the 15-minute promise is at risk`,
      stageMetric('extractor', METRIC.backlogAge, { statistic: 'Maximum', period: Duration.minutes(1) }),
      maxAge,
      3,
    );

    alarm(
      'CallbackOwnErrors',
      'The callback failed on our side (a DynamoDB read, the tenant lookup) around delivery attempts: see the callback logs',
      stageMetric('callback', METRIC.deliveryErrored),
      0,
      2,
    );
    alarm(
      'CallbackBacklogAge',
      `A webhook waited more than ${maxAge / 60} minutes in the deliveries queue before the callback took it (retries excluded: they are postponed, then counted from the postponement)`,
      stageMetric('callback', METRIC.backlogAge, { statistic: 'Maximum', period: Duration.minutes(1) }),
      maxAge,
      3,
    );
  }
}
