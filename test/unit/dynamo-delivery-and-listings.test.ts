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

  const expires = Math.floor(AT.getTime() / 1000) + 90 * 24 * 3600;

  it('a job\'s failed attempt goes to its own summary item, never over a success of the same event nor a later attempt', async () => {
    dynamo.on(UpdateCommand).resolves({});
    await createDynamoDeliveryLedger(db, { tableName: 'metahook', retentionDays: 90 }).recordDeliveryOutcome({ ...update, jobId: 'job_1', status: 'pending', nextAttemptAt: AT });
    expect(inputsOf(UpdateCommand)[0]).toEqual({
      TableName: 'metahook',
      // Beside the job, not on it: the update's cost does not grow with the stored result.
      Key: { pk: 'TENANT#ten_1#JOB#job_1', sk: 'DELIVERY' },
      UpdateExpression: 'SET delivery = :delivery, entity = :entity, expires_at = :expires',
      ConditionExpression:
        '(attribute_not_exists(delivery.event_id) OR delivery.event_id <> :event ' +
        'OR (delivery.#status <> :delivered AND (attribute_not_exists(delivery.attempts) OR delivery.attempts <= :attempt)))',
      ExpressionAttributeNames: { '#status': 'status' },
      ExpressionAttributeValues: {
        ':delivery': { status: 'pending', attempts: 2, event_id: 'msg_1', last_status_code: 500, last_error: 'HTTP 500', updated_at: AT.toISOString(), failures: 2, next_attempt_at: AT.toISOString() },
        ':entity': 'job_delivery',
        ':expires': expires,
        ':event': 'msg_1',
        ':delivered': 'delivered',
        ':attempt': 2,
      },
    });
  });

  it('a job\'s success always lands on its summary item (creating it on the first attempt)', async () => {
    dynamo.on(UpdateCommand).resolves({});
    await createDynamoDeliveryLedger(db, { tableName: 'metahook', retentionDays: 90 }).recordDeliveryOutcome({
      ...update,
      jobId: 'job_1',
      status: 'delivered',
      failures: 0,
      nextAttemptAt: null,
      lastStatusCode: 200,
      lastError: null,
    });
    const input = inputsOf(UpdateCommand)[0];
    expect(input).toMatchObject({ Key: keys.jobDelivery('ten_1', 'job_1'), UpdateExpression: 'SET delivery = :delivery, entity = :entity, expires_at = :expires' });
    expect(input.ConditionExpression).toBeUndefined();
    expect(input.ExpressionAttributeNames).toBeUndefined();
    expect(input.ExpressionAttributeValues).toEqual({
      ':delivery': expect.objectContaining({ status: 'delivered', attempts: 2, event_id: 'msg_1' }),
      ':entity': 'job_delivery',
      ':expires': expires,
    });
  });

  it('a batch\'s summary goes to its progress item; a success always lands; a lost race is not an error', async () => {
    dynamo.on(UpdateCommand).rejects(Object.assign(new Error('x'), { name: 'ConditionalCheckFailedException' }));
    await createDynamoDeliveryLedger(db, { tableName: 'metahook', retentionDays: 90 }).recordDeliveryOutcome({
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
  const items = [...jobs, ...deliveries];
  dynamo.on(QueryCommand).callsFake(async (input) => {
    if (input.IndexName === undefined) {
      // A lone job's read: its partition's DELIVERY..JOB range on the table.
      const { ':pk': pk, ':delivery': from, ':job': to } = input.ExpressionAttributeValues;
      return { Items: items.filter((item) => item.pk === pk && item.sk >= from && item.sk <= to) };
    }
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
  serveItems(items);
}

/** BatchGetItem by exact key (pk and sk), as DynamoDB answers it; missing keys are left out. */
function serveItems(items: Record<string, unknown>[]) {
  dynamo.on(BatchGetCommand).callsFake(async (input) => ({
    Responses: {
      metahook: input.RequestItems.metahook.Keys.flatMap((key: { pk: string; sk: string }) => items.filter((item) => item.pk === key.pk && item.sk === key.sk)),
    },
  }));
}

const DELIVERED = { status: 'delivered', attempts: 1, event_id: 'evt_x', last_status_code: 200, last_error: null, updated_at: '2026-01-01T00:01:00.000Z' };
/** Jobs whose callback has recorded an outcome have a summary item beside them (every fifth, here). */
const deliveries = Array.from({ length: 30 }, (_, i) => i)
  .filter((i) => i % 5 === 0)
  .map((i) => ({ ...keys.jobDelivery('ten_1', `job_${String(i).padStart(2, '0')}`), entity: 'job_delivery', delivery: { ...DELIVERED, event_id: `evt_${i}` } }));

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

  it('shows each job with the summary from its delivery item, read in the same BatchGetItem (initial summary when it has none)', async () => {
    serveShards(jobs);
    const page = await createDynamoJobListings(db, { tableName: 'metahook' }).listJobs('ten_1', { limit: 6 });
    expect(page.jobs.map((job) => [job.job_id, job.delivery.event_id])).toEqual([
      ['job_29', null],
      ['job_28', null],
      ['job_27', null],
      ['job_26', null],
      ['job_25', 'evt_25'],
      ['job_24', null],
    ]);
    expect(page.jobs[0]!.delivery).toEqual({ status: 'pending', attempts: 0, event_id: null, last_status_code: null, last_error: null, updated_at: null });
    expect(page.jobs[4]!.delivery).toEqual({ ...DELIVERED, event_id: 'evt_25' });
    expect(inputsOf(BatchGetCommand)).toHaveLength(1);
    expect(inputsOf(BatchGetCommand)[0].RequestItems.metahook.Keys).toHaveLength(12);
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
    serveItems([...jobs, ...deliveries]);
    // A page of one job: one Query of its partition's DELIVERY..JOB range reads job and summary.
    const job03 = jobs.find((job) => job.job_id === 'job_03')!;
    dynamo.on(QueryCommand).resolves({ Items: [job03] });
    const listings = createDynamoJobListings(db, { tableName: 'metahook' });
    const first = await listings.listJobs('ten_1', { batchId: 'bat_1', limit: 2 });
    expect(first.jobs.map((job) => job.job_id)).toEqual(['job_01', 'job_02']);
    const second = await listings.listJobs('ten_1', { batchId: 'bat_1', limit: 2, cursor: first.cursor! });
    expect(second).toMatchObject({ jobs: [expect.objectContaining({ job_id: 'job_03' })], cursor: null });
    expect(inputsOf(GetCommand)[0]).toEqual({ TableName: 'metahook', Key: keys.batch('ten_1', 'bat_1'), ConsistentRead: true, ProjectionExpression: 'job_ids' });
    expect(inputsOf(BatchGetCommand)[0].RequestItems.metahook.Keys).toEqual([
      keys.job('ten_1', 'job_01'),
      keys.jobDelivery('ten_1', 'job_01'),
      keys.job('ten_1', 'job_02'),
      keys.jobDelivery('ten_1', 'job_02'),
    ]);
    expect(inputsOf(QueryCommand)).toEqual([
      {
        TableName: 'metahook',
        KeyConditionExpression: 'pk = :pk AND sk BETWEEN :delivery AND :job',
        ExpressionAttributeValues: { ':pk': job03.pk, ':delivery': 'DELIVERY', ':job': 'JOB' },
        ConsistentRead: true,
      },
    ]);
  });
});
