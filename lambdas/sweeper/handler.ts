// Handler: EventBridge schedule -> sweepEnqueueOutbox use case -> DynamoDB + SQS.
// Queues jobs whose intake died (or whose SendMessageBatch failed) after writing them.
import middy from '@middy/core';
import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { captureLambdaHandler } from '@aws-lambda-powertools/tracer/middleware';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import { METRIC, METRIC_SERVICE, METRICS_NAMESPACE } from '../core/metric-names';
import { sweepEnqueueOutbox, type SweepOutboxResult } from '../core/sweep-outbox';
import { processTracer } from '../adapters/tracing';
import { buildSweeperDeps } from './wiring';

const logger = new Logger({ serviceName: 'metahook-sweeper' });
const metrics = new Metrics({ namespace: METRICS_NAMESPACE, serviceName: METRIC_SERVICE.sweeper });
const deps = buildSweeperDeps(process.env);

export async function handleSweep(): Promise<SweepOutboxResult> {
  const result = await sweepEnqueueOutbox(deps);
  metrics.addMetric(METRIC.sweeperJobsRequeued, MetricUnit.Count, result.requeued);
  if (result.entries > 0) logger.warn('outbox entries swept', { ...result });
  return result;
}

export const handler = middy(handleSweep).use(injectLambdaContext(logger)).use(captureLambdaHandler(processTracer(), { captureResponse: false })).use(logMetrics(metrics));
