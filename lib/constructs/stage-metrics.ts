// The pipeline's own EMF metrics (names: lambdas/core/metric-names.ts) as CloudWatch metrics for
// the stage alarms and the stage dashboard, so both read exactly what the handlers publish.
import { Duration } from 'aws-cdk-lib';
import { MathExpression, Metric } from 'aws-cdk-lib/aws-cloudwatch';
import { METRIC_SERVICE, METRICS_NAMESPACE, type MetricName } from '../../lambdas/core/metric-names';

export type Stage = keyof typeof METRIC_SERVICE;

/** A stage metric with `service` (and any extra dimensions), as published by Powertools. */
export function stageMetric(
  stage: Stage,
  metricName: MetricName,
  options: { readonly statistic?: string; readonly dimensions?: Record<string, string>; readonly period?: Duration; readonly label?: string } = {},
): Metric {
  return new Metric({
    namespace: METRICS_NAMESPACE,
    metricName,
    dimensionsMap: { service: METRIC_SERVICE[stage], ...options.dimensions },
    statistic: options.statistic ?? 'Sum',
    period: options.period ?? Duration.minutes(5),
    ...(options.label ? { label: options.label } : {}),
  });
}

/** Every series of a metric split by extra dimensions (model, media type, outcome...), for graphs. */
export function stageSearch(stage: Stage, metricName: MetricName, dimensions: readonly string[], statistic: string, label: string): MathExpression {
  const schema = [METRICS_NAMESPACE, 'service', ...dimensions].join(',');
  return new MathExpression({
    expression: `SEARCH('{${schema}} service="${METRIC_SERVICE[stage]}" MetricName="${metricName}"', '${statistic}', 300)`,
    label,
    period: Duration.minutes(5),
  });
}

