// Adapter: a DeliveryQueue for the extractor that collects the webhook messages of one SQS batch
// and sends them together (SendMessageBatch, 10 per call) when the batch is done, instead of one
// call per job. Each message remembers the record that queued it (AsyncLocalStorage), so a message
// SQS refuses turns into a failure of that record: the record comes back, the use case finds its
// job finished and queues the same webhook again (on its last receive the handler hands them to the
// sweeper instead: JobLifecycle.deferAnnouncement). Nothing is lost if the process dies before the
// flush either: the records are not deleted until the handler returns.
import { AsyncLocalStorage } from 'node:async_hooks';
import { SendMessageBatchCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { DeliveryMessage, DeliveryQueue } from '../core/ports';
import { currentTraceHeader, traceHeaderAttributes } from './tracing';

export interface BatchingDeliveryQueue {
  readonly queue: DeliveryQueue;
  /** Runs `work` on behalf of `owner` (a record's messageId): what it queues is sent at flush. */
  run<T>(owner: string, work: () => Promise<T>): Promise<T>;
  /**
   * Sends everything queued since the last flush; resolves with the owners whose messages SQS did
   * not take, and those messages. Past `withinMs` (the invocation's time left, less what the caller
   * needs after) it stops waiting and counts everything not yet confirmed as not taken, so a hung
   * call ends in the caller's failure path instead of the function's timeout.
   */
  flush(withinMs?: number): Promise<Undelivered[]>;
}

/** A record whose webhook messages SQS did not take (or may not have: same webhook-ids if sent again). */
export interface Undelivered {
  readonly owner: string;
  readonly messages: readonly DeliveryMessage[];
}

const MAX_ROUNDS = 3;

export function createBatchingDeliveryQueue(sqs: SQSClient, queueUrl: string): BatchingDeliveryQueue {
  const owners = new AsyncLocalStorage<string>();
  // traceHeader: the record's trace, read when queued: the flush runs outside every record's trace.
  let pending: Array<{ owner: string | undefined; message: DeliveryMessage; traceHeader?: string | undefined }> = [];

  async function send(entries: typeof pending): Promise<Set<string | undefined>> {
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
        const owner = owners.getStore();
        // Outside a record (a direct call), send at once: nobody would flush.
        if (owner === undefined) {
          const failed = await send(messages.map((message) => ({ owner: undefined, message })));
          if (failed.size > 0) throw new Error('SQS refused delivery messages after retries');
          return;
        }
        const traceHeader = currentTraceHeader();
        pending.push(...messages.map((message) => ({ owner, message, traceHeader })));
      },
    },
    run: (owner, work) => owners.run(owner, work),
    async flush(withinMs) {
      const batch = pending;
      pending = [];
      if (batch.length === 0) return [];
      const sendAll = async () => {
        // Job events first, batch events after, in separate calls: a batch.completed keeps
        // arriving after its jobs' events as when each was sent on its own (SQS does not order).
        const failed = await send(batch.filter((entry) => entry.message.kind === 'job'));
        for (const owner of await send(batch.filter((entry) => entry.message.kind !== 'job'))) failed.add(owner);
        return failed;
      };
      let timer: NodeJS.Timeout | undefined;
      const failed = withinMs === undefined || withinMs <= 0
        ? await sendAll()
        : await Promise.race([
          sendAll(),
          // Unknown what landed: every owner counts as failed (a repeat carries the same webhook-ids).
          new Promise<Set<string | undefined>>((resolve) => {
            timer = setTimeout(() => resolve(new Set(batch.map((entry) => entry.owner))), withinMs);
          }),
        ]).finally(() => clearTimeout(timer));
      return [...failed]
        .filter((owner): owner is string => owner !== undefined)
        .map((owner) => ({ owner, messages: batch.filter((entry) => entry.owner === owner).map((entry) => entry.message) }));
    },
  };
}
