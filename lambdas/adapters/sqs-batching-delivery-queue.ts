// Adapter: a DeliveryQueue for the extractor that collects the webhook messages of one SQS batch
// and sends them together (SendMessageBatch, 10 per call) when the batch is done, instead of one
// call per job. Each message remembers the record that queued it (AsyncLocalStorage), so a message
// SQS refuses turns into a failure of that record: the record comes back, the use case finds its
// job finished and queues the same webhook again (on its last receive the handler hands them to the
// sweeper instead: JobLifecycle.deferAnnouncement). Nothing is lost if the process dies before the
// flush either: the records are not deleted until the handler returns.
// Invocations that overlap in one process (the local stack's concurrent pollers, an abandoned
// timed-out one) share the queue, so one flush sends every webhook queued so far, job events
// before batch events (a batch.completed still follows the job events it counts). But each
// invocation's flush resolves only once SQS has answered for *its own* records' webhooks, whoever
// sent them, and reports only its own failures. Before, an invocation whose webhooks another had
// taken found nothing to send, returned, and had its records deleted while those webhooks were
// still unsent: a kill -9 of `npm start` in that window left completed jobs with no message and no
// webhook, for good (and a refused send was reported by an invocation that did not own it).
// A record the handler gives up on (dead-lettered on its last receive, out of time) may still
// finish its job after its invocation's flush: from then on what it queues is sent at once, as
// outside a record, instead of waiting in the queue for a flush that may never come.
import { AsyncLocalStorage } from 'node:async_hooks';
import { SendMessageBatchCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { DeliveryMessage, DeliveryQueue } from '../core/ports';
import { currentTraceHeader, traceHeaderAttributes } from './tracing';

export interface BatchingDeliveryQueue {
  readonly queue: DeliveryQueue;
  /** Starts one invocation's batch: its flush waits for, and reports on, its own records' webhooks. */
  begin(): DeliveryBatch;
}

/** The webhooks of one invocation's SQS batch. */
export interface DeliveryBatch {
  /**
   * Runs `work` on behalf of `owner` (a record's messageId): what it queues is sent at flush, or
   * at once after `abandoned` aborts (what it queued before is still this batch's).
   */
  run<T>(owner: string, work: () => Promise<T>, abandoned?: AbortSignal): Promise<T>;
  /**
   * Sends everything queued so far and resolves once SQS has answered for every webhook this
   * batch's records queued (another invocation's flush may be sending some), with the owners whose
   * messages SQS did not take, and those owners' messages. Past `withinMs` (the invocation's time
   * left, less what the caller needs after) it stops waiting and counts every message not yet
   * confirmed as not taken, so a hung call ends in the caller's failure path, not the timeout.
   */
  flush(withinMs?: number): Promise<Undelivered[]>;
}

/** A record whose webhook messages SQS did not take (or may not have: same webhook-ids if sent again). */
export interface Undelivered {
  readonly owner: string;
  readonly messages: readonly DeliveryMessage[];
}

interface Pending {
  readonly owner: string | undefined;
  readonly message: DeliveryMessage;
  readonly traceHeader?: string | undefined;
  /** Settles with whether SQS took the message. */
  readonly taken: Promise<boolean>;
  settle(taken: boolean): void;
}

const MAX_ROUNDS = 3;

function pendingEntry(owner: string | undefined, message: DeliveryMessage, traceHeader?: string): Pending {
  let settle!: (taken: boolean) => void;
  const taken = new Promise<boolean>((resolve) => (settle = resolve));
  return { owner, message, traceHeader, taken, settle };
}

export function createBatchingDeliveryQueue(sqs: SQSClient, queueUrl: string): BatchingDeliveryQueue {
  // The record running now and the entries of the invocation it belongs to.
  const current = new AsyncLocalStorage<{ readonly owner: string; readonly mine: Pending[]; readonly abandoned: AbortSignal | undefined }>();
  // Queued by any invocation, not yet taken by a flush.
  let pending: Pending[] = [];

  /** Sends the entries, settling each one (never left unsettled: a waiting flush would hang). */
  async function send(entries: readonly Pending[]): Promise<void> {
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
      const refused = new Set(outstanding.map((entry) => Number(entry.Id)));
      chunk.forEach((entry, i) => entry.settle(!refused.has(i)));
    }
  }

  /** Everything queued so far: job events first, batch events after, in separate calls (SQS does not order). */
  async function sendPending(): Promise<void> {
    const batch = pending;
    pending = [];
    await send(batch.filter((entry) => entry.message.kind === 'job'));
    await send(batch.filter((entry) => entry.message.kind !== 'job'));
  }

  return {
    queue: {
      async enqueueDeliveries(messages) {
        const record = current.getStore();
        // Outside a record (a direct call) or abandoned by it, send at once: nobody would flush.
        if (record === undefined || record.abandoned?.aborted) {
          const entries = messages.map((message) => pendingEntry(undefined, message));
          await send(entries);
          if ((await Promise.all(entries.map((entry) => entry.taken))).includes(false)) {
            throw new Error('SQS refused delivery messages after retries');
          }
          return;
        }
        // The record's trace, read when queued: the flush runs outside every record's trace.
        const traceHeader = currentTraceHeader();
        const entries = messages.map((message) => pendingEntry(record.owner, message, traceHeader));
        pending.push(...entries);
        record.mine.push(...entries);
      },
    },
    begin() {
      const mine: Pending[] = [];
      return {
        run: (owner, work, abandoned) => current.run({ owner, mine, abandoned }, work),
        async flush(withinMs) {
          const own = mine.splice(0);
          if (own.length === 0) return [];
          const allAnswered = sendPending().then(() => Promise.all(own.map((entry) => entry.taken)));
          let timer: NodeJS.Timeout | undefined;
          const taken = withinMs === undefined || withinMs <= 0
            ? await allAnswered
            : await Promise.race([
              allAnswered,
              // Unknown what landed: every owner counts as not taken (a repeat carries the same webhook-ids).
              new Promise<boolean[]>((resolve) => {
                timer = setTimeout(() => resolve(own.map(() => false)), withinMs);
              }),
            ]).finally(() => clearTimeout(timer));
          const refusedOwners = new Set(own.filter((_, i) => !taken[i]).map((entry) => entry.owner!));
          return [...refusedOwners].map((owner) => ({
            owner,
            messages: own.filter((entry) => entry.owner === owner).map((entry) => entry.message),
          }));
        },
      };
    },
  };
}
