// Adapter: BatchProgressStore port on DynamoDB. The batch item is written once (it holds the
// metadata and job ids); everything that changes lives on the batch's small progress item
// (keys.batchProgress): one slot per job, set to its terminal status (idempotent, and the item
// never grows, so each update is 1 WCU), the batch.completed claim and its delivery summary.
import { GetCommand, QueryCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { BatchProgress, BatchProgressStore } from '../../core/ports';
import { countsOfSlots, neverWrittenSlots, SLOT_CODES, toBatchRecord } from './item-records';
import { conditionally, isConditionalCheckFailed, keys } from './keys';

/** One finished job of a batch: its slot and terminal status. */
export interface FinishedSlot {
  readonly slot: number;
  readonly status: 'completed' | 'failed' | 'cancelled';
}

/** The port plus a write of several of one batch's jobs at once (the extractor gathers an invocation's). */
export interface DynamoBatchProgress extends BatchProgressStore {
  recordSlots(tenantId: string, batchId: string, finished: readonly FinishedSlot[]): Promise<BatchProgress>;
}

export function createDynamoBatchProgress(db: DynamoDBDocumentClient, options: { readonly tableName: string }): DynamoBatchProgress {
  const TableName = options.tableName;

  async function recordSlots(tenantId: string, batchId: string, finished: readonly FinishedSlot[]): Promise<BatchProgress> {
    // One SET per slot; a slot named twice would overlap paths, and it holds one status anyway.
    const unique = [...new Map(finished.map((entry) => [entry.slot, entry])).values()];
    for (const { slot } of unique) if (!Number.isInteger(slot) || slot < 0) throw new RangeError(`invalid batch slot ${slot}`);
    const values: Record<string, unknown> = { ':index': Math.max(...unique.map((entry) => entry.slot)) };
    unique.forEach((entry, i) => (values[`:s${i}`] = SLOT_CODES[entry.status]));
    const { Attributes } = await db.send(
      new UpdateCommand({
        TableName,
        Key: keys.batchProgress(tenantId, batchId),
        // Setting a slot is idempotent: recording the same job twice counts it once.
        UpdateExpression: `SET ${unique.map((entry, i) => `slots[${entry.slot}] = :s${i}`).join(', ')}`,
        ConditionExpression: 'attribute_exists(pk) AND #total > :index',
        ExpressionAttributeNames: { '#total': 'total' },
        ExpressionAttributeValues: values,
        ReturnValues: 'ALL_NEW',
      }),
    );
    return progressOf(Attributes!);
  }

  /** The job's slot in its batch: stored on the job since it was created; older callers look it up. */
  async function slotOf(tenantId: string, batchId: string, jobId: string, slot: number | undefined): Promise<number> {
    if (slot !== undefined) return slot;
    const { Item } = await db.send(
      new GetCommand({ TableName, Key: keys.batch(tenantId, batchId), ConsistentRead: true, ProjectionExpression: 'job_ids' }),
    );
    const index = ((Item?.job_ids as string[] | undefined) ?? []).indexOf(jobId);
    if (index < 0) throw new Error(`job ${jobId} is not one of batch ${batchId}'s jobs`);
    return index;
  }

  return {
    async getBatch(tenantId, batchId) {
      // One Query reads both items: sk BATCH and PROGRESS (the partition's ATTEMPT# rows sort before them).
      const { Items } = await db.send(
        new QueryCommand({
          TableName,
          KeyConditionExpression: 'pk = :pk AND sk >= :batch',
          ExpressionAttributeValues: { ':pk': keys.batch(tenantId, batchId).pk, ':batch': keys.batch(tenantId, batchId).sk },
          ConsistentRead: true,
        }),
      );
      const batchItem = Items?.find((item) => item.sk === keys.batch(tenantId, batchId).sk);
      const progressItem = Items?.find((item) => item.sk === keys.batchProgress(tenantId, batchId).sk);
      return batchItem ? toBatchRecord(batchItem, progressItem) : undefined;
    },

    async recordBatchProgress(tenantId, batchId, jobId, status, slot): Promise<BatchProgress> {
      return recordSlots(tenantId, batchId, [{ slot: await slotOf(tenantId, batchId, jobId, slot), status }]);
    },

    recordSlots,

    async claimBatchCompletion(tenantId, batchId, jobId, now) {
      return conditionally(() =>
        db.send(
          new UpdateCommand({
            TableName,
            Key: keys.batchProgress(tenantId, batchId),
            // The claim closes the batch's open-batch index entry in the same write (no extra write per batch).
            UpdateExpression: 'SET completed_event_at = if_not_exists(completed_event_at, :now), completed_event_by = :job REMOVE gsi3pk, gsi3sk',
            ConditionExpression: 'attribute_not_exists(completed_event_at) OR completed_event_by = :job',
            ExpressionAttributeValues: { ':now': now.toISOString(), ':job': jobId },
          }),
        ),
      );
    },

    async markJobsNeverWritten(tenantId, batchId, jobIds) {
      const { Item } = await db.send(
        new GetCommand({ TableName, Key: keys.batch(tenantId, batchId), ConsistentRead: true, ProjectionExpression: 'job_ids' }),
      );
      if (!Item) return undefined;
      const slots = jobIds.map((id) => ((Item.job_ids as string[] | undefined) ?? []).indexOf(id)).filter((slot) => slot >= 0);
      if (slots.length === 0) return undefined;
      try {
        const { Attributes } = await db.send(
          new UpdateCommand({
            TableName,
            Key: keys.batchProgress(tenantId, batchId),
            // The same slots every time: a second sweep of the entry changes nothing.
            UpdateExpression: `SET ${slots.map((slot) => `slots[${slot}] = :never`).join(', ')}`,
            ConditionExpression: 'attribute_exists(pk)',
            ExpressionAttributeValues: { ':never': SLOT_CODES.neverWritten },
            ReturnValues: 'ALL_NEW',
          }),
        );
        return progressOf(Attributes!);
      } catch (error) {
        if (isConditionalCheckFailed(error)) return undefined; // the progress item was never written
        throw error;
      }
    },
  };
}

/** A batch's progress from its progress item: jobs that were never written do not count. */
function progressOf(item: Record<string, unknown>): BatchProgress {
  return { total: Number(item.total) - neverWrittenSlots(item.slots), ...countsOfSlots(item.slots) };
}
