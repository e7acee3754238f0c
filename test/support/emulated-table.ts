// Test support: the local DynamoDB emulator (dynalite) with the stack's table created, for the
// files that run the Dynamo adapters against it directly. Call useEmulatedTable() at a file's top
// level; `db` is ready inside tests (beforeAll) and the emulator stops after the file.
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll } from 'vitest';
import { startEmulators, type Emulators } from '../../local/emulators';
import { createTables } from '../../local/resources';

export interface EmulatedTable {
  /** A DocumentClient as the handlers build it (undefined attributes removed). */
  readonly db: DynamoDBDocumentClient;
}

export function useEmulatedTable(): EmulatedTable {
  let emulators: Emulators | undefined;
  let raw: DynamoDBClient | undefined;
  let db: DynamoDBDocumentClient | undefined;

  beforeAll(async () => {
    emulators = await startEmulators({});
    raw = new DynamoDBClient({ endpoint: emulators.dynamoEndpoint, region: 'us-east-1', credentials: { accessKeyId: 'l', secretAccessKey: 'l' } });
    db = DynamoDBDocumentClient.from(raw, { marshallOptions: { removeUndefinedValues: true } });
    await createTables(raw);
  }, 60_000);

  afterAll(async () => {
    raw?.destroy();
    await emulators?.stop();
  });

  return {
    get db() {
      if (!db) throw new Error('the emulated table is ready only inside tests (after beforeAll)');
      return db;
    },
  };
}
