// The job lifecycle adapter sends exactly the conditional writes core/job-state.ts implies.
import { afterEach, describe, expect, it } from 'vitest';
import { mockClient } from 'aws-sdk-client-mock';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { BatchGetCommand, BatchWriteCommand, DynamoDBDocumentClient, GetCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { batchItems, createDynamoJobLifecycle } from '../../lambdas/adapters/dynamo/job-lifecycle';
import { resolveSettings } from '../../lib/settings';
import { keys, LISTING_SHARDS, shardOf } from '../../lambdas/adapters/dynamo/keys';
import type { BatchRecord, JobRecord } from '../../lambdas/core/records';

const db = DynamoDBDocumentClient.from(new DynamoDBClient({ region: 'us-east-1' }));
const dynamo = mockClient(db);
afterEach(() => dynamo.reset());
const inputsOf = (command: any): any[] => dynamo.commandCalls(command).map((call) => call.args[0].input);
const conditionFailed = () => Object.assign(new Error('failed'), { name: 'ConditionalCheckFailedException' });

const NOW = new Date('2026-01-01T00:00:10.000Z');
const LEASE = new Date('2026-01-01T00:15:10.000Z');
/** The lease a start takes: until LEASE, in the name of the SQS message it comes from. */
const START = { until: LEASE, owner: 'msg-1', messageSentAt: new Date('2026-01-01T00:14:00.000Z') };
const lifecycle = () => createDynamoJobLifecycle(db, { tableName: 'metahook', retentionDays: 90 });

const job = (overrides: Partial<JobRecord> = {}): JobRecord => ({
  job_id: 'job_1',
  tenant_id: 'ten_1',
  batch_id: 'bat_1',
  url: 's3://media/a.png',
  external_id: null,
  declared_media_type: null,
  callback_url: 'https://example.com/hook',
  metadata: { order: 7 },
  status: 'queued',
  created_at: '2026-01-01T00:00:00.000Z',
  updated_at: '2026-01-01T00:00:00.000Z',
  delivery: { status: 'pending', attempts: 0, event_id: null, last_status_code: null, last_error: null, updated_at: null },
  ...overrides,
});

const batch: BatchRecord = {
  batch_id: 'bat_1',
  tenant_id: 'ten_1',
  callback_url: 'https://example.com/hook',
  metadata: { order: 7 },
  job_ids: ['job_1', 'job_2'],
  duplicate_job_ids: ['job_0'],
  total: 2,
  counts: { completed: 0, failed: 0, cancelled: 0 },
  created_at: '2026-01-01T00:00:00.000Z',
};

describe('createBatch', () => {
  it('writes the batch (with the metadata), its fixed-size progress item, then jobs without metadata on one sharded KEYS_ONLY listing key', async () => {
    dynamo.on(BatchWriteCommand).resolves({});
    await lifecycle().createBatch(batch, [job(), job({ job_id: 'job_2' })]);
    const puts = inputsOf(BatchWriteCommand)[0].RequestItems.metahook.map((r: any) => r.PutRequest.Item);
    const expires_at = Date.parse(batch.created_at) / 1000 + 90 * 86_400;
    expect(puts[0]).toEqual({
      ...keys.batch('ten_1', 'bat_1'),
      entity: 'batch',
      batch_id: 'bat_1',
      tenant_id: 'ten_1',
      callback_url: 'https://example.com/hook',
      metadata: { order: 7 },
      job_ids: ['job_1', 'job_2'],
      duplicate_job_ids: ['job_0'],
      total: 2,
      created_at: batch.created_at,
      expires_at,
    });
    expect(puts[1]).toEqual({
      ...keys.batchProgress('ten_1', 'bat_1'),
      entity: 'batch_progress',
      total: 2,
      slots: [0, 0],
      // Open until batch.completed is claimed: the sweeper looks at it after the default check delay.
      ...keys.openBatchIndex('ten_1', 'bat_1', new Date(Date.parse(batch.created_at) + resolveSettings().sweeper.openBatchCheckSeconds * 1000)),
      expires_at,
    });
    expect(puts[2]).not.toHaveProperty('metadata');
    expect(puts[2]).not.toHaveProperty('gsi1pk');
    // The delivery summary has its own item, written by the callback's first attempt: not on the job.
    expect(puts[2]).not.toHaveProperty('delivery');
    expect(puts).toHaveLength(4);
    expect(puts[2]).toMatchObject({
      ...keys.job('ten_1', 'job_1'),
      metadata_in_batch: true,
      batch_slot: 0,
      gsi2pk: `TENANT#ten_1#JOBS#${shardOf('job_1', LISTING_SHARDS)}`,
      gsi2sk: '2026-01-01T00:00:00.000Z#job_1',
      expires_at,
    });
    expect(puts[3]).toMatchObject({ job_id: 'job_2', batch_slot: 1 });
  });

  it('marks no metadata on jobs of a batch without any', () => {
    const items = batchItems({ ...batch, metadata: null }, [job({ metadata: null })], 1);
    expect(items[2]).not.toHaveProperty('metadata_in_batch');
  });

  it('retries the items BatchWriteItem left unprocessed', async () => {
    dynamo
      .on(BatchWriteCommand)
      .resolvesOnce({ UnprocessedItems: { metahook: [{ PutRequest: { Item: { pk: 'x', sk: 'y' } } }] } })
      .resolves({});
    await lifecycle().createBatch(batch, [job()]);
    expect(inputsOf(BatchWriteCommand)).toHaveLength(2);
    expect(inputsOf(BatchWriteCommand)[1].RequestItems.metahook).toEqual([{ PutRequest: { Item: { pk: 'x', sk: 'y' } } }]);
  });
});

describe('startProcessing', () => {
  it('claims the job with the start guard: queued, processing under an expired lease or its own, or a retryable failure', async () => {
    dynamo.on(UpdateCommand).resolves({ Attributes: { ...keys.job('ten_1', 'job_1'), ...job({ status: 'processing', metadata: null }), lease_until: LEASE.toISOString(), processing_attempts: 1 } });
    const result = await lifecycle().startProcessing('ten_1', 'job_1', NOW, START);
    expect(inputsOf(UpdateCommand)[0]).toEqual({
      TableName: 'metahook',
      Key: keys.job('ten_1', 'job_1'),
      UpdateExpression:
        'SET #status = :to, lease_until = :lease, lease_owner = :leaseOwner, gsi3pk = :deadlinePk, gsi3sk = :deadlineSk, ' +
        'updated_at = :at, processing_attempts = if_not_exists(processing_attempts, :zero) + :one',
      ConditionExpression:
        'attribute_exists(pk) AND (#status = :queued OR (#status = :processing AND (lease_until < :now OR lease_owner = :owner)) ' +
        'OR (#status = :failed AND #error.retryable = :true AND (attribute_not_exists(finished_at) OR finished_at < :sentAt)))',
      ExpressionAttributeNames: { '#status': 'status', '#error': 'error' },
      ExpressionAttributeValues: {
        ':queued': 'queued',
        ':processing': 'processing',
        ':failed': 'failed',
        ':now': NOW.toISOString(),
        ':owner': 'msg-1',
        ':true': true,
        ':sentAt': '2026-01-01T00:14:00.000Z',
        ':to': 'processing',
        ':lease': LEASE.toISOString(),
        ':leaseOwner': 'msg-1',
        ':deadlinePk': keys.leaseIndex('ten_1', 'job_1', LEASE).gsi3pk,
        ':deadlineSk': keys.leaseIndex('ten_1', 'job_1', LEASE).gsi3sk,
        ':at': NOW.toISOString(),
        ':zero': 0,
        ':one': 1,
      },
      ReturnValues: 'ALL_NEW',
    });
    expect(result).toMatchObject({ started: true, attempt: 1 });
    // Bookkeeping stays in the adapter.
    expect(result.job).not.toHaveProperty('lease_until');
    expect(result.job).not.toHaveProperty('processing_attempts');
    expect(result.job).not.toHaveProperty('pk');
  });

  it('when the guard fails, reads the job back (consistent) and reports the live lease', async () => {
    dynamo.on(UpdateCommand).rejects(conditionFailed());
    dynamo.on(GetCommand).resolves({ Item: { ...job({ status: 'processing', metadata: null }), lease_until: LEASE.toISOString() } });
    const result = await lifecycle().startProcessing('ten_1', 'job_1', NOW, START);
    expect(result).toMatchObject({ started: false, job: { status: 'processing' }, leaseUntil: LEASE.toISOString() });
    expect(inputsOf(GetCommand)[0]).toEqual({ TableName: 'metahook', Key: keys.job('ten_1', 'job_1'), ConsistentRead: true });
  });

  it('throws any other error', async () => {
    dynamo.on(UpdateCommand).rejects(Object.assign(new Error('slow down'), { name: 'ProvisionedThroughputExceededException' }));
    await expect(lifecycle().startProcessing('ten_1', 'job_1', NOW, START)).rejects.toThrow('slow down');
  });
});

describe('releaseLease, finish, cancel', () => {
  it('releaseLease: processing -> queued, lease removed, due in the lease index when its retry is, a lost race ignored', async () => {
    dynamo.on(UpdateCommand).rejects(conditionFailed());
    await lifecycle().releaseLease(job({ status: 'processing' }), NOW, LEASE);
    expect(inputsOf(UpdateCommand)[0]).toEqual({
      TableName: 'metahook',
      Key: keys.job('ten_1', 'job_1'),
      UpdateExpression: 'SET #status = :to, updated_at = :at, gsi3pk = :deadlinePk, gsi3sk = :deadlineSk REMOVE lease_until',
      ConditionExpression: 'attribute_exists(pk) AND #status = :processing',
      ExpressionAttributeNames: { '#status': 'status' },
      ExpressionAttributeValues: {
        ':processing': 'processing',
        ':to': 'queued',
        ':at': NOW.toISOString(),
        ':deadlinePk': keys.leaseIndex('ten_1', 'job_1', LEASE).gsi3pk,
        ':deadlineSk': keys.leaseIndex('ten_1', 'job_1', LEASE).gsi3sk,
      },
    });
  });

  it('finish (completed): stores the result, drops the lease and any old error, only from processing', async () => {
    dynamo.on(UpdateCommand).resolves({});
    const outcome = {
      status: 'completed' as const,
      mediaType: 'image' as const,
      result: { description: 'd', keywords: ['k'], caption: 'c' },
      model: { provider: 'p', id: 'm' },
      source: { sha256: 'ab', bytes: 3, content_type: 'image/png' },
    };
    expect(await lifecycle().finish(job({ status: 'processing' }), outcome, NOW)).toBe(true);
    expect(inputsOf(UpdateCommand)[0]).toEqual({
      TableName: 'metahook',
      Key: keys.job('ten_1', 'job_1'),
      UpdateExpression:
        'SET #status = :to, updated_at = :at, finished_at = :at, #media_type = :media_type, #result = :result, #model = :model, #source = :source REMOVE lease_until, gsi3pk, gsi3sk, pending_announcements, #error',
      ConditionExpression: 'attribute_exists(pk) AND #status = :processing',
      ExpressionAttributeNames: { '#status': 'status', '#media_type': 'media_type', '#result': 'result', '#model': 'model', '#source': 'source', '#error': 'error' },
      ExpressionAttributeValues: {
        ':processing': 'processing',
        ':to': 'completed',
        ':at': NOW.toISOString(),
        ':media_type': 'image',
        ':result': outcome.result,
        ':model': outcome.model,
        ':source': outcome.source,
      },
    });
  });

  it('finish (failed): stores the error; false when the job was no longer processing', async () => {
    dynamo.on(UpdateCommand).rejects(conditionFailed());
    const error = { code: 'file_not_found', message: 'gone' };
    expect(await lifecycle().finish(job({ status: 'processing' }), { status: 'failed', error }, NOW)).toBe(false);
    expect(inputsOf(UpdateCommand)[0]).toMatchObject({
      UpdateExpression: 'SET #status = :to, updated_at = :at, finished_at = :at, #error = :error REMOVE lease_until, gsi3pk, gsi3sk, pending_announcements',
      ExpressionAttributeNames: { '#status': 'status', '#error': 'error' },
      ExpressionAttributeValues: { ':processing': 'processing', ':to': 'failed', ':at': NOW.toISOString(), ':error': error },
    });
  });

  it('cancel: only from queued; a refused cancel returns the job as it stands', async () => {
    dynamo.on(UpdateCommand).rejects(conditionFailed());
    dynamo.on(GetCommand).resolves({ Item: { ...keys.job('ten_1', 'job_1'), ...job({ status: 'processing', metadata: null }) } });
    const result = await lifecycle().cancel('ten_1', 'job_1', NOW);
    expect(inputsOf(UpdateCommand)[0]).toEqual({
      TableName: 'metahook',
      Key: keys.job('ten_1', 'job_1'),
      UpdateExpression: 'SET #status = :to, updated_at = :at, finished_at = :at REMOVE gsi3pk, gsi3sk',
      ConditionExpression: 'attribute_exists(pk) AND #status = :queued',
      ExpressionAttributeNames: { '#status': 'status' },
      ExpressionAttributeValues: { ':queued': 'queued', ':to': 'cancelled', ':at': NOW.toISOString() },
      ReturnValues: 'ALL_NEW',
    });
    expect(result).toMatchObject({ cancelled: false, job: { status: 'processing' } });
  });

  it('cancel shows the job with its delivery summary item (a redriven job may have delivered before)', async () => {
    const delivered = { status: 'delivered', attempts: 1, event_id: 'evt_1', last_status_code: 200, last_error: null, updated_at: NOW.toISOString() };
    dynamo.on(UpdateCommand).resolves({ Attributes: { ...keys.job('ten_1', 'job_1'), ...job({ status: 'cancelled', metadata: null, delivery: undefined as never }) } });
    dynamo.on(GetCommand, { Key: keys.jobDelivery('ten_1', 'job_1') }).resolves({ Item: { ...keys.jobDelivery('ten_1', 'job_1'), delivery: delivered } });
    const result = await lifecycle().cancel('ten_1', 'job_1', NOW);
    expect(result).toMatchObject({ cancelled: true, job: { status: 'cancelled', delivery: delivered } });
    expect(inputsOf(GetCommand)).toEqual([{ TableName: 'metahook', Key: keys.jobDelivery('ten_1', 'job_1'), ConsistentRead: true }]);
  });
});

/** A lone job read: the Query of its partition's DELIVERY..JOB range, answered with these items. */
const partitionRange = (jobId: string) => ({
  TableName: 'metahook',
  KeyConditionExpression: 'pk = :pk AND sk BETWEEN :delivery AND :job',
  ExpressionAttributeValues: { ':pk': keys.job('ten_1', jobId).pk, ':delivery': 'DELIVERY', ':job': 'JOB' },
  ConsistentRead: true,
});
const servePartitions = (items: Record<string, unknown>[]) =>
  dynamo.on(QueryCommand).callsFake(async (input) => ({
    Items: items.filter((item) => item.pk === input.ExpressionAttributeValues[':pk']).sort((a, b) => String(a.sk).localeCompare(String(b.sk))),
  }));
const DELIVERED = { status: 'delivered', attempts: 1, event_id: 'evt_1', last_status_code: 200, last_error: null, updated_at: '2026-01-01T00:01:00.000Z' };

describe('reads', () => {
  it('getJob resolves the metadata from the batch item once per batch (the batch item never changes)', async () => {
    servePartitions([{ ...keys.job('ten_1', 'job_1'), ...job({ metadata: undefined as never, delivery: undefined as never }), metadata_in_batch: true }]);
    dynamo.on(GetCommand, { Key: keys.batch('ten_1', 'bat_1') }).resolves({ Item: { metadata: { order: 7 } } });
    const adapter = lifecycle();
    expect((await adapter.getJob('ten_1', 'job_1'))!.metadata).toEqual({ order: 7 });
    expect((await adapter.getJob('ten_1', 'job_1'))!.metadata).toEqual({ order: 7 });
    const batchReads = inputsOf(GetCommand).filter((input) => input.Key.sk === 'BATCH');
    expect(batchReads).toEqual([
      { TableName: 'metahook', Key: keys.batch('ten_1', 'bat_1'), ConsistentRead: true, ProjectionExpression: '#metadata', ExpressionAttributeNames: { '#metadata': 'metadata' } },
    ]);
  });

  it('getJob reads the job and its delivery summary item in one Query; no summary item is the initial pending summary; an unknown job is undefined', async () => {
    servePartitions([
      { ...keys.job('ten_1', 'job_1'), ...job({ metadata: undefined as never, delivery: undefined as never }) },
      { ...keys.jobDelivery('ten_1', 'job_1'), entity: 'job_delivery', delivery: DELIVERED },
      { ...keys.job('ten_1', 'job_2'), ...job({ job_id: 'job_2', metadata: undefined as never, delivery: undefined as never }) },
    ]);
    const one = await lifecycle().getJob('ten_1', 'job_1');
    expect(one!.metadata).toBeNull();
    expect(one!.delivery).toEqual(DELIVERED);
    expect((await lifecycle().getJob('ten_1', 'job_2'))!.delivery).toEqual({ status: 'pending', attempts: 0, event_id: null, last_status_code: null, last_error: null, updated_at: null });
    expect(await lifecycle().getJob('ten_1', 'job_9')).toBeUndefined();
    expect(inputsOf(QueryCommand)).toEqual([partitionRange('job_1'), partitionRange('job_2'), partitionRange('job_9')]);
    expect(inputsOf(GetCommand)).toHaveLength(0);
  });
});

describe('coalesced single-job reads', () => {
  it('reads issued in the same turn go out as one consistent BatchGetItem of each job and its summary item; a lone read is one Query', async () => {
    const item = (id: string) => ({ ...keys.job('ten_1', id), ...job({ job_id: id, metadata: undefined as never, delivery: undefined as never }) });
    dynamo.on(BatchGetCommand).resolves({ Responses: { metahook: [item('job_1'), { ...keys.jobDelivery('ten_1', 'job_2'), delivery: DELIVERED }, item('job_2')] } });
    servePartitions([item('job_3')]);
    const adapter = lifecycle();
    const [a, b, missing] = await Promise.all([adapter.getJob('ten_1', 'job_1'), adapter.getJob('ten_1', 'job_2'), adapter.getJob('ten_1', 'job_9')]);
    expect([a?.job_id, b?.job_id, missing]).toEqual(['job_1', 'job_2', undefined]);
    expect([a?.delivery.status, b?.delivery]).toEqual(['pending', DELIVERED]);
    expect(inputsOf(BatchGetCommand)).toEqual([
      {
        RequestItems: {
          metahook: {
            Keys: ['job_1', 'job_2', 'job_9'].flatMap((id) => [keys.job('ten_1', id), keys.jobDelivery('ten_1', id)]),
            ConsistentRead: true,
          },
        },
      },
    ]);
    expect((await adapter.getJob('ten_1', 'job_3'))?.job_id).toBe('job_3');
    expect(inputsOf(QueryCommand)).toEqual([partitionRange('job_3')]);
    expect(inputsOf(BatchGetCommand)).toHaveLength(1);
  });
});
