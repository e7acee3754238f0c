// Local/cloud parity: the queues and the table in the synthesized template are exactly the
// ones lib/queue-design.ts and lib/table-design.ts describe, which is what the local stack
// creates its emulator queues and table from; and the live emulator resources the local stack
// creates match the template too.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DescribeTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { GetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { startEmulators } from '../../local/emulators';
import { createQueues, createTables, LOCAL_NAMES } from '../../local/resources';
import { CloudAssembly } from 'aws-cdk-lib/cx-api';
import { queueDesigns, type QueueDesign } from '../../lib/queue-design';
import { resolveSettings } from '../../lib/settings';
import { ALL_INDEXES, KEY_ATTRIBUTE_TYPE, TABLE_KEYS, TTL_ATTRIBUTE } from '../../lib/table-design';
import { synthStack } from './synth-stack';

type Resource = { Type: string; Properties: Record<string, any> };

// Overrides make the designs differ from the defaults, so a hard-coded queue would show.
const settings = resolveSettings({ METAHOOK_RETRY_SCHEDULE: '2,4,8,16', METAHOOK_EXTRACTION_RETRY_SCHEDULE: '9' });
let resources: Record<string, Resource>;

beforeAll(() => {
  resources = synthStack({ settings }).template.toJSON().Resources;
});
afterAll(() => CloudAssembly.cleanupTemporaryDirectories());

const logicalIdOf = (token: any): string => token?.Ref ?? token?.['Fn::GetAtt']?.[0];

/** The template's queues in the shape of a QueueDesign (without name and purpose). */
function templateQueues() {
  const queues = Object.entries(resources).filter(([, r]) => r.Type === 'AWS::SQS::Queue');
  const shapeOf = (props: Record<string, any>): Record<string, unknown> => ({
    visibilityTimeoutSeconds: props.VisibilityTimeout,
    retentionSeconds: props.MessageRetentionPeriod,
    ...(props.RedrivePolicy
      ? {
          deadLetter: {
            queue: shapeOf(resources[logicalIdOf(props.RedrivePolicy.deadLetterTargetArn)]!.Properties),
            maxReceiveCount: props.RedrivePolicy.maxReceiveCount,
          },
        }
      : {}),
  });
  return queues.map(([, q]) => shapeOf(q.Properties));
}

function designShapes(): Record<string, unknown>[] {
  const designs = queueDesigns(settings);
  const shapeOf = (design: QueueDesign): Record<string, unknown> => ({
    visibilityTimeoutSeconds: design.visibilityTimeoutSeconds,
    retentionSeconds: design.retentionSeconds,
    ...(design.deadLetter
      ? { deadLetter: { queue: shapeOf(designs[design.deadLetter.queue]), maxReceiveCount: design.deadLetter.maxReceiveCount } }
      : {}),
  });
  return Object.values(designs).map(shapeOf);
}

const sortKey = (value: unknown) => JSON.stringify(value);

describe('local/cloud parity', () => {
  it('synthesizes exactly the queues queueDesigns(settings) describes, dead-letter wiring included', () => {
    expect(templateQueues().map(sortKey).sort()).toEqual(designShapes().map(sortKey).sort());
    // Deliveries: a last-resort net with headroom, not the retry counter: 5 attempts + 5 spare receives.
    expect(queueDesigns(settings).deliveries.deadLetter?.maxReceiveCount).toBe(10);
    // The default schedule's last step (43,200 s + 20%) outlasts one 12 h visibility window: one extra receive.
    expect(queueDesigns(resolveSettings({})).deliveries.deadLetter?.maxReceiveCount).toBe(10 + 1 + 5);
    // Jobs: also a net, not the retry counter (attempts are counted on the job): attempts, a lease
    // wait before each, 5 spare receives.
    expect(queueDesigns(settings).jobs.deadLetter?.maxReceiveCount).toBe(2 * settings.extraction.maxAttempts + 5);
    expect(queueDesigns(resolveSettings({})).jobs.deadLetter?.maxReceiveCount).toBe(2 * 5 + 5);
  });

  it('synthesizes the table lib/table-design.ts describes', () => {
    const tables = Object.values(resources).filter((r) => r.Type === 'AWS::DynamoDB::Table');
    expect(tables).toHaveLength(1);
    const table = tables[0]!.Properties;
    expect(table.KeySchema).toEqual([
      { AttributeName: TABLE_KEYS.partitionKey, KeyType: 'HASH' },
      { AttributeName: TABLE_KEYS.sortKey, KeyType: 'RANGE' },
    ]);
    expect(table.TimeToLiveSpecification).toEqual({ AttributeName: TTL_ATTRIBUTE, Enabled: true });
    const indexes = (table.GlobalSecondaryIndexes as any[]).map((index) => ({
      indexName: index.IndexName,
      partitionKey: index.KeySchema.find((k: any) => k.KeyType === 'HASH').AttributeName,
      sortKey: index.KeySchema.find((k: any) => k.KeyType === 'RANGE').AttributeName,
      projection: index.Projection.ProjectionType,
    }));
    expect(indexes.sort((a, b) => a.indexName.localeCompare(b.indexName))).toEqual(
      ALL_INDEXES.map((i) => ({ indexName: i.indexName, partitionKey: i.partitionKey, sortKey: i.sortKey, projection: i.projection }))
        .sort((a, b) => a.indexName.localeCompare(b.indexName)),
    );
    const keyNames = [TABLE_KEYS.partitionKey, TABLE_KEYS.sortKey, ...ALL_INDEXES.flatMap((i) => [i.partitionKey, i.sortKey])];
    expect([...table.AttributeDefinitions].sort((a: any, b: any) => a.AttributeName.localeCompare(b.AttributeName))).toEqual(
      keyNames.sort().map((name) => ({ AttributeName: name, AttributeType: KEY_ATTRIBUTE_TYPE })),
    );
  });

  it('creates live emulator queues and a table that match the template', async () => {
    const emulators = await startEmulators({});
    const credentials = { accessKeyId: 'local', secretAccessKey: 'local' };
    const dynamo = new DynamoDBClient({ endpoint: emulators.dynamoEndpoint, region: 'us-east-1', credentials });
    const sqs = new SQSClient({ endpoint: emulators.awsEndpoint, region: 'us-east-1', credentials, useQueueUrlAsEndpoint: false });
    try {
      await createTables(dynamo);
      const urls = createQueues(emulators.fauxqs, settings);
      const arnToShape = new Map<string, Record<string, unknown>>();
      const live: Record<string, Record<string, string>> = {};
      for (const [name, url] of Object.entries(urls)) {
        const { Attributes } = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['All'] }));
        live[name] = Attributes!;
      }
      const shapeOf = (attributes: Record<string, string>): Record<string, unknown> => {
        const redrive = attributes.RedrivePolicy ? JSON.parse(attributes.RedrivePolicy) : undefined;
        return {
          visibilityTimeoutSeconds: Number(attributes.VisibilityTimeout),
          retentionSeconds: Number(attributes.MessageRetentionPeriod),
          ...(redrive
            ? { deadLetter: { queue: arnToShape.get(redrive.deadLetterTargetArn), maxReceiveCount: Number(redrive.maxReceiveCount) } }
            : {}),
        };
      };
      for (const attributes of Object.values(live)) if (!attributes.RedrivePolicy) arnToShape.set(attributes.QueueArn!, shapeOf(attributes));
      const liveShapes = Object.values(live).map(shapeOf);
      expect(liveShapes.map(sortKey).sort()).toEqual(templateQueues().map(sortKey).sort());

      const { Table } = await dynamo.send(new DescribeTableCommand({ TableName: LOCAL_NAMES.table }));
      const template = Object.values(resources).find((r) => r.Type === 'AWS::DynamoDB::Table')!.Properties;
      expect(Table!.KeySchema).toEqual(template.KeySchema);
      const liveIndexes = (Table!.GlobalSecondaryIndexes ?? []).map((i) => ({ name: i.IndexName, keys: i.KeySchema, projection: i.Projection?.ProjectionType }));
      const templateIndexes = (template.GlobalSecondaryIndexes as any[]).map((i) => ({ name: i.IndexName, keys: i.KeySchema, projection: i.Projection.ProjectionType }));
      expect(liveIndexes.map(sortKey).sort()).toEqual(templateIndexes.map(sortKey).sort());
    } finally {
      dynamo.destroy();
      sqs.destroy();
      await emulators.stop();
    }
  });
});
