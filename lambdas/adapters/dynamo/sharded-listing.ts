// Adapter detail: reading a write-sharded listing (keys.ts LISTING_SHARDS) as one ordered list.
// Every shard is a partition of a KEYS_ONLY index sorted the same way; a k-way merge pulls
// from each shard lazily (a shard is queried again only when its buffer runs dry), so a page
// costs about what it returns. Sort keys are unique, so a cursor is just the last sort key.
import { QueryCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';

export interface ShardedListing {
  readonly indexName: string;
  readonly partitionAttribute: string;
  readonly sortAttribute: string;
  /** The partition value of every shard. */
  readonly partitions: readonly string[];
  /** desc: newest first (jobs); asc: oldest first (attempts). */
  readonly order: 'asc' | 'desc';
  /** Inclusive lower bound of the sort key. */
  readonly from?: string;
  /** Exclusive upper bound of the sort key. */
  readonly before?: string;
  /** Keys fetched per shard per Query. */
  readonly pageSize: number;
}

interface ShardState {
  readonly partition: string;
  buffer: Record<string, unknown>[];
  startKey: Record<string, unknown> | undefined;
  done: boolean;
}

export interface MergedKeys {
  /** The next index entry in the listing's order, or undefined at the end. */
  next(): Promise<Record<string, unknown> | undefined>;
  /** True when another entry follows (fetches what it must to know). */
  hasMore(): Promise<boolean>;
}

export function mergeShards(db: DynamoDBDocumentClient, TableName: string, listing: ShardedListing): MergedKeys {
  const shards: ShardState[] = listing.partitions.map((partition) => ({ partition, buffer: [], startKey: undefined, done: false }));
  const sk = (item: Record<string, unknown>) => String(item[listing.sortAttribute]);
  const values: Record<string, unknown> = {};
  let range = '';
  if (listing.from !== undefined && listing.before !== undefined) {
    range = ' AND #sk BETWEEN :from AND :before';
    Object.assign(values, { ':from': listing.from, ':before': listing.before });
  } else if (listing.from !== undefined) {
    range = ' AND #sk >= :from';
    values[':from'] = listing.from;
  } else if (listing.before !== undefined) {
    range = ' AND #sk < :before';
    values[':before'] = listing.before;
  }

  async function fill(shard: ShardState): Promise<void> {
    while (shard.buffer.length === 0 && !shard.done) {
      const page = await db.send(
        new QueryCommand({
          TableName,
          IndexName: listing.indexName,
          KeyConditionExpression: `#pk = :pk${range}`,
          ExpressionAttributeNames: { '#pk': listing.partitionAttribute, ...(range ? { '#sk': listing.sortAttribute } : {}) },
          ExpressionAttributeValues: { ':pk': shard.partition, ...values },
          ScanIndexForward: listing.order === 'asc',
          Limit: listing.pageSize,
          ExclusiveStartKey: shard.startKey,
        }),
      );
      // BETWEEN is inclusive; the upper bound is not.
      shard.buffer = (page.Items ?? []).filter((item) => listing.before === undefined || sk(item) < listing.before);
      shard.startKey = page.LastEvaluatedKey;
      shard.done = page.LastEvaluatedKey === undefined;
    }
  }

  async function head(): Promise<ShardState | undefined> {
    await Promise.all(shards.map(fill));
    let best: ShardState | undefined;
    for (const shard of shards) {
      if (shard.buffer.length === 0) continue;
      if (!best) best = shard;
      else {
        const a = sk(shard.buffer[0]!);
        const b = sk(best.buffer[0]!);
        if (listing.order === 'asc' ? a < b : a > b) best = shard;
      }
    }
    return best;
  }

  return {
    async next() {
      const shard = await head();
      return shard?.buffer.shift();
    },
    async hasMore() {
      return (await head()) !== undefined;
    },
  };
}

/** Up to `count` entries from the merge, in order. */
export async function take(keys: MergedKeys, count: number): Promise<Record<string, unknown>[]> {
  const out: Record<string, unknown>[] = [];
  while (out.length < count) {
    const next = await keys.next();
    if (!next) break;
    out.push(next);
  }
  return out;
}
