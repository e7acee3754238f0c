// Adapter: BatchProgressStore port on DynamoDB. The batch item is written once (it holds the
// metadata and job ids); everything that changes lives on the batch's small progress item
// (keys.batchProgress): one slot per job, set to its terminal status (idempotent, and the item
// never grows, so each update is 1 WCU), the batch.completed claim and its delivery summary.
import { GetCommand, QueryCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { BatchProgress, BatchProgressStore } from '../../core/ports';
import { countsOfSlots, SLOT_CODES, toBatchRecord } from './item-records';
import { conditionally, keys } from './keys';

export function createDynamoBatchProgress(db: DynamoDBDocumentClient, options: { readonly tableName: string }): BatchProgressStore {
  const TableName = options.tableName;

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
      const index = await slotOf(tenantId, batchId, jobId, slot);
      if (!Number.isInteger(index) || index < 0) throw new RangeError(`invalid batch slot ${index}`);
      const { Attributes } = await db.send(
        new UpdateCommand({
          TableName,
          Key: keys.batchProgress(tenantId, batchId),
          // Setting a slot is idempotent: recording the same job twice counts it once.
          UpdateExpression: `SET slots[${index}] = :status`,
          ConditionExpression: 'attribute_exists(pk) AND #total > :index',
          ExpressionAttributeNames: { '#total': 'total' },
          ExpressionAttributeValues: { ':status': SLOT_CODES[status], ':index': index },
          ReturnValues: 'ALL_NEW',
        }),
      );
      return { total: Number(Attributes!.total), ...countsOfSlots(Attributes!.slots) };
    },

    async claimBatchCompletion(tenantId, batchId, jobId, now) {
      return conditionally(() =>
        db.send(
          new UpdateCommand({
            TableName,
            Key: keys.batchProgress(tenantId, batchId),
            UpdateExpression: 'SET completed_event_at = if_not_exists(completed_event_at, :now), completed_event_by = :job',
            ConditionExpression: 'attribute_not_exists(completed_event_at) OR completed_event_by = :job',
            ExpressionAttributeValues: { ':now': now.toISOString(), ':job': jobId },
          }),
        ),
      );
    },
  };
}
