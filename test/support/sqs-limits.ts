// Test support: the SQS limits fauxqs does not check, enforced on every SQS call in the process
// (through aws-intercept.ts). A call AWS would refuse fails here with the error SQS returns, so a
// local test fails on code that would break on AWS. Sources, Amazon SQS API Reference / Developer Guide:
// - ChangeMessageVisibility: "The maximum allowed timeout value you can set the value to is 12 hours.
//   This means you can't extend the timeout of a message in an existing queue to more than a total
//   visibility timeout of 12 hours" ... "If you attempt to set the VisibilityTimeout to an amount more
//   than the maximum time left, Amazon SQS returns an error." The 12 hours count from the receive
//   that issued the receipt handle, so we record the time of each receipt.
// - Batch actions (SendMessageBatch, DeleteMessageBatch, ChangeMessageVisibilityBatch): at most 10
//   entries (quotas-messages, "Message batch"); ReceiveMessage MaxNumberOfMessages 1..10.
// - Message size: the queue attribute MaximumMessageSize, 1,024 to 1,048,576 bytes (1 MiB, the limit
//   raised in 2025), default 262,144 (256 KiB). Our queues keep the default, so 256 KiB here; a batch's
//   total payload has the same cap. The size counts the body and the message attributes' names,
//   types and values.
// - DelaySeconds: 0 to 900 (15 minutes), on SendMessage and on each batch entry.
import { intercept } from './aws-intercept';

export const SQS_LIMITS = {
  maxTotalVisibilitySeconds: 43_200,
  maxBatchEntries: 10,
  maxMessageBytes: 262_144,
  maxDelaySeconds: 900,
} as const;

/** The error shape the SDK surfaces for an SQS client-side (4xx) refusal. */
export class SqsLimitError extends Error {
  readonly $fault = 'client';
  readonly $metadata = { httpStatusCode: 400, attempts: 1 };
  constructor(
    override readonly name: string,
    message: string,
  ) {
    super(message);
  }
}

export interface SqsLimits {
  /** Calls refused, in order ("ChangeMessageVisibility: ..."), for assertions. */
  readonly violations: string[];
  /** Moves the clock the visibility check uses forward (simulated time since each receipt). */
  advance(seconds: number): void;
  stop(): void;
}

const messageBytes = (body: string | undefined, attributes: Record<string, any> | undefined) => {
  let size = Buffer.byteLength(body ?? '');
  for (const [name, value] of Object.entries(attributes ?? {})) {
    size += Buffer.byteLength(name) + Buffer.byteLength(String(value?.DataType ?? ''));
    size += value?.StringValue !== undefined ? Buffer.byteLength(String(value.StringValue)) : (value?.BinaryValue?.length ?? 0);
  }
  return size;
};

export function enforceSqsLimits(options: { readonly now?: () => number } = {}): SqsLimits {
  let offsetMs = 0;
  const now = () => (options.now ?? Date.now)() + offsetMs;
  const receivedAt = new Map<string, number>();
  const violations: string[] = [];
  const refuse = (operation: string, code: string, message: string): never => {
    violations.push(`${operation}: ${message}`);
    throw new SqsLimitError(code, message);
  };

  const checkVisibility = (operation: string, handle: string, seconds: number) => {
    if (!Number.isInteger(seconds) || seconds < 0 || seconds > SQS_LIMITS.maxTotalVisibilitySeconds) {
      refuse(operation, 'InvalidParameterValue', `VisibilityTimeout ${seconds} is outside 0..43200`);
    }
    const since = receivedAt.get(handle);
    if (since === undefined) return;
    const leftSeconds = SQS_LIMITS.maxTotalVisibilitySeconds - (now() - since) / 1000;
    if (seconds > leftSeconds) {
      refuse(
        operation,
        'InvalidParameterValue',
        `Value ${seconds} for parameter VisibilityTimeout is invalid. Reason: Total VisibilityTimeout for the message is beyond the limit [43200 seconds] (${Math.floor(leftSeconds)} s left since receipt)`,
      );
    }
  };
  const checkBatch = (operation: string, entries: readonly unknown[] | undefined) => {
    if ((entries?.length ?? 0) > SQS_LIMITS.maxBatchEntries) {
      refuse(operation, 'TooManyEntriesInBatchRequest', `${entries!.length} entries; at most 10 per batch`);
    }
  };
  const checkDelay = (operation: string, delay: number | undefined) => {
    if (delay !== undefined && (delay < 0 || delay > SQS_LIMITS.maxDelaySeconds)) {
      refuse(operation, 'InvalidParameterValue', `DelaySeconds ${delay} is outside 0..900`);
    }
  };
  const checkSize = (operation: string, bytes: number) => {
    if (bytes > SQS_LIMITS.maxMessageBytes) {
      refuse(operation, operation === 'SendMessageBatch' ? 'BatchRequestTooLong' : 'InvalidParameterValue', `payload of ${bytes} bytes exceeds 262144`);
    }
  };

  const stop = intercept(async (call, next) => {
    if (call.service !== 'SQS') return next();
    const input = call.input;
    switch (call.operation) {
      case 'ReceiveMessage': {
        const max = input.MaxNumberOfMessages ?? 1;
        if (max < 1 || max > SQS_LIMITS.maxBatchEntries) refuse('ReceiveMessage', 'InvalidParameterValue', `MaxNumberOfMessages ${max} is outside 1..10`);
        const result = await next();
        const at = now();
        for (const message of result?.output?.Messages ?? []) if (message.ReceiptHandle) receivedAt.set(message.ReceiptHandle, at);
        return result;
      }
      case 'ChangeMessageVisibility':
        checkVisibility('ChangeMessageVisibility', input.ReceiptHandle, input.VisibilityTimeout);
        return next();
      case 'ChangeMessageVisibilityBatch':
        checkBatch('ChangeMessageVisibilityBatch', input.Entries);
        for (const entry of input.Entries ?? []) checkVisibility('ChangeMessageVisibilityBatch', entry.ReceiptHandle, entry.VisibilityTimeout);
        return next();
      case 'DeleteMessageBatch':
        checkBatch('DeleteMessageBatch', input.Entries);
        return next();
      case 'SendMessage':
        checkDelay('SendMessage', input.DelaySeconds);
        checkSize('SendMessage', messageBytes(input.MessageBody, input.MessageAttributes));
        return next();
      case 'SendMessageBatch': {
        checkBatch('SendMessageBatch', input.Entries);
        let total = 0;
        for (const entry of input.Entries ?? []) {
          checkDelay('SendMessageBatch', entry.DelaySeconds);
          const bytes = messageBytes(entry.MessageBody, entry.MessageAttributes);
          checkSize('SendMessage', bytes);
          total += bytes;
        }
        checkSize('SendMessageBatch', total);
        return next();
      }
      default:
        return next();
    }
  });
  return { violations, advance: (seconds) => void (offsetMs += seconds * 1000), stop };
}
