// The delivery ledger (summary writes that never move backwards) and the job listings (sharded
// merge with the same pagination contract: opaque cursor, newest first, limit).
import { afterEach, describe, expect, it } from 'vitest';
import { mockClient } from 'aws-sdk-client-mock';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { BatchGetCommand, DynamoDBDocumentClient, GetCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { createDynamoDeliveryLedger } from '../../lambdas/adapters/dynamo/delivery-ledger';
import { createDynamoJobListings } from '../../lambdas/adapters/dynamo/job-listings';
import { jobListingSortKey, keys, LISTING_SHARDS, shardOf } from '../../lambdas/adapters/dynamo/keys';
import { ApiError } from '../../lambdas/core/errors';

const db = DynamoDBDocumentClient.from(new DynamoDBClient({ region: 'us-east-1' }));
const dynamo = mockClient(db);
afterEach(() => dynamo.reset());
const inputsOf = (command: any): any[] => dynamo.commandCalls(command).map((call) => call.args[0].input);
const AT = new Date('2026-01-01T00:05:00.000Z');

describe('delivery ledger', () => {
  const update = { tenantId: 'ten_1', eventId: 'msg_1', attempt: 2, failures: 2, lastStatusCode: 500, lastError: 'HTTP 500', at: AT };

  it('a failed attempt never overwrites a success of the same event nor a later attempt', async () => {
    dynamo.on(UpdateCommand).resolves({});
    await createDynamoDeliveryLedger(db, { tableName: 'metahook' }).recordDeliveryOutcome({ ...update, jobId: 'job_1', status: 'pending', nextAttemptAt: AT });
    expect(inputsOf(UpdateCommand)[0]).toEqual({
      TableName: 'metahook',
      Key: keys.job('ten_1', 'job_1'),
      UpdateExpression: 'SET delivery = :delivery',
      ConditionExpression:
        'attribute_exists(pk) AND (attribute_not_exists(delivery.event_id) OR delivery.event_id <> :event ' +
        'OR (delivery.#status <> :delivered AND (attribute_not_exists(delivery.attempts) OR delivery.attempts <= :attempt)))',
      ExpressionAttributeNames: { '#status': 'status' },
      ExpressionAttributeValues: {
        ':delivery': { status: 'pending', attempts: 2, event_id: 'msg_1', last_status_code: 500, last_error: 'HTTP 500', updated_at: AT.toISOString(), failures: 2, next_attempt_at: AT.toISOString() },
        ':event': 'msg_1',
        ':delivered': 'delivered',
        ':attempt': 2,
      },
    });
  });

  it('a batch\'s summary goes to its progress item; a success always lands; a lost race is not an error', async () => {
    dynamo.on(UpdateCommand).rejects(Object.assign(new Error('x'), { name: 'ConditionalCheckFailedException' }));
    await createDynamoDeliveryLedger(db, { tableName: 'metahook' }).recordDeliveryOutcome({
      ...update,
      batchId: 'bat_1',
      status: 'delivered',
      failures: 0,
      nextAttemptAt: null,
      lastStatusCode: 200,
      lastError: null,
    });
    expect(inputsOf(UpdateCommand)[0]).toMatchObject({ Key: keys.batchProgress('ten_1', 'bat_1'), ConditionExpression: 'attribute_exists(pk)' });
  });
});

const jobItem = (id: string, created_at: string, status = 'queued') => ({
  ...keys.job('ten_1', id),
  job_id: id,
  tenant_id: 'ten_1',
  batch_id: 'bat_1',
  status,
  created_at,
});

/** The index entries of `jobs` on their shards, as gsi2 returns them (newest first per shard). */
function serveShards(jobs: ReturnType<typeof jobItem>[]) {
  dynamo.on(QueryCommand).callsFake(async (input) => {
    const shard = Number(String(input.ExpressionAttributeValues[':pk']).split('#').at(-1));
    const before = input.ExpressionAttributeValues[':before'];
    const from = input.ExpressionAttributeValues[':from'];
    const entries = jobs
      .filter((job) => shardOf(job.job_id, LISTING_SHARDS) === shard)
      .map((job) => ({ pk: job.pk, sk: job.sk, gsi2pk: input.ExpressionAttributeValues[':pk'], gsi2sk: jobListingSortKey(job.created_at, job.job_id) }))
      .filter((entry) => (before === undefined || entry.gsi2sk <= before) && (from === undefined || entry.gsi2sk >= from))
      .sort((a, b) => (a.gsi2sk < b.gsi2sk ? 1 : -1));
    const start = input.ExclusiveStartKey ? entries.findIndex((e) => e.gsi2sk === input.ExclusiveStartKey.gsi2sk) + 1 : 0;
    const page = entries.slice(start, start + input.Limit);
    return { Items: page, ...(start + input.Limit < entries.length ? { LastEvaluatedKey: page.at(-1) } : {}) };
  });
  dynamo.on(BatchGetCommand).callsFake(async (input) => ({
    Responses: { metahook: input.RequestItems.metahook.Keys.map((key: { pk: string }) => jobs.find((job) => job.pk === key.pk)).filter(Boolean) },
  }));
}

describe('job listings', () => {
  const jobs = Array.from({ length: 30 }, (_, i) =>
    jobItem(`job_${String(i).padStart(2, '0')}`, `2026-01-01T00:00:${String(i).padStart(2, '0')}.000Z`, i % 3 === 0 ? 'failed' : 'completed'),
  );
  const newestFirst = [...jobs].reverse().map((job) => job.job_id);

  it('pages a tenant\'s jobs newest first across every shard, the cursor continuing exactly where the page ended', async () => {
    serveShards(jobs);
    const listings = createDynamoJobListings(db, { tableName: 'metahook' });
    const seen: string[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const page = await listings.listJobs('ten_1', { limit: 7, ...(cursor ? { cursor } : {}) });
      expect(page.jobs.length).toBeLessThanOrEqual(7);
      seen.push(...page.jobs.map((job) => job.job_id));
      cursor = page.cursor ?? undefined;
      pages++;
    } while (cursor);
    expect(seen).toEqual(newestFirst);
    expect(pages).toBe(5);
    const partitions = new Set(inputsOf(QueryCommand).map((q) => q.ExpressionAttributeValues[':pk']));
    expect(partitions).toEqual(new Set(Array.from({ length: LISTING_SHARDS }, (_, n) => `TENANT#ten_1#JOBS#${n}`)));
    expect(inputsOf(QueryCommand)[0]).toMatchObject({ IndexName: 'gsi2', ScanIndexForward: false });
    expect(inputsOf(BatchGetCommand)[0].RequestItems.metahook.ConsistentRead).toBe(true);
  });

  it('filters by status and since, still newest first and limited', async () => {
    serveShards(jobs);
    const page = await createDynamoJobListings(db, { tableName: 'metahook' }).listJobs('ten_1', { limit: 3, status: 'failed', since: '2026-01-01T00:00:10.000Z' });
    expect(page.jobs.map((job) => job.job_id)).toEqual(['job_27', 'job_24', 'job_21']);
    expect(page.cursor).not.toBeNull();
    expect(inputsOf(QueryCommand)[0].ExpressionAttributeValues[':from']).toBe('2026-01-01T00:00:10.000Z');
    const rest = await createDynamoJobListings(db, { tableName: 'metahook' }).listJobs('ten_1', { limit: 3, status: 'failed', since: '2026-01-01T00:00:10.000Z', cursor: page.cursor! });
    expect(rest.jobs.map((job) => job.job_id)).toEqual(['job_18', 'job_15', 'job_12']);
  });

  it('refuses a cursor of another tenant\'s listing', async () => {
    serveShards(jobs);
    const listings = createDynamoJobListings(db, { tableName: 'metahook' });
    const { cursor } = await listings.listJobs('ten_1', { limit: 2 });
    await expect(listings.listJobs('ten_2', { limit: 2, cursor: cursor! })).rejects.toBeInstanceOf(ApiError);
  });

  it('lists a batch\'s jobs from its job ids, ascending, with a cursor', async () => {
    dynamo.on(GetCommand).resolves({ Item: { job_ids: ['job_03', 'job_01', 'job_02'] } });
    dynamo.on(BatchGetCommand).callsFake(async (input) => ({
      Responses: { metahook: input.RequestItems.metahook.Keys.map((key: { pk: string }) => jobs.find((job) => job.pk === key.pk)) },
    }));
    const listings = createDynamoJobListings(db, { tableName: 'metahook' });
    const first = await listings.listJobs('ten_1', { batchId: 'bat_1', limit: 2 });
    expect(first.jobs.map((job) => job.job_id)).toEqual(['job_01', 'job_02']);
    const second = await listings.listJobs('ten_1', { batchId: 'bat_1', limit: 2, cursor: first.cursor! });
    expect(second).toMatchObject({ jobs: [expect.objectContaining({ job_id: 'job_03' })], cursor: null });
    expect(inputsOf(GetCommand)[0]).toEqual({ TableName: 'metahook', Key: keys.batch('ten_1', 'bat_1'), ConsistentRead: true, ProjectionExpression: 'job_ids' });
    expect(inputsOf(QueryCommand)).toHaveLength(0);
  });
});
