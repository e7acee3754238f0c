// The audit reader reads only through the documented keys and indexes: Queries on a key
// range, never a Scan.
import { afterEach, describe, expect, it } from 'vitest';
import { mockClient } from 'aws-sdk-client-mock';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { BatchGetCommand, DynamoDBDocumentClient, QueryCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { createDynamoAuditReader } from '../../lambdas/adapters/dynamo/audit-reader';

const db = DynamoDBDocumentClient.from(new DynamoDBClient({ region: 'us-east-1' }));
const dynamo = mockClient(db);
afterEach(() => dynamo.reset());

/** Inputs of every call of one command, in order (aws-sdk-client-mock's own call log). */
const inputsOf = (command: any): any[] => dynamo.commandCalls(command).map((call) => call.args[0].input);

const attempt = (started_at: string, n: number, outcome = 'delivered') => ({
  pk: 'TENANT#ten_1#JOB#job_1',
  sk: `ATTEMPT#msg_1#000${n}`,
  gsi1pk: 'TENANT#ten_1#ATTEMPTS',
  gsi1sk: `${started_at}#msg_1#000${n}`,
  entity: 'delivery_attempt',
  expires_at: 1,
  tenant_id: 'ten_1',
  event_id: 'msg_1',
  job_id: 'job_1',
  attempt: n,
  started_at,
  outcome,
});

const shardOfTest = (n: number) => `TENANT#ten_1#ATTEMPTS#${n}`;

describe('listAttempts', () => {
  const window = { since: new Date('2026-01-01T00:00:00Z'), until: new Date('2026-01-02T00:00:00Z') };
  const keyOf = (item: ReturnType<typeof attempt>) => ({ pk: item.pk, sk: item.sk, gsi1pk: item.gsi1pk, gsi1sk: item.gsi1sk });

  it('queries every gsi1 shard with the time range, follows a shard\'s pages, merges oldest first and reads the rows by key', async () => {
    const late = attempt('2026-01-01T05:00:00.000Z', 2);
    const early = attempt('2026-01-01T04:00:00.000Z', 1, 'retrying');
    dynamo.on(QueryCommand).resolves({ Items: [] });
    dynamo
      .on(QueryCommand, { ExpressionAttributeValues: { ':pk': shardOfTest(3) } })
      .resolvesOnce({ Items: [keyOf(early)], LastEvaluatedKey: { pk: 'x' } })
      .resolvesOnce({ Items: [keyOf(late)] });
    dynamo.on(BatchGetCommand).resolves({ Responses: { metahook: [late, early] } });
    const reader = createDynamoAuditReader(db, { tableName: 'metahook' });
    const attempts = await reader.listAttempts('ten_1', window);

    const queries = inputsOf(QueryCommand);
    expect(queries.map((q) => String(q.ExpressionAttributeValues[':pk'])).sort()).toEqual(
      [...Array.from({ length: 8 }, (_, n) => shardOfTest(n)), shardOfTest(3)].sort(),
    );
    expect(queries[0]).toMatchObject({
      TableName: 'metahook',
      IndexName: 'gsi1',
      KeyConditionExpression: '#pk = :pk AND #sk BETWEEN :from AND :before',
      ExpressionAttributeNames: { '#pk': 'gsi1pk', '#sk': 'gsi1sk' },
      ExpressionAttributeValues: expect.objectContaining({ ':from': '2026-01-01T00:00:00.000Z', ':before': '2026-01-02T00:00:00.000Z' }),
      ScanIndexForward: true,
    });
    expect(queries.filter((q) => q.ExclusiveStartKey)).toEqual([expect.objectContaining({ ExclusiveStartKey: { pk: 'x' } })]);
    expect(inputsOf(BatchGetCommand)[0].RequestItems.metahook).toMatchObject({
      Keys: [{ pk: early.pk, sk: early.sk }, { pk: late.pk, sk: late.sk }],
      ConsistentRead: true,
    });
    expect(inputsOf(ScanCommand)).toHaveLength(0);
    // Oldest first, storage attributes stripped.
    expect(attempts.map((a) => a.attempt)).toEqual([1, 2]);
    expect(attempts[0]).not.toHaveProperty('gsi1pk');
    expect(attempts[0]).not.toHaveProperty('pk');
  });

  it('uses the outcome index (gsi2) shards for --outcome, and stops at the limit', async () => {
    const failed = attempt('2026-01-01T04:00:00.000Z', 1, 'failed');
    dynamo.on(QueryCommand).resolves({ Items: [{ pk: failed.pk, sk: failed.sk, gsi2sk: failed.gsi1sk }], LastEvaluatedKey: { pk: 'more' } });
    dynamo.on(BatchGetCommand).resolves({ Responses: { metahook: [failed] } });
    const reader = createDynamoAuditReader(db, { tableName: 'metahook' });
    const attempts = await reader.listAttempts('ten_1', { ...window, outcome: 'failed', limit: 1 });
    expect(attempts).toHaveLength(1);
    expect(inputsOf(QueryCommand)).toHaveLength(8);
    expect(inputsOf(QueryCommand)).toContainEqual(expect.objectContaining({
      IndexName: 'gsi2',
      ExpressionAttributeNames: { '#pk': 'gsi2pk', '#sk': 'gsi2sk' },
      ExpressionAttributeValues: expect.objectContaining({ ':pk': 'TENANT#ten_1#ATTEMPTS#failed#0' }),
    }));
    expect(inputsOf(BatchGetCommand)[0].RequestItems.metahook.Keys).toHaveLength(1);
  });

  it('refuses an empty or inverted window', async () => {
    const reader = createDynamoAuditReader(db, { tableName: 'metahook' });
    await expect(reader.listAttempts('ten_1', { since: window.until, until: window.since })).rejects.toThrow(RangeError);
    expect(inputsOf(QueryCommand)).toHaveLength(0);
  });
});

describe('readJobStory', () => {
  it('reads the job partition and its batch partition, one Query each', async () => {
    dynamo
      .on(QueryCommand, { ExpressionAttributeValues: { ':pk': 'TENANT#ten_1#JOB#job_1' } })
      .resolves({
        Items: [
          attempt('2026-01-01T05:00:00.000Z', 2),
          { pk: 'TENANT#ten_1#JOB#job_1', sk: 'DELIVERY', entity: 'job_delivery', delivery: { status: 'delivered', attempts: 2, event_id: 'evt_1' } },
          { pk: 'TENANT#ten_1#JOB#job_1', sk: 'JOB', entity: 'job', job_id: 'job_1', batch_id: 'bat_1', tenant_id: 'ten_1', processing_attempts: 2, metadata_in_batch: true },
          attempt('2026-01-01T04:00:00.000Z', 1, 'retrying'),
        ],
      })
      .on(QueryCommand, { ExpressionAttributeValues: { ':pk': 'TENANT#ten_1#BATCH#bat_1' } })
      .resolves({
        Items: [
          { pk: 'TENANT#ten_1#BATCH#bat_1', sk: 'BATCH', batch_id: 'bat_1', total: 1, job_ids: ['job_1'], metadata: { order: 7 } },
          { pk: 'TENANT#ten_1#BATCH#bat_1', sk: 'PROGRESS', total: 1, slots: [1], completed_event_at: '2026-01-01T06:00:00.000Z' },
        ],
      });
    const reader = createDynamoAuditReader(db, { tableName: 'metahook' });
    const story = await reader.readJobStory('ten_1', 'job_1');
    expect(story!.job).toMatchObject({ job_id: 'job_1', processing_attempts: 2 });
    expect(story!.job).not.toHaveProperty('sk');
    // The summary item beside the job is shown as the job's delivery, not as an attempt.
    expect(story!.job.delivery).toEqual({ status: 'delivered', attempts: 2, event_id: 'evt_1' });
    expect(story!.attempts.map((a) => a.attempt)).toEqual([1, 2]);
    expect(story!.batch).toMatchObject({ batch_id: 'bat_1', counts: { completed: 1, failed: 0, cancelled: 0 }, completed_event_at: '2026-01-01T06:00:00.000Z' });
    // Metadata is stored once, on the batch item; the story shows it on the job.
    expect(story!.job.metadata).toEqual({ order: 7 });
    expect(story!.batchAttempts).toEqual([]);
    expect(inputsOf(QueryCommand)).toHaveLength(2);
    expect(inputsOf(QueryCommand)).toContainEqual(expect.objectContaining({ KeyConditionExpression: 'pk = :pk', ConsistentRead: true }));
    expect(inputsOf(ScanCommand)).toHaveLength(0);
  });

  it('returns undefined for a job the tenant does not have, without reading a batch', async () => {
    dynamo.on(QueryCommand).resolves({ Items: [] });
    const reader = createDynamoAuditReader(db, { tableName: 'metahook' });
    expect(await reader.readJobStory('ten_2', 'job_1')).toBeUndefined();
    expect(inputsOf(QueryCommand)).toHaveLength(1);
  });
});
