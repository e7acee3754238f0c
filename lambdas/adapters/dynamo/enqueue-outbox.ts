// Adapter: EnqueueOutbox port on DynamoDB. One item per intake request between its job writes
// and its messages, on OUTBOX#<shard> partitions the sweeper reads (not tenant scoped).
import { DeleteCommand, PutCommand, QueryCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { EnqueueOutbox } from '../../core/ports';
import { epochSeconds, keys, mapWithConcurrency, OUTBOX_SHARDS } from './keys';
import type { JobTableOptions } from './table-io';

export function createDynamoEnqueueOutbox(db: DynamoDBDocumentClient, options: JobTableOptions): EnqueueOutbox {
  const TableName = options.tableName;
  const retentionSeconds = options.retentionDays * 24 * 3600;
  return {
    async openEnqueueOutbox(entry) {
      await db.send(
        new PutCommand({
          TableName,
          Item: {
            ...keys.enqueueOutbox(entry.batchId, entry.createdAt),
            entity: 'outbox',
            tenant_id: entry.tenantId,
            batch_id: entry.batchId,
            job_ids: [...entry.jobIds],
            created_at: entry.createdAt,
            // Long after any sweep: only a stack whose sweeper never ran keeps one this long.
            expires_at: epochSeconds(new Date(entry.createdAt)) + retentionSeconds,
          },
        }),
      );
    },

    async closeEnqueueOutbox(entry) {
      await db.send(new DeleteCommand({ TableName, Key: keys.enqueueOutbox(entry.batchId, entry.createdAt) }));
    },

    async listStaleEnqueueOutbox(before, limit) {
      const shards = Array.from({ length: OUTBOX_SHARDS }, (_, shard) => shard);
      const perShard = await mapWithConcurrency(shards, OUTBOX_SHARDS, async (shard) => {
        const { Items } = await db.send(
          new QueryCommand({
            TableName,
            KeyConditionExpression: 'pk = :pk AND sk < :before',
            ExpressionAttributeValues: { ':pk': keys.enqueueOutboxShard(shard), ':before': before.toISOString() },
            Limit: limit,
            ConsistentRead: true,
          }),
        );
        return Items ?? [];
      });
      return perShard
        .flat()
        .map((item) => ({
          tenantId: String(item.tenant_id),
          batchId: String(item.batch_id),
          jobIds: (item.job_ids as string[] | undefined) ?? [],
          createdAt: String(item.created_at),
        }))
        .sort((a, b) => (a.createdAt < b.createdAt ? -1 : a.createdAt > b.createdAt ? 1 : 0))
        .slice(0, limit);
    },
  };
}
