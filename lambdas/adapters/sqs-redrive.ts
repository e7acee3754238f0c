// Adapter: the operator's redrive (cli/ redrive ...) -> SQS. Moves dead-lettered messages back
// to their source queue with receive -> send -> delete, which works on AWS and on the local
// emulator alike (fauxqs has no StartMessageMoveTask). Send before delete: a crash in between
// leaves a duplicate (consumers are idempotent), never a lost message.
import {
  ChangeMessageVisibilityBatchCommand,
  DeleteMessageCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
  type Message,
  type MessageAttributeValue,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import { parseDeliveryMessage, parseJobMessage } from '../core/queue-messages';

export type RedriveQueueKind = 'jobs' | 'deliveries';

export interface RedriveFilter {
  readonly tenantId?: string;
  readonly jobId?: string;
}

export interface RedriveOptions {
  readonly kind: RedriveQueueKind;
  readonly deadLetterQueueUrl: string;
  readonly sourceQueueUrl: string;
  readonly filter?: RedriveFilter;
  /** List what would move; change nothing. */
  readonly dryRun?: boolean;
  /** Move (or list) at most this many. @default no limit */
  readonly max?: number;
  /**
   * How long a looked-at message stays hidden while the run goes on, so one run never sees it
   * twice; released (visibility 0) at the end. @default 60
   */
  readonly holdSeconds?: number;
  /** Long-poll wait per receive: on AWS a short poll may miss messages. @default 1 */
  readonly waitTimeSeconds?: number;
}

export interface DeadLetteredMessage {
  readonly messageId: string;
  readonly tenantId: string | null;
  readonly jobId: string | null;
  readonly batchId: string | null;
  /** The webhook-id, for delivery messages. */
  readonly eventId: string | null;
  /** Why it was dead-lettered (message attribute `reason`); null when SQS moved it after maxReceiveCount. */
  readonly reason: string | null;
  readonly detail: string | null;
  readonly sentAt: string | null;
}

export interface RedriveReport {
  /** Moved back to the source queue (or, in a dry run, would be). */
  readonly matched: DeadLetteredMessage[];
  /** Looked at and left in the dead-letter queue: not matching the filter, or over --max. */
  readonly leftInPlace: number;
  readonly dryRun: boolean;
}

/** Attributes our consumers set when dead-lettering; a redriven message starts clean. */
const DEAD_LETTER_ATTRIBUTES = new Set(['reason', 'detail']);

export function describeDeadLetter(kind: RedriveQueueKind, message: Message): DeadLetteredMessage {
  const body = message.Body ?? '';
  const attribute = (name: string) => message.MessageAttributes?.[name]?.StringValue ?? null;
  const sent = message.Attributes?.SentTimestamp;
  const base = {
    messageId: message.MessageId ?? '',
    reason: attribute('reason'),
    detail: attribute('detail'),
    sentAt: sent ? new Date(Number(sent)).toISOString() : null,
  };
  if (kind === 'jobs') {
    const parsed = parseJobMessage(body);
    return { ...base, tenantId: parsed?.tenant_id ?? null, jobId: parsed?.job_id ?? null, batchId: null, eventId: null };
  }
  const parsed = parseDeliveryMessage(body);
  return {
    ...base,
    tenantId: parsed?.tenant_id ?? null,
    jobId: parsed?.kind === 'job' ? parsed.job_id : null,
    batchId: parsed?.kind === 'batch' ? parsed.batch_id : null,
    eventId: parsed?.event_id ?? null,
  };
}

export function matchesFilter(message: DeadLetteredMessage, filter: RedriveFilter): boolean {
  if (filter.tenantId !== undefined && message.tenantId !== filter.tenantId) return false;
  if (filter.jobId !== undefined && message.jobId !== filter.jobId) return false;
  return true;
}

/**
 * Receives every message of the dead-letter queue once, moves the matching ones back to the
 * source queue (unless dryRun) and releases the rest untouched.
 */
export async function redriveDeadLetters(sqs: SQSClient, options: RedriveOptions): Promise<RedriveReport> {
  const filter = options.filter ?? {};
  const max = options.max ?? Infinity;
  const dryRun = options.dryRun ?? false;
  const seen = new Set<string>();
  const held: Message[] = [];
  const matched: DeadLetteredMessage[] = [];
  try {
    while (matched.length < max) {
      const { Messages = [] } = await sqs.send(
        new ReceiveMessageCommand({
          QueueUrl: options.deadLetterQueueUrl,
          MaxNumberOfMessages: 10,
          VisibilityTimeout: options.holdSeconds ?? 60,
          WaitTimeSeconds: options.waitTimeSeconds ?? 1,
          MessageAttributeNames: ['All'],
          MessageSystemAttributeNames: ['SentTimestamp'],
        }),
      );
      // A message seen before means a very long run outlived the hold: hold it again, skip it.
      const fresh = Messages.filter((message) => !seen.has(message.MessageId!));
      held.push(...Messages.filter((message) => seen.has(message.MessageId!)));
      if (fresh.length === 0) break; // empty, or everything already looked at: done
      for (const message of fresh) {
        seen.add(message.MessageId!);
        const described = describeDeadLetter(options.kind, message);
        const wanted = matched.length < max && matchesFilter(described, filter);
        if (wanted) matched.push(described);
        if (wanted && !dryRun) await moveBack(sqs, options, message);
        else held.push(message);
      }
    }
  } finally {
    await release(sqs, options.deadLetterQueueUrl, held);
  }
  return { matched, leftInPlace: seen.size - (dryRun ? 0 : matched.length), dryRun };
}

async function moveBack(sqs: SQSClient, options: RedriveOptions, message: Message): Promise<void> {
  const attributes = Object.fromEntries(
    Object.entries(message.MessageAttributes ?? {}).filter(([name]) => !DEAD_LETTER_ATTRIBUTES.has(name)),
  ) as Record<string, MessageAttributeValue>;
  await sqs.send(
    new SendMessageCommand({
      QueueUrl: options.sourceQueueUrl,
      MessageBody: message.Body ?? '',
      ...(Object.keys(attributes).length > 0 ? { MessageAttributes: attributes } : {}),
    }),
  );
  await sqs.send(new DeleteMessageCommand({ QueueUrl: options.deadLetterQueueUrl, ReceiptHandle: message.ReceiptHandle! }));
}

/** Makes held messages visible again at once, so the next consumer or run sees them. */
async function release(sqs: SQSClient, queueUrl: string, messages: readonly Message[]): Promise<void> {
  for (let start = 0; start < messages.length; start += 10) {
    const entries = messages
      .slice(start, start + 10)
      .map((message, i) => ({ Id: String(i), ReceiptHandle: message.ReceiptHandle!, VisibilityTimeout: 0 }));
    await sqs.send(new ChangeMessageVisibilityBatchCommand({ QueueUrl: queueUrl, Entries: entries }));
  }
}
