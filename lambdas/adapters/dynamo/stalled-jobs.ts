// Adapter: StalledJobs port on DynamoDB. Jobs in flight carry the sparse, write-sharded lease
// index keys (gsi3, keys only; lambdas/adapters/dynamo/keys.ts): one Query per shard finds those
// past a deadline, and a requeue is a conditional UpdateItem on the deadline the job was found with.
import { GetCommand, QueryCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { INDEXES } from '../../../lib/table-design';
import type { OverdueJob, StalledJobs } from '../../core/ports';
import { conditionally, keys, LEASE_SHARDS, mapWithConcurrency, parseLeaseIndexKey } from './keys';

export function createDynamoStalledJobs(db: DynamoDBDocumentClient, options: { readonly tableName: string }): StalledJobs {
  const TableName = options.tableName;
  const index = INDEXES.leases;
  return {
    async listOverdue(before, limit) {
      const shards = Array.from({ length: LEASE_SHARDS }, (_, shard) => shard);
      const perShard = await mapWithConcurrency(shards, LEASE_SHARDS, async (shard) => {
        const { Items } = await db.send(
          new QueryCommand({
            TableName,
            IndexName: index.indexName,
            // Deadlines are ISO timestamps at the start of the sort key, so "before" is a key range.
            KeyConditionExpression: `${index.partitionKey} = :pk AND ${index.sortKey} < :before`,
            ExpressionAttributeValues: { ':pk': keys.leaseIndexShard(shard), ':before': before.toISOString() },
            Limit: limit,
          }),
        );
        return (Items ?? []).flatMap((item): OverdueJob[] => {
          const parsed = parseLeaseIndexKey(String(item[index.sortKey] ?? ''));
          return parsed ? [parsed] : [];
        });
      });
      return perShard
        .flat()
        .sort((a, b) => (a.deadline < b.deadline ? -1 : a.deadline > b.deadline ? 1 : 0))
        .slice(0, limit);
    },

    async claimRequeue(job, now, nextDeadline) {
      const Key = keys.job(job.tenantId, job.jobId);
      // The index is eventually consistent: read the job itself before deciding.
      const { Item } = await db.send(new GetCommand({ TableName, Key, ConsistentRead: true }));
      const seen = keys.leaseIndex(job.tenantId, job.jobId, new Date(job.deadline)).gsi3sk;
      if (!Item || Item.gsi3sk !== seen) return undefined;
      const requeues = Number(Item.requeues ?? 0) + 1;
      const next = keys.leaseIndex(job.tenantId, job.jobId, nextDeadline(requeues));
      const claimed = await conditionally(() =>
        db.send(
          new UpdateCommand({
            TableName,
            Key,
            UpdateExpression: 'SET gsi3pk = :pk, gsi3sk = :next, requeues = :requeues, updated_at = :now',
            ConditionExpression: 'gsi3sk = :seen AND #status IN (:processing, :queued)',
            ExpressionAttributeNames: { '#status': 'status' },
            ExpressionAttributeValues: {
              ':pk': next.gsi3pk,
              ':next': next.gsi3sk,
              ':seen': seen,
              ':requeues': requeues,
              ':now': now.toISOString(),
              ':processing': 'processing',
              ':queued': 'queued',
            },
          }),
        ),
      );
      return claimed ? requeues : undefined;
    },
  };
}
