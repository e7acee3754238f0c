// Handler: EventBridge schedule -> sweepEnqueueOutbox + sweepStalledJobs use cases -> DynamoDB + SQS.
// Queues jobs whose intake died (or whose SendMessageBatch failed) after writing them, and jobs in
// flight whose message was lost (past their lease or retry time with nothing left to carry them).
import middy from '@middy/core';
import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import { SWEEPER_REQUEUED_METRIC, sweepEnqueueOutbox } from '../core/sweep-outbox';
import { SWEEPER_STALLED_METRIC, sweepStalledJobs, type SweepRunResult } from '../core/sweep-leases';
import { buildSweeperDeps } from './wiring';

const logger = new Logger({ serviceName: 'metahook-sweeper' });
const metrics = new Metrics({ namespace: 'Metahook', serviceName: 'sweeper' });
const { outbox, stalled } = buildSweeperDeps(process.env);

export async function handleSweep(): Promise<SweepRunResult> {
  // Independent: a failure of one sweep must not keep the other from running.
  const [fromOutbox, fromLeases] = await Promise.allSettled([sweepEnqueueOutbox(outbox), sweepStalledJobs(stalled)]);
  if (fromOutbox.status === 'fulfilled') {
    metrics.addMetric(SWEEPER_REQUEUED_METRIC, MetricUnit.Count, fromOutbox.value.requeued);
    if (fromOutbox.value.entries > 0) logger.warn('outbox entries swept', { ...fromOutbox.value });
  }
  if (fromLeases.status === 'fulfilled') {
    metrics.addMetric(SWEEPER_STALLED_METRIC, MetricUnit.Count, fromLeases.value.requeued);
    if (fromLeases.value.overdue > 0) logger.warn('stalled jobs swept', { ...fromLeases.value });
  }
  if (fromOutbox.status === 'rejected') throw fromOutbox.reason;
  if (fromLeases.status === 'rejected') throw fromLeases.reason;
  return { ...fromOutbox.value, stalled: fromLeases.value };
}

export const handler = middy(handleSweep).use(injectLambdaContext(logger)).use(logMetrics(metrics));
