// Adapter detail: a batch's metadata, stored once on its batch item (never copied into its
// jobs), read back for the jobs that need it. The batch item is written once and never
// updated, so a warm Lambda may keep what it read: a 100-file batch costs one read per
// container instead of 100 copies of the metadata in every job write.
import { BatchGetCommand, GetCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { JobRecord } from '../../core/records';
import { metadataInBatch, toJobRecord } from './item-records';
import { chunk, keys } from './keys';

/** Batches remembered per container (metadata is at most settings.api.maxMetadataBytes each). */
const CACHED_BATCHES = 256;

export interface BatchMetadataReader {
  /** Job records for job items, each with its batch's metadata. */
  jobRecords(items: readonly Record<string, unknown>[]): Promise<JobRecord[]>;
}

export function createBatchMetadataReader(db: DynamoDBDocumentClient, TableName: string): BatchMetadataReader {
  const cache = new Map<string, Record<string, unknown> | null>();
  const id = (tenantId: string, batchId: string) => `${tenantId}\u0000${batchId}`;

  const remember = (tenantId: string, batchId: string, metadata: unknown) => {
    if (cache.size >= CACHED_BATCHES) cache.delete(cache.keys().next().value!);
    cache.set(id(tenantId, batchId), (metadata as Record<string, unknown> | undefined) ?? null);
  };

  async function load(batches: ReadonlyArray<{ tenantId: string; batchId: string }>): Promise<void> {
    if (batches.length === 1) {
      // One batch (a single job's read): GetItem, which every reader of jobs may already call.
      const { tenantId, batchId } = batches[0]!;
      const { Item } = await db.send(
        new GetCommand({ TableName, Key: keys.batch(tenantId, batchId), ConsistentRead: true, ProjectionExpression: '#metadata', ExpressionAttributeNames: { '#metadata': 'metadata' } }),
      );
      if (Item) remember(tenantId, batchId, Item.metadata);
      return;
    }
    for (const group of chunk(batches, 100)) {
      let requestKeys: Record<string, unknown>[] = group.map((b) => keys.batch(b.tenantId, b.batchId));
      for (let round = 0; requestKeys.length > 0 && round < 5; round++) {
        const { Responses, UnprocessedKeys } = await db.send(
          new BatchGetCommand({
            RequestItems: {
              [TableName]: {
                Keys: requestKeys,
                ConsistentRead: true,
                ProjectionExpression: 'tenant_id, batch_id, #metadata',
                ExpressionAttributeNames: { '#metadata': 'metadata' },
              },
            },
          }),
        );
        for (const item of Responses?.[TableName] ?? []) remember(String(item.tenant_id), String(item.batch_id), item.metadata);
        requestKeys = (UnprocessedKeys?.[TableName]?.Keys ?? []) as Record<string, unknown>[];
      }
    }
  }

  return {
    async jobRecords(items) {
      const missing = new Map<string, { tenantId: string; batchId: string }>();
      for (const item of items) {
        if (!metadataInBatch(item)) continue;
        const key = id(String(item.tenant_id), String(item.batch_id));
        if (!cache.has(key)) missing.set(key, { tenantId: String(item.tenant_id), batchId: String(item.batch_id) });
      }
      if (missing.size > 0) await load([...missing.values()]);
      // A batch item that cannot be read (it expired first) leaves its jobs' metadata null.
      return items.map((item) => toJobRecord(item, metadataInBatch(item) ? (cache.get(id(String(item.tenant_id), String(item.batch_id))) ?? null) : null));
    },
  };
}
