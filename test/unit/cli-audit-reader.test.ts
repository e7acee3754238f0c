// The audit reader reads only through the documented keys and indexes: Queries on a key
// range, never a Scan.
import { afterEach, describe, expect, it } from 'vitest';
import { mockClient } from 'aws-sdk-client-mock';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, QueryCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';
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

describe('listAttempts', () => {
  const window = { since: new Date('2026-01-01T00:00:00Z'), until: new Date('2026-01-02T00:00:00Z') };

  it('queries gsi1 on the tenant partition with a time range, following pages', async () => {
    dynamo
      .on(QueryCommand)
      .resolvesOnce({ Items: [attempt('2026-01-01T05:00:00.000Z', 2)], LastEvaluatedKey: { pk: 'x' } })
      .resolvesOnce({ Items: [attempt('2026-01-01T04:00:00.000Z', 1, 'retrying')] });
    const reader = createDynamoAuditReader(db, { tableName: 'metahook' });
    const attempts = await reader.listAttempts('ten_1', window);

    expect(inputsOf(QueryCommand)).toHaveLength(2);
    expect(inputsOf(QueryCommand)[0]).toMatchObject({
      TableName: 'metahook',
      IndexName: 'gsi1',
      KeyConditionExpression: 'gsi1pk = :pk AND gsi1sk BETWEEN :since AND :until',
      ExpressionAttributeValues: { ':pk': 'TENANT#ten_1#ATTEMPTS', ':since': '2026-01-01T00:00:00.000Z', ':until': '2026-01-02T00:00:00.000Z' },
    });
    expect(inputsOf(QueryCommand)[1]).toMatchObject({ ExclusiveStartKey: { pk: 'x' } });
    expect(inputsOf(ScanCommand)).toHaveLength(0);
    // Oldest first, storage attributes stripped.
    expect(attempts.map((a) => a.attempt)).toEqual([1, 2]);
    expect(attempts[0]).not.toHaveProperty('gsi1pk');
    expect(attempts[0]).not.toHaveProperty('pk');
  });

  it('uses the outcome index (gsi2) for --outcome, and stops at the limit', async () => {
    dynamo.on(QueryCommand).resolves({ Items: [attempt('2026-01-01T04:00:00.000Z', 1, 'failed')], LastEvaluatedKey: { pk: 'more' } });
    const reader = createDynamoAuditReader(db, { tableName: 'metahook' });
    const attempts = await reader.listAttempts('ten_1', { ...window, outcome: 'failed', limit: 1 });
    expect(attempts).toHaveLength(1);
    expect(inputsOf(QueryCommand)).toHaveLength(1);
    expect(inputsOf(QueryCommand)).toContainEqual(expect.objectContaining({
      IndexName: 'gsi2',
      KeyConditionExpression: 'gsi2pk = :pk AND gsi2sk BETWEEN :since AND :until',
      ExpressionAttributeValues: expect.objectContaining({ ':pk': 'TENANT#ten_1#ATTEMPTS#failed' }),
    }));
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
          { pk: 'TENANT#ten_1#JOB#job_1', sk: 'JOB', entity: 'job', job_id: 'job_1', batch_id: 'bat_1', tenant_id: 'ten_1', processing_attempts: 2 },
          attempt('2026-01-01T04:00:00.000Z', 1, 'retrying'),
        ],
      })
      .on(QueryCommand, { ExpressionAttributeValues: { ':pk': 'TENANT#ten_1#BATCH#bat_1' } })
      .resolves({
        Items: [{ pk: 'TENANT#ten_1#BATCH#bat_1', sk: 'BATCH', batch_id: 'bat_1', total: 1, completed_jobs: new Set(['job_1']) }],
      });
    const reader = createDynamoAuditReader(db, { tableName: 'metahook' });
    const story = await reader.readJobStory('ten_1', 'job_1');
    expect(story!.job).toMatchObject({ job_id: 'job_1', processing_attempts: 2 });
    expect(story!.job).not.toHaveProperty('sk');
    expect(story!.attempts.map((a) => a.attempt)).toEqual([1, 2]);
    expect(story!.batch).toMatchObject({ batch_id: 'bat_1', counts: { completed: 1, failed: 0, cancelled: 0 } });
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
