// The intake's two stores: dedupe claims (one conditional PutItem per file, all or nothing) and
// the enqueue outbox (sharded, swept oldest first).
import { afterEach, describe, expect, it } from 'vitest';
import { mockClient } from 'aws-sdk-client-mock';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DeleteCommand, DynamoDBDocumentClient, GetCommand, PutCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { createDynamoDedupeClaims } from '../../lambdas/adapters/dynamo/dedupe-claims';
import { createDynamoEnqueueOutbox } from '../../lambdas/adapters/dynamo/enqueue-outbox';
import { keys, OUTBOX_SHARDS, outboxShard } from '../../lambdas/adapters/dynamo/keys';
import type { DedupeReservation } from '../../lambdas/core/ports';

const db = DynamoDBDocumentClient.from(new DynamoDBClient({ region: 'us-east-1' }));
const dynamo = mockClient(db);
afterEach(() => dynamo.reset());
const inputsOf = (command: any): any[] => dynamo.commandCalls(command).map((call) => call.args[0].input);
const conditionFailed = () => Object.assign(new Error('failed'), { name: 'ConditionalCheckFailedException' });

const NOW = new Date('2026-01-01T00:00:00.000Z');
const EXPIRES = new Date('2026-01-02T00:00:00.000Z');
const claim = (n: number): DedupeReservation => ({ tenantId: 'ten_1', dedupeKey: `hash${n}`, jobId: `job_${n}`, now: NOW, expiresAt: EXPIRES });

describe('dedupe claims', () => {
  it('claims each key with a conditional PutItem that treats an expired claim as absent', async () => {
    dynamo.on(PutCommand).resolves({});
    const results = await createDynamoDedupeClaims(db, { tableName: 'metahook' }).reserve([claim(1)]);
    expect(results).toEqual([{ reserved: true, jobId: 'job_1' }]);
    expect(inputsOf(PutCommand)[0]).toEqual({
      TableName: 'metahook',
      Item: { ...keys.dedupe('ten_1', 'hash1'), entity: 'dedupe', job_id: 'job_1', reserved_at: NOW.toISOString(), expires_at: EXPIRES.getTime() / 1000 },
      ConditionExpression: 'attribute_not_exists(pk) OR expires_at < :now',
      ExpressionAttributeValues: { ':now': NOW.getTime() / 1000 },
    });
  });

  it('answers an existing claim with its job, read consistently', async () => {
    dynamo.on(PutCommand).rejects(conditionFailed());
    dynamo.on(GetCommand).resolves({ Item: { job_id: 'job_old', reserved_at: '2025-12-31T23:00:00.000Z' } });
    const results = await createDynamoDedupeClaims(db, { tableName: 'metahook' }).reserve([claim(1)]);
    expect(results).toEqual([{ reserved: false, jobId: 'job_old', reservedAt: '2025-12-31T23:00:00.000Z' }]);
    expect(inputsOf(GetCommand)[0]).toEqual({ TableName: 'metahook', Key: keys.dedupe('ten_1', 'hash1'), ConsistentRead: true });
  });

  it('all or nothing: when one claim errors, the claims this call made are deleted (only if still theirs) and the error is thrown', async () => {
    dynamo.on(PutCommand).callsFake(async (input) => {
      if (input.Item.job_id === 'job_2') throw new Error('throttled');
      return {};
    });
    dynamo.on(DeleteCommand).resolves({});
    await expect(createDynamoDedupeClaims(db, { tableName: 'metahook' }).reserve([claim(1), claim(2), claim(3)])).rejects.toThrow('throttled');
    expect(inputsOf(DeleteCommand).map((input) => String(input.Key.pk)).sort()).toEqual([keys.dedupe('ten_1', 'hash1').pk, keys.dedupe('ten_1', 'hash3').pk]);
    expect(inputsOf(DeleteCommand)[0]).toMatchObject({ ConditionExpression: 'job_id = :job' });
  });

  it('takes over a stale claim only while it still names the dead job', async () => {
    dynamo.on(UpdateCommand).rejects(conditionFailed());
    expect(await createDynamoDedupeClaims(db, { tableName: 'metahook' }).takeOverReservation(claim(1), 'job_dead')).toBe(false);
    expect(inputsOf(UpdateCommand)[0]).toEqual({
      TableName: 'metahook',
      Key: keys.dedupe('ten_1', 'hash1'),
      UpdateExpression: 'SET job_id = :job, reserved_at = :now, expires_at = :expires',
      ConditionExpression: 'job_id = :stale',
      ExpressionAttributeValues: { ':job': 'job_1', ':now': NOW.toISOString(), ':expires': EXPIRES.getTime() / 1000, ':stale': 'job_dead' },
    });
  });
});

describe('enqueue outbox', () => {
  const entry = { tenantId: 'ten_1', batchId: 'bat_1', jobIds: ['job_1'], createdAt: NOW.toISOString() };

  it('opens and closes one item on the batch\'s shard', async () => {
    dynamo.on(PutCommand).resolves({});
    dynamo.on(DeleteCommand).resolves({});
    const outbox = createDynamoEnqueueOutbox(db, { tableName: 'metahook', retentionDays: 90 });
    await outbox.openEnqueueOutbox(entry);
    await outbox.closeEnqueueOutbox(entry);
    const key = { pk: `OUTBOX#${outboxShard('bat_1')}`, sk: `${NOW.toISOString()}#bat_1` };
    expect(inputsOf(PutCommand)[0]).toEqual({
      TableName: 'metahook',
      Item: { ...key, entity: 'outbox', tenant_id: 'ten_1', batch_id: 'bat_1', job_ids: ['job_1'], created_at: NOW.toISOString(), expires_at: NOW.getTime() / 1000 + 90 * 86_400 },
    });
    expect(inputsOf(DeleteCommand)[0]).toEqual({ TableName: 'metahook', Key: key });
  });

  it('lists stale entries from every shard, oldest first, at most the limit', async () => {
    dynamo.on(QueryCommand).resolves({ Items: [] });
    dynamo.on(QueryCommand, { ExpressionAttributeValues: { ':pk': 'OUTBOX#2', ':before': NOW.toISOString() } }).resolves({
      Items: [{ tenant_id: 't', batch_id: 'b2', job_ids: ['j'], created_at: '2025-12-31T23:59:02.000Z' }],
    });
    dynamo.on(QueryCommand, { ExpressionAttributeValues: { ':pk': 'OUTBOX#5', ':before': NOW.toISOString() } }).resolves({
      Items: [{ tenant_id: 't', batch_id: 'b5', job_ids: ['k'], created_at: '2025-12-31T23:59:01.000Z' }],
    });
    const stale = await createDynamoEnqueueOutbox(db, { tableName: 'metahook', retentionDays: 90 }).listStaleEnqueueOutbox(NOW, 1);
    expect(inputsOf(QueryCommand)).toHaveLength(OUTBOX_SHARDS);
    expect(inputsOf(QueryCommand)[0]).toMatchObject({ KeyConditionExpression: 'pk = :pk AND sk < :before', Limit: 1, ConsistentRead: true });
    expect(stale).toEqual([{ tenantId: 't', batchId: 'b5', jobIds: ['k'], createdAt: '2025-12-31T23:59:01.000Z' }]);
  });
});
