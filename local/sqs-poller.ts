// Local stack: the SQS event source mapping. Long-polls a queue, hands the handler a real
// SQSEvent batch, deletes the records it did not report in batchItemFailures and leaves
// the rest to reappear after their visibility timeout (which the handlers may change).
import { randomUUID } from 'node:crypto';
import {
  ChangeMessageVisibilityCommand,
  DeleteMessageBatchCommand,
  ReceiveMessageCommand,
  type Message,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { fakeLambdaContext } from './lambda-context';
import { InvocationTimeout, invokeWithTimeout } from './invocation-scope';

export type SqsHandler = (event: SQSEvent, context: Context) => Promise<SQSBatchResponse | void>;

export interface PollerOptions {
  readonly sqs: SQSClient;
  readonly queueUrl: string;
  readonly queueArn: string;
  readonly functionName: string;
  readonly handler: SqsHandler;
  readonly batchSize: number;
  /** Concurrent invocations, like the event source's maxConcurrency. */
  readonly concurrency: number;
  readonly waitTimeSeconds?: number;
  /** The function timeout: an invocation still running then is abandoned, as Lambda ends it. */
  readonly timeoutMs?: number;
  /**
   * Local time compression: after a timed-out invocation, make its records visible again after
   * this many seconds instead of waiting out the queue's visibility timeout (tests only).
   */
  readonly visibilityAfterTimeoutSeconds?: number;
  readonly onError?: (error: unknown) => void;
}

export interface Poller {
  stop(): Promise<void>;
}

function toRecord(message: Message, queueArn: string): SQSRecord {
  const attributes = message.Attributes ?? {};
  return {
    messageId: message.MessageId!,
    receiptHandle: message.ReceiptHandle!,
    body: message.Body ?? '',
    attributes: {
      ApproximateReceiveCount: attributes.ApproximateReceiveCount ?? '1',
      SentTimestamp: attributes.SentTimestamp ?? String(Date.now()),
      SenderId: attributes.SenderId ?? 'local',
      ApproximateFirstReceiveTimestamp: attributes.ApproximateFirstReceiveTimestamp ?? String(Date.now()),
    },
    messageAttributes: Object.fromEntries(
      Object.entries(message.MessageAttributes ?? {}).map(([name, value]) => [
        name,
        { dataType: value.DataType ?? 'String', stringValue: value.StringValue, stringListValues: [], binaryListValues: [] },
      ]),
    ),
    md5OfBody: message.MD5OfBody ?? '',
    eventSource: 'aws:sqs',
    eventSourceARN: queueArn,
    awsRegion: 'us-east-1',
  };
}

export function startPoller(options: PollerOptions): Poller {
  const abort = new AbortController();
  const onError = options.onError ?? ((error: unknown) => console.error(`[${options.functionName}]`, error));

  async function pollOnce(): Promise<void> {
    const { Messages } = await options.sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: options.queueUrl,
        MaxNumberOfMessages: options.batchSize,
        WaitTimeSeconds: options.waitTimeSeconds ?? 2,
        MessageSystemAttributeNames: ['All'],
        MessageAttributeNames: ['All'],
      }),
      { abortSignal: abort.signal },
    );
    if (!Messages || Messages.length === 0) return;
    const records = Messages.map((message) => toRecord(message, options.queueArn));
    let failed = new Set<string>();
    const requestId = randomUUID();
    const timeoutMs = options.timeoutMs ?? 60_000;
    try {
      const response = await invokeWithTimeout({ functionName: options.functionName, requestId }, timeoutMs, () =>
        options.handler({ Records: records }, fakeLambdaContext(options.functionName, requestId, timeoutMs)),
      );
      failed = new Set((response?.batchItemFailures ?? []).map((failure) => failure.itemIdentifier));
    } catch (error) {
      // A thrown handler fails the whole batch, as with Lambda.
      onError(error);
      if (error instanceof InvocationTimeout && options.visibilityAfterTimeoutSeconds !== undefined) {
        await Promise.allSettled(
          records.map((record) =>
            options.sqs.send(
              new ChangeMessageVisibilityCommand({
                QueueUrl: options.queueUrl,
                ReceiptHandle: record.receiptHandle,
                VisibilityTimeout: options.visibilityAfterTimeoutSeconds,
              }),
            ),
          ),
        );
      }
      return;
    }
    const done = records.filter((record) => !failed.has(record.messageId));
    if (done.length === 0) return;
    await options.sqs.send(
      new DeleteMessageBatchCommand({
        QueueUrl: options.queueUrl,
        Entries: done.map((record, i) => ({ Id: String(i), ReceiptHandle: record.receiptHandle })),
      }),
    );
  }

  async function loop(): Promise<void> {
    while (!abort.signal.aborted) {
      try {
        await pollOnce();
      } catch (error) {
        if (abort.signal.aborted) return;
        onError(error);
        await new Promise((resolve) => setTimeout(resolve, 500));
      }
    }
  }

  const loops = Array.from({ length: options.concurrency }, () => loop());
  return {
    async stop() {
      abort.abort();
      await Promise.allSettled(loops);
    },
  };
}
