// Handler: deliveries queue (SQS, partial batch failures) -> deliverEvent use case.
// Turns the use case's decision into SQS actions: a retry hides the message for the
// schedule's delay (no sleeping Lambda); a dead letter copies it, with its reason, to the DLQ.
import middy from '@middy/core';
import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import type { Context, SQSEvent, SQSRecord } from 'aws-lambda';
import { deliverEvent } from '../core/deliver-event';
import { parseDeliveryMessage } from '../core/queue-messages';
import { deadLetterMessage, postponeMessage } from '../adapters/sqs-queues';
import { buildCallbackDeps } from './wiring';

const logger = new Logger({ serviceName: 'metahook-callback' });
const metrics = new Metrics({ namespace: 'Metahook', serviceName: 'callback' });
const { deps, sqs, deliveriesQueueUrl, deliveriesDlqUrl } = buildCallbackDeps(process.env);
const processor = new BatchProcessor(EventType.SQS);

export class DeliveryRetryScheduled extends Error {
  override readonly name = 'DeliveryRetryScheduled';
}

async function processRecord(record: SQSRecord): Promise<void> {
  const message = parseDeliveryMessage(record.body);
  if (!message) {
    logger.error('malformed delivery message dead-lettered', { messageId: record.messageId });
    await deadLetterMessage(sqs, deliveriesDlqUrl, record.body, 'malformed_message', 'not a delivery message');
    return;
  }
  const receiveCount = Number(record.attributes.ApproximateReceiveCount ?? '1');
  const decision = await deliverEvent(deps, message, { receiveCount });
  logger.info('delivery attempt', { ...decision, eventId: message.event_id, tenantId: message.tenant_id });
  if (decision.outcome === 'skipped') return;
  metrics.addMetric('DeliveryAttempt', MetricUnit.Count, 1);
  if (decision.outcome === 'delivered') return;
  metrics.addMetric('DeliveryFailed', MetricUnit.Count, 1);
  if (decision.outcome === 'dead_letter') {
    metrics.addMetric('DeliveryDeadLettered', MetricUnit.Count, 1);
    await deadLetterMessage(sqs, deliveriesDlqUrl, record.body, decision.reason, decision.error);
    return;
  }
  await postponeMessage(sqs, deliveriesQueueUrl, record.receiptHandle, decision.delaySeconds);
  throw new DeliveryRetryScheduled(`attempt ${decision.attempt} failed (${decision.error}); next in ${decision.delaySeconds}s`);
}

export const handleDeliveryMessages = (event: SQSEvent, context: Context) =>
  // A batch where every record failed is still a normal outcome (retries were scheduled):
  // report it item by item instead of throwing, so the Errors metric means real errors.
  processPartialResponse(event, processRecord, processor, { context, throwOnFullBatchFailure: false });

export const handler = middy(handleDeliveryMessages).use(injectLambdaContext(logger)).use(logMetrics(metrics));
