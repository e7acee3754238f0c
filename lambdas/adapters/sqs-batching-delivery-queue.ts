// Adapter: a DeliveryQueue for the extractor that collects the webhook messages of one SQS batch
// and sends them together (SendMessageBatch, 10 per call) when the batch is done, instead of one
// call per job. Each message remembers the record that queued it (AsyncLocalStorage), so a message
// SQS refuses turns into a failure of that record: the record comes back, the use case finds its
// job finished and queues the same webhook again. Nothing is lost if the process dies before the
// flush either: the records are not deleted until the handler returns.
// Each invocation has its own buffer (begin): invocations that overlap in one process (the local
// stack's concurrent pollers, an abandoned timed-out one) must not flush each other's webhooks.
// With one shared buffer, an invocation whose webhooks another one had taken found nothing to
// send, returned, and had its records deleted while those webhooks were still unsent: a kill -9
// of `npm start` in that window left completed jobs with no message and no webhook, for good.
import { AsyncLocalStorage } from 'node:async_hooks';
import { SendMessageBatchCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { DeliveryMessage, DeliveryQueue } from '../core/ports';
import { currentTraceHeader, traceHeaderAttributes } from './tracing';

export interface BatchingDeliveryQueue {
  readonly queue: DeliveryQueue;
  /** Starts one invocation's buffer: only what its records queue is sent by its flush. */
  begin(): DeliveryBatch;
}

/** The webhooks of one invocation's SQS batch. */
export interface DeliveryBatch {
  /** Runs `work` on behalf of `owner` (a record's messageId): what it queues is sent at flush. */
  run<T>(owner: string, work: () => Promise<T>): Promise<T>;
  /**
   * Sends everything this batch's records queued since the last flush; resolves, once SQS has
   * answered for all of it, with the owners whose messages SQS did not take.
   */
  flush(): Promise<string[]>;
}

interface Pending {
  readonly owner: string;
  readonly message: DeliveryMessage;
  readonly traceHeader?: string | undefined;
}

const MAX_ROUNDS = 3;

export function createBatchingDeliveryQueue(sqs: SQSClient, queueUrl: string): BatchingDeliveryQueue {
  // The record running now and the buffer of the invocation it belongs to.
  const current = new AsyncLocalStorage<{ readonly owner: string; readonly pending: Pending[] }>();

  async function send(entries: ReadonlyArray<Omit<Pending, 'owner'> & { readonly owner: string | undefined }>): Promise<Set<string | undefined>> {
    const failedOwners = new Set<string | undefined>();
    if (entries.length === 0) return failedOwners;
    for (let start = 0; start < entries.length; start += 10) {
      const chunk = entries.slice(start, start + 10);
      let outstanding = chunk.map((entry, i) => ({
        Id: String(i),
        MessageBody: JSON.stringify(entry.message),
        // The tenant key of SQS fair queues (see sqs-queues.ts sendAll).
        MessageGroupId: entry.message.tenant_id,
        ...traceHeaderAttributes(entry.traceHeader),
      }));
      try {
        for (let round = 0; outstanding.length > 0 && round < MAX_ROUNDS; round++) {
          const { Failed } = await sqs.send(new SendMessageBatchCommand({ QueueUrl: queueUrl, Entries: outstanding }));
          const failed = new Set((Failed ?? []).map((f) => f.Id));
          outstanding = outstanding.filter((entry) => failed.has(entry.Id));
        }
      } catch {
        // Unknown which entries landed: fail them all; a duplicate webhook has the same webhook-id.
      }
      for (const entry of outstanding) failedOwners.add(chunk[Number(entry.Id)]!.owner);
    }
    return failedOwners;
  }

  return {
    queue: {
      async enqueueDeliveries(messages) {
        const record = current.getStore();
        // Outside a record (a direct call), send at once: nobody would flush.
        if (record === undefined) {
          const failed = await send(messages.map((message) => ({ owner: undefined, message })));
          if (failed.size > 0) throw new Error('SQS refused delivery messages after retries');
          return;
        }
        // The record's trace, read when queued: the flush runs outside every record's trace.
        const traceHeader = currentTraceHeader();
        record.pending.push(...messages.map((message) => ({ owner: record.owner, message, traceHeader })));
      },
    },
    begin() {
      const pending: Pending[] = [];
      return {
        run: (owner, work) => current.run({ owner, pending }, work),
        async flush() {
          const batch = pending.splice(0);
          if (batch.length === 0) return [];
          // Job events first, batch events after, in separate calls: a batch.completed keeps
          // arriving after its jobs' events as when each was sent on its own (SQS does not order).
          const failed = await send(batch.filter((entry) => entry.message.kind === 'job'));
          for (const owner of await send(batch.filter((entry) => entry.message.kind !== 'job'))) failed.add(owner);
          return [...failed].filter((owner): owner is string => owner !== undefined);
        },
      };
    },
  };
}
