// Adapter: BatchProgressStore port on DynamoDB. Progress is recorded per job (idempotent),
// and batch.completed is claimed by one job with a conditional write.
import { UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { BatchProgress, BatchProgressStore } from '../../core/ports';
import { BATCH_SETS, toBatchRecord } from './item-records';
import { conditionally, isConditionalCheckFailed, keys } from './keys';
import { getConsistent } from './table-io';

export function createDynamoBatchProgress(db: DynamoDBDocumentClient, options: { readonly tableName: string }): BatchProgressStore {
  const TableName = options.tableName;
  return {
    async getBatch(tenantId, batchId) {
      const item = await getConsistent(db, TableName, keys.batch(tenantId, batchId));
      return item ? toBatchRecord(item) : undefined;
    },

    async recordBatchProgress(tenantId, batchId, jobId, status): Promise<BatchProgress> {
      const { Attributes } = await db.send(
        new UpdateCommand({
          TableName,
          Key: keys.batch(tenantId, batchId),
          // A set makes this idempotent: recording the same job twice counts it once.
          UpdateExpression: `ADD ${BATCH_SETS[status]} :job`,
          ConditionExpression: 'attribute_exists(pk)',
          ExpressionAttributeValues: { ':job': new Set([jobId]) },
          ReturnValues: 'ALL_NEW',
        }),
      );
      const batch = toBatchRecord(Attributes!);
      return { total: batch.total, ...batch.counts };
    },

    async claimBatchCompletion(tenantId, batchId, jobId, now) {
      return conditionally(() =>
        db.send(
          new UpdateCommand({
            TableName,
            Key: keys.batch(tenantId, batchId),
            UpdateExpression: 'SET completed_event_at = if_not_exists(completed_event_at, :now), completed_event_by = :job',
            ConditionExpression: 'attribute_not_exists(completed_event_at) OR completed_event_by = :job',
            ExpressionAttributeValues: { ':now': now.toISOString(), ':job': jobId },
          }),
        ),
      );
    },

    async shrinkToWrittenJobs(tenantId, batchId, writtenJobIds) {
      try {
        const { Attributes } = await db.send(
          new UpdateCommand({
            TableName,
            Key: keys.batch(tenantId, batchId),
            // The same values every time: a second sweep of the entry changes nothing.
            UpdateExpression: 'SET #total = :total, job_ids = :ids',
            ConditionExpression: 'attribute_exists(pk)',
            ExpressionAttributeNames: { '#total': 'total' },
            ExpressionAttributeValues: { ':total': writtenJobIds.length, ':ids': [...writtenJobIds] },
            ReturnValues: 'ALL_NEW',
          }),
        );
        const batch = toBatchRecord(Attributes!);
        return { total: batch.total, ...batch.counts };
      } catch (error) {
        if (isConditionalCheckFailed(error)) return undefined;
        throw error;
      }
    },

  };
}
