// Adapter: IdempotencyStore port on DynamoDB. One record per tenant + Idempotency-Key
// (the key is hashed: callers choose it and it may be long). A conditional put decides
// who runs the request; the rest replay, wait, or are refused for a different body.
import { createHash } from 'node:crypto';
import { DeleteCommand, GetCommand, PutCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { IdempotencyBegin, IdempotencyStore } from '../../core/ports';
import type { SubmitJobsResponse } from '../../core/api-schemas';
import { conditionally, epochSeconds, isConditionalCheckFailed, keys } from './keys';

export interface IdempotencyStoreOptions {
  readonly tableName: string;
  readonly ttlSeconds: number;
  /** An in-progress record older than this is abandoned (its request died) and may be retaken. */
  readonly inProgressTimeoutSeconds: number;
}

const hashKey = (key: string) => createHash('sha256').update(key).digest('hex');

export function createDynamoIdempotencyStore(db: DynamoDBDocumentClient, options: IdempotencyStoreOptions): IdempotencyStore {
  const TableName = options.tableName;

  return {
    async begin(tenantId, key, requestHash, now): Promise<IdempotencyBegin> {
      const Key = keys.idempotency(tenantId, hashKey(key));
      try {
        await db.send(
          new PutCommand({
            TableName,
            Item: {
              ...Key,
              entity: 'idempotency',
              request_hash: requestHash,
              status: 'in_progress',
              locked_until: epochSeconds(now) + options.inProgressTimeoutSeconds,
              expires_at: epochSeconds(now) + options.ttlSeconds,
            },
            ConditionExpression: 'attribute_not_exists(pk) OR expires_at < :now OR (#status = :in_progress AND locked_until < :now)',
            ExpressionAttributeNames: { '#status': 'status' },
            ExpressionAttributeValues: { ':now': epochSeconds(now), ':in_progress': 'in_progress' },
          }),
        );
        return { state: 'new' };
      } catch (error) {
        if (!isConditionalCheckFailed(error)) throw error;
      }
      const { Item } = await db.send(new GetCommand({ TableName, Key, ConsistentRead: true }));
      if (!Item) return { state: 'in_progress' }; // released in between; the caller may retry
      if (Item.request_hash !== requestHash) return { state: 'mismatch' };
      if (Item.status === 'completed') return { state: 'replay', response: JSON.parse(String(Item.response)) as SubmitJobsResponse };
      return { state: 'in_progress' };
    },

    async complete(tenantId, key, response) {
      await db.send(
        new UpdateCommand({
          TableName,
          Key: keys.idempotency(tenantId, hashKey(key)),
          UpdateExpression: 'SET #status = :completed, #response = :response REMOVE locked_until',
          ExpressionAttributeNames: { '#status': 'status', '#response': 'response' },
          ExpressionAttributeValues: { ':completed': 'completed', ':response': JSON.stringify(response) },
        }),
      );
    },

    async release(tenantId, key) {
      await conditionally(() =>
        db.send(
          new DeleteCommand({
            TableName,
            Key: keys.idempotency(tenantId, hashKey(key)),
            ConditionExpression: '#status = :in_progress',
            ExpressionAttributeNames: { '#status': 'status' },
            ExpressionAttributeValues: { ':in_progress': 'in_progress' },
          }),
        ),
      );
    },
  };
}
