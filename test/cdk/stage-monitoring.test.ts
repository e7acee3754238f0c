// The stage alarms and dashboard read the metrics the handlers publish: every metric name they use
// comes from lambdas/core/metric-names.ts with its stage's service dimension, every metric a stage
// publishes is on the dashboard, and nothing alarms on a disabled tenant's held jobs.
import { afterAll, describe, expect, it } from 'vitest';
import { CloudAssembly } from 'aws-cdk-lib/cx-api';
import { METRIC, METRIC_SERVICE, METRICS_NAMESPACE } from '../../lambdas/core/metric-names';
import { synthStack } from './synth-stack';

afterAll(() => CloudAssembly.cleanupTemporaryDirectories());

describe('stage alarms and dashboard', () => {
  const { template } = synthStack();
  const alarms = Object.values(template.findResources('AWS::CloudWatch::Alarm')).map((a) => (a as { Properties: any }).Properties);
  /** Every metric an alarm reads, directly or inside a metric-math expression. */
  const alarmMetrics = alarms.flatMap((a) =>
    a.MetricName ? [{ Namespace: a.Namespace, MetricName: a.MetricName, Dimensions: a.Dimensions ?? [] }]
      : (a.Metrics ?? []).filter((m: any) => m.MetricStat).map((m: any) => m.MetricStat.Metric));
  const ours = alarmMetrics.filter((m) => m.Namespace === METRICS_NAMESPACE);
  const names = new Set<string>(Object.values(METRIC));
  const services = new Set<string>(Object.values(METRIC_SERVICE));

  it('alarms only on metric names and services of metric-names.ts', () => {
    expect(ours.length).toBeGreaterThanOrEqual(7);
    for (const metric of ours) {
      expect(names.has(metric.MetricName), metric.MetricName).toBe(true);
      const service = metric.Dimensions.find((d: any) => d.Name === 'service')?.Value;
      expect(services.has(service), `${metric.MetricName} service ${service}`).toBe(true);
    }
  });

  it('alarms on each stage of the pipeline', () => {
    const alarmed = new Set(ours.map((m) => m.Dimensions.find((d: any) => d.Name === 'service').Value));
    expect([...alarmed].sort((a, b) => String(a).localeCompare(String(b)))).toEqual(['callback', 'extractor', 'intake', 'sweeper']);
    // The split ones read the outcome or code the handlers write.
    const split = (MetricName: string, service: string, name: string, value: string) => expect.objectContaining({
      MetricName,
      Dimensions: expect.arrayContaining([{ Name: 'service', Value: service }, { Name: name, Value: value }]),
    });
    expect(ours).toContainEqual(split(METRIC.requestsRefused, 'intake', 'code', 'internal_error'));
    expect(ours).toContainEqual(split(METRIC.modelCalls, 'extractor', 'outcome', 'transient_error'));
  });

  it('never alarms on held jobs (a disabled tenant pages no one)', () => {
    for (const metric of ours) expect(metric.Dimensions.some((d: any) => d.Name === 'outcome' && d.Value === 'held')).toBe(false);
  });

  it('shows every metric the stages publish on the dashboard', () => {
    const [dashboard] = Object.values(template.findResources('AWS::CloudWatch::Dashboard')) as { Properties: { DashboardBody: unknown } }[];
    const body = JSON.stringify(dashboard!.Properties.DashboardBody);
    for (const name of names) expect(body.includes(name), `${name} on the dashboard`).toBe(true);
  });
});
