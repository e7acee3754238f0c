// Adapter: JobQueue and DeliveryQueue ports on SQS, plus what the consumers read from and do to a
// record: its send time and queue age, postponing it (retry backoff) and dead-lettering it.
import {
  ChangeMessageVisibilityCommand,
  SendMessageBatchCommand,
  SendMessageCommand,
  type MessageAttributeValue,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import type { DeliveryMessage, DeliveryQueue, JobMessage, JobQueue } from '../core/ports';
import { traceHeaderAttributes } from './tracing';

/** When the record was last sent (SQS SentTimestamp, ms since the epoch); undefined if SQS did not say. */
export function recordSentAt(record: { readonly attributes: { readonly SentTimestamp?: string } }): Date | undefined {
  const sentAt = Number(record.attributes.SentTimestamp);
  return Number.isFinite(sentAt) && sentAt > 0 ? new Date(sentAt) : undefined;
}

/**
 * Seconds the record waited in the queue before this receive, since its last send: the backlog-age
 * metric and the fair-share dwell. 0 without a send time, and never negative (clocks differ).
 */
export function queueAgeSeconds(record: { readonly attributes: { readonly SentTimestamp?: string } }, nowMs: number): number {
  const sentAt = recordSentAt(record);
  return sentAt ? Math.max(0, (nowMs - sentAt.getTime()) / 1000) : 0;
}

export class QueueSendError extends Error {
  override readonly name = 'QueueSendError';
}

/**
 * SendMessageBatch in groups of 10; entries SQS refused are retried, then reported.
 * groupIds[i] becomes message i's MessageGroupId: on a standard queue that is the tenant key of
 * SQS fair queues (AWS, July 2025: "Amazon SQS fair queues", SQS Developer Guide
 * sqs-fair-queues.html: "Fair queues identify tenants by the MessageGroupId property").
 */
export async function sendAll(
  sqs: SQSClient,
  queueUrl: string,
  bodies: readonly string[],
  groupIds?: readonly string[],
  /** Per message, the trace it continues; without one a message joins the sender's current trace. */
  traceHeaders?: readonly (string | undefined)[],
): Promise<void> {
  for (let start = 0; start < bodies.length; start += 10) {
    let entries = bodies.slice(start, start + 10).map((MessageBody, i) => ({
      Id: String(i),
      MessageBody,
      ...(groupIds?.[start + i] !== undefined ? { MessageGroupId: groupIds[start + i] } : {}),
      ...traceHeaderAttributes(traceHeaders?.[start + i]),
    }));
    for (let round = 0; entries.length > 0; round++) {
      const { Failed } = await sqs.send(new SendMessageBatchCommand({ QueueUrl: queueUrl, Entries: entries }));
      const failedIds = new Set((Failed ?? []).map((failure) => failure.Id));
      entries = entries.filter((entry) => failedIds.has(entry.Id));
      if (entries.length > 0 && round === 2) {
        const reasons = (Failed ?? []).map((f) => f.Code).join(', ');
        throw new QueueSendError(`SQS refused ${entries.length} messages after retries (${reasons})`);
      }
    }
  }
}

/** Job messages, each with the trace it continues when given (a record sent to the back of the queue keeps its job's trace). */
export const sendJobMessages = (sqs: SQSClient, queueUrl: string, messages: readonly JobMessage[], traceHeaders?: readonly (string | undefined)[]) =>
  sendAll(sqs, queueUrl, messages.map((m) => JSON.stringify(m)), messages.map((m) => m.tenant_id), traceHeaders);

export const createSqsJobQueue = (sqs: SQSClient, queueUrl: string): JobQueue => ({
  enqueueJobs: (messages: readonly JobMessage[]) => sendJobMessages(sqs, queueUrl, messages),
});

export const createSqsDeliveryQueue = (sqs: SQSClient, queueUrl: string): DeliveryQueue => ({
  enqueueDeliveries: (messages: readonly DeliveryMessage[]) =>
    sendAll(sqs, queueUrl, messages.map((m) => JSON.stringify(m)), messages.map((m) => m.tenant_id)),
});

/**
 * Hides a received message for `seconds`: the retry backoff, with no sleeping Lambda. The caller
 * keeps `seconds` within what is left of the 12 h SQS allows per receipt (ChangeMessageVisibility
 * above it is refused); this only clamps to the per-call range 0..43200.
 */
export async function postponeMessage(sqs: SQSClient, queueUrl: string, receiptHandle: string, seconds: number): Promise<void> {
  await sqs.send(
    new ChangeMessageVisibilityCommand({
      QueueUrl: queueUrl,
      ReceiptHandle: receiptHandle,
      VisibilityTimeout: Math.max(0, Math.min(43_200, Math.round(seconds))),
    }),
  );
}

/** Puts a copy of the message on its dead-letter queue with the reason; the caller then lets the original go. */
export async function deadLetterMessage(
  sqs: SQSClient,
  deadLetterQueueUrl: string,
  body: string,
  reason: string,
  detail: string,
): Promise<void> {
  const attribute = (value: string): MessageAttributeValue => ({ DataType: 'String', StringValue: value.slice(0, 1024) });
  await sqs.send(
    new SendMessageCommand({
      QueueUrl: deadLetterQueueUrl,
      MessageBody: body,
      MessageAttributes: { reason: attribute(reason), detail: attribute(detail || reason) },
    }),
  );
}
