// Handler: EventBridge schedule -> sweepEnqueueOutbox + sweepStalledJobs use cases -> DynamoDB + SQS.
// Queues jobs whose intake died (or whose SendMessageBatch failed) after writing them, and jobs in
// flight whose message was lost (past their lease or retry time with nothing left to carry them),
// and announces batches whose jobs all finished but whose progress missed one (sweep-batches.ts).
import middy from '@middy/core';
import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { captureLambdaHandler } from '@aws-lambda-powertools/tracer/middleware';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import { METRIC, METRIC_SERVICE, METRICS_NAMESPACE } from '../core/metric-names';
import { sweepEnqueueOutbox } from '../core/sweep-outbox';
import { sweepOpenBatches } from '../core/sweep-batches';
import { sweepStalledJobs, type SweepRunResult } from '../core/sweep-leases';
import { processTracer } from '../adapters/tracing';
import { buildSweeperDeps } from './wiring';

const logger = new Logger({ serviceName: 'metahook-sweeper' });
const metrics = new Metrics({ namespace: METRICS_NAMESPACE, serviceName: METRIC_SERVICE.sweeper });
const { outbox, stalled, openBatches } = buildSweeperDeps(process.env);

export async function handleSweep(): Promise<SweepRunResult> {
  // Independent: a failure of one sweep must not keep the other from running.
  const [fromOutbox, fromLeases, fromBatches] = await Promise.allSettled([
    sweepEnqueueOutbox(outbox),
    sweepStalledJobs(stalled),
    sweepOpenBatches(openBatches),
  ]);
  if (fromOutbox.status === 'fulfilled') {
    metrics.addMetric(METRIC.sweeperJobsRequeued, MetricUnit.Count, fromOutbox.value.requeued);
    if (fromOutbox.value.entries > 0) logger.warn('outbox entries swept', { ...fromOutbox.value });
  }
  if (fromLeases.status === 'fulfilled') {
    metrics.addMetric(METRIC.sweeperStalledJobsRequeued, MetricUnit.Count, fromLeases.value.requeued);
    metrics.addMetric(METRIC.sweeperJobsAnnounced, MetricUnit.Count, fromLeases.value.announced);
    if (fromLeases.value.overdue > 0) logger.warn('stalled jobs swept', { ...fromLeases.value });
  }
  if (fromBatches.status === 'fulfilled') {
    metrics.addMetric(METRIC.sweeperBatchesCompleted, MetricUnit.Count, fromBatches.value.completed);
    if (fromBatches.value.completed > 0) logger.warn('open batches completed by the sweeper', { ...fromBatches.value });
  }
  if (fromOutbox.status === 'rejected') throw fromOutbox.reason;
  if (fromLeases.status === 'rejected') throw fromLeases.reason;
  if (fromBatches.status === 'rejected') throw fromBatches.reason;
  return { ...fromOutbox.value, stalled: fromLeases.value, openBatches: fromBatches.value };
}

export const handler = middy(handleSweep).use(injectLambdaContext(logger)).use(captureLambdaHandler(processTracer(), { captureResponse: false })).use(logMetrics(metrics));
