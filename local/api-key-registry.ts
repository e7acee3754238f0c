// Local stack: stands in for API Gateway's API keys. Keys are stored hashed in their own
// emulator table (never in the application table); the gateway looks them up per request.
import { createHash, randomBytes } from 'node:crypto';
import { GetCommand, PutCommand, ScanCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { ApiKeyRegistry } from '../lambdas/core/ports';
import { LOCAL_NAMES } from './resources';

const hashKey = (value: string) => createHash('sha256').update(value).digest('hex');

export interface LocalApiKeys extends ApiKeyRegistry {
  /** The key's id when the value is a known, enabled key. */
  resolve(value: string): Promise<{ id: string; enabled: boolean } | undefined>;
}

export function createLocalApiKeys(db: DynamoDBDocumentClient): LocalApiKeys {
  const TableName = LOCAL_NAMES.apiKeysTable;
  return {
    async createKey(name) {
      const value = `mh_local_${randomBytes(24).toString('base64url')}`;
      const id = `key_${randomBytes(8).toString('hex')}`;
      await db.send(new PutCommand({ TableName, Item: { pk: hashKey(value), id, name, enabled: true } }));
      return { id, value };
    },
    async setEnabled(id, enabled) {
      const { Items } = await db.send(
        new ScanCommand({ TableName, FilterExpression: 'id = :id', ExpressionAttributeValues: { ':id': id } }),
      );
      for (const item of Items ?? []) {
        await db.send(
          new UpdateCommand({
            TableName,
            Key: { pk: item.pk },
            UpdateExpression: 'SET enabled = :enabled',
            ExpressionAttributeValues: { ':enabled': enabled },
          }),
        );
      }
    },
    async resolve(value) {
      const { Item } = await db.send(new GetCommand({ TableName, Key: { pk: hashKey(value) } }));
      return Item ? { id: String(Item.id), enabled: Item.enabled === true } : undefined;
    },
  };
}
