// Adapter helper: the one read both sweeps make of the sparse, write-sharded gsi3 (keys only):
// one Query per shard for the entries whose sort key (an ISO due time first) is before a moment,
// merged oldest first. Used by stalled-jobs.ts (LEASES#<n>) and open-batches.ts (BATCHES#<n>).
import { QueryCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { INDEXES } from '../../../lib/table-design';
import { LEASE_SHARDS, mapWithConcurrency } from './keys';

export interface OverdueIndexQuery<T> {
  readonly tableName: string;
  /** The partition key of one shard. */
  readonly shardKey: (shard: number) => string;
  /** Reads an entry from its sort key; undefined for one this sweep does not own. */
  readonly parse: (sortKey: string) => T | undefined;
  /** The entry's due time (ISO), for the oldest-first merge. */
  readonly dueAt: (entry: T) => string;
}

export async function listOverdueEntries<T>(db: DynamoDBDocumentClient, query: OverdueIndexQuery<T>, before: Date, limit: number): Promise<T[]> {
  const index = INDEXES.leases;
  const shards = Array.from({ length: LEASE_SHARDS }, (_, shard) => shard);
  const perShard = await mapWithConcurrency(shards, LEASE_SHARDS, async (shard) => {
    const { Items } = await db.send(
      new QueryCommand({
        TableName: query.tableName,
        IndexName: index.indexName,
        // Due times are ISO timestamps at the start of the sort key, so "before" is a key range.
        KeyConditionExpression: `${index.partitionKey} = :pk AND ${index.sortKey} < :before`,
        ExpressionAttributeValues: { ':pk': query.shardKey(shard), ':before': before.toISOString() },
        Limit: limit,
      }),
    );
    return (Items ?? []).flatMap((item): T[] => {
      const parsed = query.parse(String(item[index.sortKey] ?? ''));
      return parsed ? [parsed] : [];
    });
  });
  return perShard
    .flat()
    .sort((a, b) => (query.dueAt(a) < query.dueAt(b) ? -1 : query.dueAt(a) > query.dueAt(b) ? 1 : 0))
    .slice(0, limit);
}
