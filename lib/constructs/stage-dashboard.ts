// One dashboard row per stage, from the pipeline's own metrics (lambdas/core/metric-names.ts):
// intake, extractor (latency, tokens and cost by model and media type), callback, sweeper.
import { GraphWidget, TextWidget, type Dashboard, type IMetric } from 'aws-cdk-lib/aws-cloudwatch';
import { Construct } from 'constructs';
import { METRIC } from '../../lambdas/core/metric-names';
import { stageMetric, stageSearch } from './stage-metrics';

export interface StageDashboardProps {
  /** The pipeline dashboard (lib/constructs/observability.ts) the rows are added to. */
  readonly dashboard: Dashboard;
}

export class StageDashboard extends Construct {
  constructor(scope: Construct, id: string, props: StageDashboardProps) {
    super(scope, id);
    const graph = (title: string, left: IMetric[], right: IMetric[] = []) => new GraphWidget({ title, left, right, width: 8, height: 6 });
    const d = props.dashboard;
    d.addWidgets(new TextWidget({ markdown: '## Stages (EMF metrics, namespace Metahook)', width: 24, height: 1 }));
    d.addWidgets(
      graph('Intake: files', [
        stageMetric('intake', METRIC.filesAccepted, { label: 'accepted' }),
        stageSearch('intake', METRIC.filesRefused, ['code'], 'Sum', 'refused'),
      ]),
      graph('Intake: refused requests by code', [stageSearch('intake', METRIC.requestsRefused, ['code'], 'Sum', 'refused')]),
      graph('Jobs by outcome (held = disabled tenant)', [stageSearch('extractor', METRIC.jobsProcessed, ['outcome'], 'Sum', 'jobs')]),
    );
    d.addWidgets(
      graph('Extraction latency p95 by model and media type', [
        stageSearch('extractor', METRIC.extractionLatency, ['model', 'media_type'], 'p95', 'p95'),
      ]),
      graph('Tokens by model and media type', [
        stageSearch('extractor', METRIC.extractionInputTokens, ['model', 'media_type'], 'Sum', 'input'),
        stageSearch('extractor', METRIC.extractionOutputTokens, ['model', 'media_type'], 'Sum', 'output'),
      ]),
      graph('Cost (USD) and model call outcomes', [stageSearch('extractor', METRIC.extractionCostUsd, ['model', 'media_type'], 'Sum', 'USD')], [
        stageSearch('extractor', METRIC.modelCalls, ['model', 'media_type', 'outcome'], 'Sum', 'calls'),
      ]),
    );
    d.addWidgets(
      graph('Deliveries by outcome', [stageSearch('callback', METRIC.deliveryOutcome, ['outcome'], 'Sum', 'deliveries')], [
        stageMetric('callback', METRIC.deliveryDeadLettered, { label: 'dead-lettered' }),
        stageMetric('callback', METRIC.deliveryErrored, { label: 'errored (ours)' }),
      ]),
      graph('Webhook POST latency p95 by status class', [stageSearch('callback', METRIC.deliveryLatency, ['status'], 'p95', 'p95')]),
      graph('Backlog age (max, s) and sweeper requeues', [
        stageMetric('extractor', METRIC.backlogAge, { statistic: 'Maximum', label: 'jobs queue' }),
        stageMetric('callback', METRIC.backlogAge, { statistic: 'Maximum', label: 'deliveries queue' }),
      ], [
        stageMetric('sweeper', METRIC.sweeperJobsRequeued, { label: 'requeued from the outbox' }),
        stageMetric('sweeper', METRIC.sweeperStalledJobsRequeued, { label: 'stalled jobs requeued' }),
        stageMetric('sweeper', METRIC.sweeperBatchesCompleted, { label: 'batches announced by the sweeper' }),
        stageMetric('sweeper', METRIC.sweeperJobsAnnounced, { label: 'finished jobs announced by the sweeper' }),
      ]),
    );
  }
}
