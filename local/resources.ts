// Local stack: creates the table, queues and bucket on the emulators from the same designs
// the CDK stack deploys (lib/table-design.ts, lib/queue-design.ts, lib/settings.ts).
import { CreateTableCommand, DescribeTableCommand, waitUntilTableExists, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { FauxqsServer } from 'fauxqs';
import type { Settings } from '../lib/settings';
import { queueDesigns, type QueueName } from '../lib/queue-design';
import { ALL_INDEXES, TABLE_KEYS } from '../lib/table-design';

export const LOCAL_NAMES = {
  table: 'metahook',
  apiKeysTable: 'metahook-local-api-keys',
  mediaBucket: 'metahook-media',
  queues: {
    jobs: 'metahook-jobs',
    jobsDeadLetter: 'metahook-jobs-dlq',
    deliveries: 'metahook-deliveries',
    deliveriesDeadLetter: 'metahook-deliveries-dlq',
  } satisfies Record<QueueName, string>,
} as const;

export type QueueUrls = Record<QueueName, string>;

async function tableExists(dynamo: DynamoDBClient, name: string): Promise<boolean> {
  try {
    await dynamo.send(new DescribeTableCommand({ TableName: name }));
    return true;
  } catch (error) {
    if (error instanceof Error && error.name === 'ResourceNotFoundException') return false;
    throw error;
  }
}

export async function createTables(dynamo: DynamoDBClient): Promise<void> {
  const stringAttribute = (AttributeName: string) => ({ AttributeName, AttributeType: 'S' as const });
  if (!(await tableExists(dynamo, LOCAL_NAMES.table))) {
    await dynamo.send(
      new CreateTableCommand({
        TableName: LOCAL_NAMES.table,
        BillingMode: 'PAY_PER_REQUEST',
        KeySchema: [
          { AttributeName: TABLE_KEYS.partitionKey, KeyType: 'HASH' },
          { AttributeName: TABLE_KEYS.sortKey, KeyType: 'RANGE' },
        ],
        AttributeDefinitions: [
          stringAttribute(TABLE_KEYS.partitionKey),
          stringAttribute(TABLE_KEYS.sortKey),
          ...ALL_INDEXES.flatMap((index) => [stringAttribute(index.partitionKey), stringAttribute(index.sortKey)]),
        ],
        GlobalSecondaryIndexes: ALL_INDEXES.map((index) => ({
          IndexName: index.indexName,
          KeySchema: [
            { AttributeName: index.partitionKey, KeyType: 'HASH' },
            { AttributeName: index.sortKey, KeyType: 'RANGE' },
          ],
          Projection: { ProjectionType: index.projection },
        })),
        // TTL (expires_at) is not emulated by dynalite; readers already treat expired items as absent.
      }),
    );
  }
  if (!(await tableExists(dynamo, LOCAL_NAMES.apiKeysTable))) {
    await dynamo.send(
      new CreateTableCommand({
        TableName: LOCAL_NAMES.apiKeysTable,
        BillingMode: 'PAY_PER_REQUEST',
        KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
        AttributeDefinitions: [stringAttribute('pk')],
      }),
    );
  }
  // dynalite answers CreateTable while the table is CREATING; writes before ACTIVE get ResourceNotFound.
  for (const TableName of [LOCAL_NAMES.table, LOCAL_NAMES.apiKeysTable]) {
    await waitUntilTableExists({ client: dynamo, maxWaitTime: 10, minDelay: 1, maxDelay: 1 }, { TableName });
  }
}

/** Dead-letter queues first: the source queues' redrive policies point at their ARNs. */
/** `visibilityTimeoutSeconds` overrides the work queues' timeout: local time compression for fault tests. */
export function createQueues(fauxqs: FauxqsServer, settings: Settings, visibilityTimeoutSeconds?: number): QueueUrls {
  const designs = queueDesigns(settings);
  const created = new Map<QueueName, { queueUrl: string; queueArn: string }>();
  const ordered = Object.values(designs).sort((a, b) => Number(Boolean(a.deadLetter)) - Number(Boolean(b.deadLetter)));
  for (const design of ordered) {
    const name = LOCAL_NAMES.queues[design.name];
    const existing = fauxqs.inspectQueue(name);
    if (existing) {
      created.set(design.name, { queueUrl: existing.url, queueArn: existing.arn });
      continue;
    }
    const attributes: Record<string, string> = {
      VisibilityTimeout: String(
        design.deadLetter && visibilityTimeoutSeconds !== undefined ? visibilityTimeoutSeconds : design.visibilityTimeoutSeconds,
      ),
      MessageRetentionPeriod: String(design.retentionSeconds),
    };
    if (design.deadLetter) {
      attributes.RedrivePolicy = JSON.stringify({
        deadLetterTargetArn: created.get(design.deadLetter.queue)!.queueArn,
        maxReceiveCount: String(design.deadLetter.maxReceiveCount),
      });
    }
    const { queueUrl, queueArn } = fauxqs.createQueue(name, { attributes });
    created.set(design.name, { queueUrl, queueArn });
  }
  return Object.fromEntries([...created].map(([name, { queueUrl }]) => [name, queueUrl])) as QueueUrls;
}

export function createBucket(fauxqs: FauxqsServer): void {
  fauxqs.createBucket(LOCAL_NAMES.mediaBucket);
}
