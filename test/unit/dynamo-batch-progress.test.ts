// The batch progress adapter: one fixed-size progress item per batch, slots set idempotently,
// batch.completed claimed by exactly one job.
import { afterEach, describe, expect, it } from 'vitest';
import { mockClient } from 'aws-sdk-client-mock';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { createDynamoBatchProgress } from '../../lambdas/adapters/dynamo/batch-progress';
import { keys } from '../../lambdas/adapters/dynamo/keys';

const db = DynamoDBDocumentClient.from(new DynamoDBClient({ region: 'us-east-1' }));
const dynamo = mockClient(db);
afterEach(() => dynamo.reset());
const inputsOf = (command: any): any[] => dynamo.commandCalls(command).map((call) => call.args[0].input);
const conditionFailed = () => Object.assign(new Error('failed'), { name: 'ConditionalCheckFailedException' });
const progress = () => createDynamoBatchProgress(db, { tableName: 'metahook' });
const NOW = new Date('2026-01-01T00:01:00.000Z');

describe('recordBatchProgress', () => {
  it('sets the job\'s slot on the progress item (never the batch item) and counts the slots', async () => {
    dynamo.on(UpdateCommand).resolves({ Attributes: { total: 4, slots: [1, 0, 2, 3] } });
    const counts = await progress().recordBatchProgress('ten_1', 'bat_1', 'job_3', 'failed', 2);
    expect(inputsOf(UpdateCommand)).toEqual([
      {
        TableName: 'metahook',
        Key: keys.batchProgress('ten_1', 'bat_1'),
        UpdateExpression: 'SET slots[2] = :status',
        // A slot past the end would append (and corrupt the counts): refused.
        ConditionExpression: 'attribute_exists(pk) AND #total > :index',
        ExpressionAttributeNames: { '#total': 'total' },
        ExpressionAttributeValues: { ':status': 2, ':index': 2 },
        ReturnValues: 'ALL_NEW',
      },
    ]);
    expect(counts).toEqual({ total: 4, completed: 1, failed: 1, cancelled: 1 });
    expect(inputsOf(GetCommand)).toHaveLength(0);
  });

  it('looks the slot up in the batch\'s job ids when the caller has none', async () => {
    dynamo.on(GetCommand).resolves({ Item: { job_ids: ['job_1', 'job_2'] } });
    dynamo.on(UpdateCommand).resolves({ Attributes: { total: 2, slots: [0, 1] } });
    await progress().recordBatchProgress('ten_1', 'bat_1', 'job_2', 'completed');
    expect(inputsOf(GetCommand)[0]).toEqual({ TableName: 'metahook', Key: keys.batch('ten_1', 'bat_1'), ConsistentRead: true, ProjectionExpression: 'job_ids' });
    expect(inputsOf(UpdateCommand)[0].UpdateExpression).toBe('SET slots[1] = :status');
  });

  it('refuses a job that is not in the batch without writing', async () => {
    dynamo.on(GetCommand).resolves({ Item: { job_ids: ['job_1'] } });
    await expect(progress().recordBatchProgress('ten_1', 'bat_1', 'job_x', 'completed')).rejects.toThrow(/not one of batch/);
    expect(inputsOf(UpdateCommand)).toHaveLength(0);
  });

  it('refuses a slot that is not a whole number (it is written into the expression)', async () => {
    await expect(progress().recordBatchProgress('ten_1', 'bat_1', 'job_1', 'completed', 1.5)).rejects.toThrow(RangeError);
    expect(inputsOf(UpdateCommand)).toHaveLength(0);
  });
});

describe('claimBatchCompletion', () => {
  it('claims once per batch on the progress item; the same job may claim again, another may not', async () => {
    dynamo.on(UpdateCommand).resolvesOnce({}).rejectsOnce(conditionFailed());
    expect(await progress().claimBatchCompletion('ten_1', 'bat_1', 'job_1', NOW)).toBe(true);
    expect(await progress().claimBatchCompletion('ten_1', 'bat_1', 'job_2', NOW)).toBe(false);
    expect(inputsOf(UpdateCommand)[0]).toEqual({
      TableName: 'metahook',
      Key: keys.batchProgress('ten_1', 'bat_1'),
      UpdateExpression: 'SET completed_event_at = if_not_exists(completed_event_at, :now), completed_event_by = :job',
      ConditionExpression: 'attribute_not_exists(completed_event_at) OR completed_event_by = :job',
      ExpressionAttributeValues: { ':now': NOW.toISOString(), ':job': 'job_1' },
    });
  });
});

describe('getBatch', () => {
  it('reads the batch and its progress in one consistent Query, skipping the attempt rows', async () => {
    dynamo.on(QueryCommand).resolves({
      Items: [
        { ...keys.batch('ten_1', 'bat_1'), batch_id: 'bat_1', total: 2, job_ids: ['job_1', 'job_2'], metadata: null },
        { ...keys.batchProgress('ten_1', 'bat_1'), total: 2, slots: [1, 1], completed_event_at: NOW.toISOString(), completed_event_by: 'job_2', delivery: { status: 'delivered', attempts: 1 } },
      ],
    });
    const batch = await progress().getBatch('ten_1', 'bat_1');
    expect(inputsOf(QueryCommand)).toEqual([
      {
        TableName: 'metahook',
        KeyConditionExpression: 'pk = :pk AND sk >= :batch',
        ExpressionAttributeValues: { ':pk': 'TENANT#ten_1#BATCH#bat_1', ':batch': 'BATCH' },
        ConsistentRead: true,
      },
    ]);
    expect(batch).toMatchObject({ batch_id: 'bat_1', counts: { completed: 2, failed: 0, cancelled: 0 }, completed_event_at: NOW.toISOString(), delivery: { status: 'delivered' } });
    expect(batch).not.toHaveProperty('completed_event_by');
    expect(batch).not.toHaveProperty('slots');
  });

  it('is undefined without a batch item', async () => {
    dynamo.on(QueryCommand).resolves({ Items: [] });
    expect(await progress().getBatch('ten_1', 'bat_9')).toBeUndefined();
  });
});
