// Handler: jobs queue (SQS, partial batch failures) -> extractJob use case.
// Transient failures postpone the record by the extraction retry schedule; jobs whose
// retries ran out are failed by the use case and dead-lettered here with a reason. Before a
// batch runs, fairShare holds back a backlogged tenant's excess records: they are sent again to
// the back of the queue (a fresh message, no receive spent) so other tenants' files go first.
import middy from '@middy/core';
import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { captureLambdaHandler } from '@aws-lambda-powertools/tracer/middleware';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import type { Context, SQSEvent, SQSRecord } from 'aws-lambda';
import { TransientJobError } from '../core/errors';
import { extractJob, JobBusyError } from '../core/extract-job';
import { fairShare } from '../core/fair-share';
import { METRIC } from '../core/metric-names';
import { parseJobMessage } from '../core/queue-messages';
import { deadLetterMessage, postponeMessage, sendJobMessages } from '../adapters/sqs-queues';
import { emitPoints } from '../adapters/observed-ports';
import { inRecordTrace, recordTraceHeader, processTracer } from '../adapters/tracing';
import { buildExtractorDeps } from './wiring';

const logger = new Logger({ serviceName: 'metahook-extractor' });
// Top-level await: a bad configuration fails the cold start, not the first record.
const { deps, sqs, jobsQueueUrl, jobsDlqUrl, jobsHeldQueueUrl, settings, deliveryBuffer, metrics } = await buildExtractorDeps(process.env);
const countJob = (outcome: string) => emitPoints(metrics, { outcome }, [[METRIC.jobsProcessed, MetricUnit.Count, 1]]);
const processor = new BatchProcessor(EventType.SQS);

async function processRecord(record: SQSRecord): Promise<void> {
  const receiveCount = Number(record.attributes.ApproximateReceiveCount ?? '1');
  metrics.addMetric(METRIC.backlogAge, MetricUnit.Seconds, backlogAgeSeconds(record));
  const message = parseJobMessage(record.body);
  if (!message) {
    logger.error('malformed job message dead-lettered', { messageId: record.messageId });
    await deadLetterMessage(sqs, jobsDlqUrl, record.body, 'malformed_message', 'not a job message');
    return;
  }
  try {
    const outcome = await extractJob(deps, message, { receiveCount });
    logger.info('job processed', { ...outcome, tenantId: message.tenant_id, receiveCount });
    countJob(outcome.outcome === 'failed' && outcome.exhausted ? 'dead_lettered' : outcome.outcome);
    if (outcome.outcome === 'failed' && outcome.exhausted) {
      await deadLetterMessage(sqs, jobsDlqUrl, record.body, 'attempts_exhausted', outcome.code);
    }
    if (outcome.outcome === 'held') {
      // Not the dead-letter queue: a routine disable must not page on-call. `tenants enable` releases it.
      await deadLetterMessage(sqs, jobsHeldQueueUrl, record.body, outcome.reason, 'tenant is disabled; released by tenants enable');
    }
  } catch (error) {
    const schedule = settings.extraction.retryScheduleSeconds;
    const step = schedule[Math.min(receiveCount - 1, schedule.length - 1)] ?? 0;
    // A busy job waits out the other worker's lease exactly; other transient errors take the step.
    const delay = error instanceof JobBusyError && error.retryAfterSeconds !== undefined
      ? error.retryAfterSeconds
      : error instanceof TransientJobError && error.retryAfterSeconds !== undefined
        ? Math.max(step, error.retryAfterSeconds) : step;
    countJob('retried');
    logger.warn('job will be retried', { jobId: message.job_id, receiveCount, delaySeconds: delay, error: error as Error });
    await postponeMessage(sqs, jobsQueueUrl, record.receiptHandle, delay).catch((cause: unknown) =>
      logger.error('could not postpone job message', { error: cause as Error }));
    throw error;
  }
}

/** How long the record waited in the queue before this receive (SentTimestamp: the last send). */
const backlogAgeSeconds = (record: SQSRecord): number =>
  Math.max(0, (Date.now() - Number(record.attributes.SentTimestamp ?? Date.now())) / 1000);

/** Each record in its job's own trace (see adapters/tracing.ts: a batch mixes many traces). */
function traceRecord(record: SQSRecord): Promise<void> {
  const message = parseJobMessage(record.body);
  const annotations = { tenant_id: message?.tenant_id, job_id: message?.job_id };
  return inRecordTrace('metahook-extractor', recordTraceHeader(record), annotations, () => processRecord(record));
}

/** Requeues the held-back records; the ones whose send failed are reported failed (SQS retries them). */
async function requeue(records: readonly SQSRecord[]): Promise<string[]> {
  if (records.length === 0) return [];
  try {
    await sendJobMessages(sqs, jobsQueueUrl, records.map((record) => parseJobMessage(record.body)!), records.map(recordTraceHeader));
    logger.info('records requeued for tenant fairness', { count: records.length, tenantId: parseJobMessage(records[0]!.body)?.tenant_id });
    return [];
  } catch (error) {
    logger.warn('could not requeue records held back for fairness', { error: error as Error });
    return records.map((record) => record.messageId);
  }
}

export async function handleJobMessages(event: SQSEvent, context: Context) {
  const now = Date.now();
  const { run, requeue: heldBack } = fairShare(
    event.Records.map((record) => ({
      record,
      tenantId: parseJobMessage(record.body)?.tenant_id,
      dwellSeconds: (now - Number(record.attributes.SentTimestamp ?? now)) / 1000,
    })),
    settings.fairness,
  );
  const requeueFailures = await requeue(heldBack.map((entry) => entry.record));
  // A batch where every record failed is still a normal outcome (retries were scheduled):
  // report it item by item instead of throwing, so the Errors metric means real errors.
  const response = run.length > 0
    ? await processPartialResponse(
      { Records: run.map((entry) => entry.record) },
      (record: SQSRecord) => deliveryBuffer.run(record.messageId, () => traceRecord(record)),
      processor,
      { context, throwOnFullBatchFailure: false },
    )
    : { batchItemFailures: [] };
  // The batch's webhooks in one SendMessageBatch per 10; a record whose webhook SQS refused is retried.
  const undelivered = await deliveryBuffer.flush();
  if (undelivered.length > 0) {
    logger.warn('webhook messages not queued; their records will be retried', { count: undelivered.length });
    // Retried on the extraction schedule, as a failed record would be (not after the 12-minute visibility).
    const schedule = settings.extraction.retryScheduleSeconds;
    await Promise.all(run.filter((entry) => undelivered.includes(entry.record.messageId)).map(({ record }) => {
      const receiveCount = Number(record.attributes.ApproximateReceiveCount ?? '1');
      const delay = schedule[Math.min(receiveCount - 1, schedule.length - 1)] ?? 0;
      return postponeMessage(sqs, jobsQueueUrl, record.receiptHandle, delay).catch((cause: unknown) =>
        logger.error('could not postpone job message', { error: cause as Error }));
    }));
  }
  const failed = new Set([...response.batchItemFailures.map((f) => f.itemIdentifier), ...requeueFailures, ...undelivered]);
  return { batchItemFailures: [...failed].map((itemIdentifier) => ({ itemIdentifier })) };
}

export const handler = middy(handleJobMessages).use(injectLambdaContext(logger)).use(captureLambdaHandler(processTracer(), { captureResponse: false }))
  .use(logMetrics(metrics));
