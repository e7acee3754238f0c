// Handler: deliveries queue (SQS, partial batch failures) -> deliverEvent use case; and the
// one API route that signs on demand, POST /v1/webhooks/test -> sendTestWebhook.
// Turns the use case's decision into SQS actions: a retry hides the message for the
// schedule's delay (no sleeping Lambda), at most what is left of SQS's 12 h per receipt; a
// dead letter copies it, with its reason, to the DLQ. A thrown error is postponed the same way.
import middy from '@middy/core';
import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { captureLambdaHandler } from '@aws-lambda-powertools/tracer/middleware';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context, SQSEvent, SQSRecord } from 'aws-lambda';
import { callerTenant } from '../core/caller-tenant';
import { sendTestWebhook } from '../core/send-test-webhook';
import { failureResponse, jsonResponse, parseJson, readBody } from '../adapters/api-gateway';
import { deliverEvent, retryDelaySeconds, type DeliveryDecision } from '../core/deliver-event';
import { METRIC } from '../core/metric-names';
import { parseDeliveryMessage } from '../core/queue-messages';
import { BatchLog } from '../adapters/batch-log';
import { emitPoints } from '../adapters/observed-ports';
import { deadLetterMessage, postponeMessage } from '../adapters/sqs-queues';
import { inRecordTrace, recordTraceHeader, processTracer } from '../adapters/tracing';
import { buildCallbackDeps } from './wiring';

const logger = new Logger({ serviceName: 'metahook-callback' });
const { deps, sqs, deliveriesQueueUrl, deliveriesDlqUrl, webhookTest, metrics } = buildCallbackDeps(process.env);
const countOutcome = (outcome: string) => emitPoints(metrics, { outcome }, [[METRIC.deliveryOutcome, MetricUnit.Count, 1]]);
const settings = deps.settings.delivery;

export class DeliveryRetryScheduled extends Error {
  override readonly name = 'DeliveryRetryScheduled';
}

/**
 * How long this receipt may still hide the message: SQS refuses a ChangeMessageVisibility beyond
 * 12 h from the receive, so a longer wait is split; the early receive finds the attempt not yet
 * due (stored next_attempt_at) and postpones again without an attempt.
 */
const visibilityFor = (seconds: number, invokedAt: number) =>
  Math.max(0, Math.min(Math.ceil(seconds), Math.floor(settings.visibilityCapSeconds - (Date.now() - invokedAt) / 1000)));

async function processRecord(record: SQSRecord, invokedAt: number, batchLog: BatchLog): Promise<void> {
  // How long the record waited in the queue before this receive (SentTimestamp: the last send).
  metrics.addMetric(METRIC.backlogAge, MetricUnit.Seconds, Math.max(0, (Date.now() - Number(record.attributes.SentTimestamp ?? Date.now())) / 1000));
  const message = parseDeliveryMessage(record.body);
  if (!message) {
    logger.error('malformed delivery message dead-lettered', { messageId: record.messageId });
    await deadLetterMessage(sqs, deliveriesDlqUrl, record.body, 'malformed_message', 'not a delivery message');
    return;
  }
  const receiveCount = Number(record.attributes.ApproximateReceiveCount ?? '1');
  let decision: DeliveryDecision;
  try {
    decision = await deliverEvent(deps, message, { receiveCount });
  } catch (error) {
    // Any failure of ours (a DynamoDB read, the tenant lookup) is retried like a failed attempt:
    // postponed by its schedule step rather than left to the queue's visibility timeout.
    const detail = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    logger.error('delivery attempt errored', { error, eventId: message.event_id, receiveCount });
    metrics.addMetric(METRIC.deliveryErrored, MetricUnit.Count, 1);
    countOutcome('errored');
    if (receiveCount >= settings.maxReceiveCount) {
      metrics.addMetric(METRIC.deliveryDeadLettered, MetricUnit.Count, 1);
      await deadLetterMessage(sqs, deliveriesDlqUrl, record.body, 'handler_error', detail);
      return;
    }
    const delay = retryDelaySeconds(settings, receiveCount - 1, Math.random);
    await postponeMessage(sqs, deliveriesQueueUrl, record.receiptHandle, visibilityFor(delay, invokedAt));
    throw new DeliveryRetryScheduled(`delivery errored (${detail}); next try in ${delay}s`, { cause: error });
  }
  // The batch's line names every event; only attempts that did not deliver get a line of their own.
  if (decision.outcome === 'delivered') logger.debug('delivery attempt', { ...decision, eventId: message.event_id, tenantId: message.tenant_id });
  else logger.info('delivery attempt', { ...decision, eventId: message.event_id, tenantId: message.tenant_id });
  countOutcome(decision.outcome);
  batchLog.add(decision.outcome, message.event_id);
  if (decision.outcome === 'skipped') return;
  if (decision.outcome === 'wait') {
    await postponeMessage(sqs, deliveriesQueueUrl, record.receiptHandle, visibilityFor(decision.delaySeconds, invokedAt));
    throw new DeliveryRetryScheduled(`attempt not due for ${decision.delaySeconds}s`);
  }
  metrics.addMetric(METRIC.deliveryAttempt, MetricUnit.Count, 1);
  if (decision.outcome === 'delivered') return;
  metrics.addMetric(METRIC.deliveryFailed, MetricUnit.Count, 1);
  if (decision.outcome === 'dead_letter') {
    metrics.addMetric(METRIC.deliveryDeadLettered, MetricUnit.Count, 1);
    await deadLetterMessage(sqs, deliveriesDlqUrl, record.body, decision.reason, decision.error);
    return;
  }
  await postponeMessage(sqs, deliveriesQueueUrl, record.receiptHandle, visibilityFor(decision.delaySeconds, invokedAt));
  throw new DeliveryRetryScheduled(`attempt ${decision.attempt} failed (${decision.error}); next in ${decision.delaySeconds}s`);
}

/** Each record in its job's own trace (see adapters/tracing.ts: a batch mixes many traces). */
function traceRecord(record: SQSRecord, invokedAt: number, batchLog: BatchLog): Promise<void> {
  const message = parseDeliveryMessage(record.body);
  const annotations = {
    tenant_id: message?.tenant_id,
    job_id: message?.kind === 'job' ? message.job_id : undefined,
    batch_id: message?.kind === 'batch' ? message.batch_id : undefined,
    event_id: message?.event_id,
  };
  return inRecordTrace('metahook-callback', recordTraceHeader(record), annotations, () => processRecord(record, invokedAt, batchLog));
}

export const handleDeliveryMessages = async (event: SQSEvent, context: Context) => {
  const invokedAt = Date.now();
  const batchLog = new BatchLog();
  // A batch where every record failed is still a normal outcome (retries were scheduled):
  // report it item by item instead of throwing, so the Errors metric means real errors.
  // A processor per invocation: BatchProcessor keeps the batch's successes and failures as state,
  // and invocations that overlap in one process (the local stack's concurrent pollers, or an
  // abandoned timed-out one) would report each other's records.
  const processor = new BatchProcessor(EventType.SQS);
  const response = await processPartialResponse(event, (record: SQSRecord) => traceRecord(record, invokedAt, batchLog), processor, {
    context,
    throwOnFullBatchFailure: false,
  });
  batchLog.write(logger, 'delivery messages processed');
  return response;
};

/**
 * POST /v1/webhooks/test (API Gateway REST proxy) -> sendTestWebhook. Served by this function
 * because it signs with the tenant's secret, which only the callback's role may open.
 */
export async function handleWebhookTest(event: APIGatewayProxyEvent): Promise<APIGatewayProxyResult> {
  const requestId = event.requestContext.requestId;
  try {
    const tenant = await callerTenant(deps.tenants, event.requestContext.identity?.apiKeyId);
    const result = await sendTestWebhook(webhookTest, tenant.tenant_id, parseJson(readBody(event, deps.settings.api.maxBodyBytes)));
    // No URL and no headers in the log: both may carry the receiver's credentials.
    logger.info('webhook test sent', { tenantId: tenant.tenant_id, eventId: result.event_id, delivered: result.delivered, errorClass: result.error_class });
    return jsonResponse(200, result, requestId);
  } catch (error) {
    return failureResponse(error, requestId, (unexpected) => logger.error('webhook test failed', { error: unexpected }));
  }
}

const isApiEvent = (event: SQSEvent | APIGatewayProxyEvent): event is APIGatewayProxyEvent => 'httpMethod' in event;

export const handler = middy<SQSEvent | APIGatewayProxyEvent, unknown>(async (event: SQSEvent | APIGatewayProxyEvent, context: Context) =>
  isApiEvent(event) ? handleWebhookTest(event) : handleDeliveryMessages(event, context),
)
  .use(injectLambdaContext(logger))
  .use(captureLambdaHandler(processTracer(), { captureResponse: false }))
  .use(logMetrics(metrics));
