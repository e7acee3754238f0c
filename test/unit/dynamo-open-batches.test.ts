// The open-batch index adapter: batches wait on the progress item's sparse gsi3 keys until
// batch.completed is claimed; every change the sweeper makes is conditional on the entry it found.
import { afterEach, describe, expect, it } from 'vitest';
import { mockClient } from 'aws-sdk-client-mock';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { batchItems } from '../../lambdas/adapters/dynamo/job-lifecycle';
import { createDynamoOpenBatches } from '../../lambdas/adapters/dynamo/open-batches';
import { keys } from '../../lambdas/adapters/dynamo/keys';
import type { BatchRecord, JobRecord } from '../../lambdas/core/records';

const db = DynamoDBDocumentClient.from(new DynamoDBClient({ region: 'us-east-1' }));
const dynamo = mockClient(db);
afterEach(() => dynamo.reset());
const inputsOf = (command: any): any[] => dynamo.commandCalls(command).map((call) => call.args[0].input);
const conditionFailed = () => Object.assign(new Error('failed'), { name: 'ConditionalCheckFailedException' });
const open = () => createDynamoOpenBatches(db, { tableName: 'metahook' });
const ENTRY = { tenantId: 'ten_1', batchId: 'bat_1', checkAt: '2026-01-01T01:00:00.000Z' };
const SEEN = keys.openBatchIndex('ten_1', 'bat_1', new Date(ENTRY.checkAt));

describe('open-batch index', () => {
  it('the intake writes a batch with jobs into the index, due after the check delay; a batch of duplicates only is not', () => {
    const batch = { batch_id: 'bat_1', tenant_id: 'ten_1', job_ids: ['job_1'], duplicate_job_ids: [], total: 1, created_at: '2026-01-01T00:00:00.000Z', counts: { completed: 0, failed: 0, cancelled: 0 } } as unknown as BatchRecord;
    const [, progress] = batchItems(batch, [{ job_id: 'job_1', tenant_id: 'ten_1', created_at: batch.created_at } as JobRecord], 1, 3600);
    expect(progress).toMatchObject({ sk: 'PROGRESS', ...keys.openBatchIndex('ten_1', 'bat_1', new Date('2026-01-01T01:00:00.000Z')) });
    const [, empty] = batchItems({ ...batch, job_ids: [] }, [], 1, 3600);
    expect(empty).not.toHaveProperty('gsi3pk');
  });

  it('lists overdue batches from every shard, oldest first', async () => {
    dynamo.on(QueryCommand).callsFake(async (input) =>
      input.ExpressionAttributeValues[':pk'] === 'BATCHES#3' ? { Items: [{ gsi3sk: `${ENTRY.checkAt}#ten_1#bat_1` }] } : { Items: [] });
    expect(await open().listOverdue(new Date('2026-01-01T02:00:00Z'), 10)).toEqual([ENTRY]);
    expect(inputsOf(QueryCommand).map((input) => input.ExpressionAttributeValues[':pk'] as string).sort((a, b) => a.localeCompare(b))).toEqual(
      Array.from({ length: 8 }, (_, shard) => `BATCHES#${shard}`),
    );
  });

  it('inspects only an entry that is still the one found', async () => {
    const items = (gsi3sk: string | undefined) => ({
      Items: [
        { ...keys.batch('ten_1', 'bat_1'), batch_id: 'bat_1', job_ids: ['job_1', 'job_2'], total: 2 },
        { ...keys.batchProgress('ten_1', 'bat_1'), total: 2, slots: [1, 0], ...(gsi3sk ? { gsi3sk } : {}), open_checks: 2 },
      ],
    });
    dynamo.on(QueryCommand).resolvesOnce(items(SEEN.gsi3sk)).resolvesOnce(items(undefined));
    expect(await open().inspect(ENTRY)).toMatchObject({ slots: ['completed', 'pending'], checks: 2, batch: { counts: { completed: 1 } } });
    expect(await open().inspect(ENTRY)).toBeUndefined(); // claimed by a job meanwhile: its claim removed the keys
  });

  it('claims as the sweeper without closing, then closes; both conditional on the entry found', async () => {
    dynamo.on(UpdateCommand).resolvesOnce({}).resolvesOnce({}).rejects(conditionFailed());
    expect(await open().claimCompletion(ENTRY, new Date('2026-01-01T02:00:00Z'))).toBe(true);
    await open().close(ENTRY);
    expect(await open().claimCompletion(ENTRY, new Date('2026-01-01T02:00:00Z'))).toBe(false);
    const [claim, close] = inputsOf(UpdateCommand);
    expect(claim).toMatchObject({
      UpdateExpression: 'SET completed_event_at = if_not_exists(completed_event_at, :now), completed_event_by = :by',
      ConditionExpression: 'gsi3sk = :seen AND (attribute_not_exists(completed_event_at) OR completed_event_by = :by)',
      ExpressionAttributeValues: { ':by': 'sweeper', ':seen': SEEN.gsi3sk },
    });
    expect(close).toMatchObject({ UpdateExpression: 'REMOVE gsi3pk, gsi3sk', ConditionExpression: 'gsi3sk = :seen' });
  });

  it('postpones by moving the check time, counting the check', async () => {
    dynamo.on(UpdateCommand).resolves({});
    expect(await open().postpone(ENTRY, new Date('2026-01-01T03:00:00.000Z'))).toBe(true);
    expect(inputsOf(UpdateCommand)[0]).toMatchObject({
      UpdateExpression: 'SET gsi3sk = :next ADD open_checks :one',
      ConditionExpression: 'gsi3sk = :seen',
      ExpressionAttributeValues: { ':next': keys.openBatchIndex('ten_1', 'bat_1', new Date('2026-01-01T03:00:00.000Z')).gsi3sk, ':seen': SEEN.gsi3sk },
    });
  });
});
