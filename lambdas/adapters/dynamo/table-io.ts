// Adapter detail: the few table reads and writes every port adapter shares (strong reads,
// BatchWriteItem / BatchGetItem with their unprocessed-items retries).
import { BatchGetCommand, BatchWriteCommand, GetCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { chunk } from './keys';

/** One strongly consistent GetItem: state decisions never read a stale copy. */
export async function getConsistent(
  db: DynamoDBDocumentClient,
  TableName: string,
  key: Record<string, string>,
): Promise<Record<string, unknown> | undefined> {
  const { Item } = await db.send(new GetCommand({ TableName, Key: key, ConsistentRead: true }));
  return Item;
}

/** Puts every item, 25 per BatchWriteItem, retrying unprocessed ones with backoff; throws if some stay. */
export async function batchPutAll(db: DynamoDBDocumentClient, TableName: string, items: readonly Record<string, unknown>[]): Promise<void> {
  for (const group of chunk(items, 25)) {
    let requests = group.map((Item) => ({ PutRequest: { Item } }));
    for (let round = 0; requests.length > 0; round++) {
      if (round === 5) throw new Error(`BatchWriteItem left ${requests.length} items unprocessed after retries`);
      const { UnprocessedItems } = await db.send(new BatchWriteCommand({ RequestItems: { [TableName]: requests } }));
      requests = (UnprocessedItems?.[TableName] ?? []) as typeof requests;
      if (requests.length > 0) await new Promise((resolve) => setTimeout(resolve, 50 * 2 ** round));
    }
  }
}

/** Strongly consistent BatchGetItem of many keys, 100 per call; keys still unprocessed after 5 rounds are left out. */
export async function batchGetAll(
  db: DynamoDBDocumentClient,
  TableName: string,
  itemKeys: readonly Record<string, string>[],
): Promise<Record<string, unknown>[]> {
  const found: Record<string, unknown>[] = [];
  for (const group of chunk(itemKeys, 100)) {
    let requestKeys: Record<string, unknown>[] = group;
    for (let round = 0; requestKeys.length > 0 && round < 5; round++) {
      const { Responses, UnprocessedKeys } = await db.send(
        new BatchGetCommand({ RequestItems: { [TableName]: { Keys: requestKeys, ConsistentRead: true } } }),
      );
      found.push(...(Responses?.[TableName] ?? []));
      requestKeys = (UnprocessedKeys?.[TableName]?.Keys ?? []) as Record<string, unknown>[];
    }
  }
  return found;
}

export interface JobTableOptions {
  readonly tableName: string;
  /** Jobs, batches and their attempts expire this long after creation. */
  readonly retentionDays: number;
  /**
   * When the sweeper first looks at a batch still without batch.completed, after its creation
   * (settings.sweeper.openBatchCheckSeconds). @default that setting's default
   */
  readonly openBatchCheckSeconds?: number;
}
