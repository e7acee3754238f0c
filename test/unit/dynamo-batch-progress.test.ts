// The batch progress adapter: one fixed-size progress item per batch, slots set idempotently,
// batch.completed claimed by exactly one job.
import { afterEach, describe, expect, it } from 'vitest';
import { mockClient } from 'aws-sdk-client-mock';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { createDynamoBatchProgress } from '../../lambdas/adapters/dynamo/batch-progress';
import { gatherBatchProgress } from '../../lambdas/adapters/dynamo/gathered-batch-progress';
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
        UpdateExpression: 'SET slots[2] = :s0',
        // A slot past the end would append (and corrupt the counts): refused.
        ConditionExpression: 'attribute_exists(pk) AND #total > :index',
        ExpressionAttributeNames: { '#total': 'total' },
        ExpressionAttributeValues: { ':s0': 2, ':index': 2 },
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
    expect(inputsOf(UpdateCommand)[0].UpdateExpression).toBe('SET slots[1] = :s0');
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
      // The claim also takes the batch out of the open-batch index (the sweeper's net), in the same write.
      UpdateExpression: 'SET completed_event_at = if_not_exists(completed_event_at, :now), completed_event_by = :job REMOVE gsi3pk, gsi3sk',
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

describe('recordSlots and the extractor\'s gathered progress', () => {
  it('writes several jobs of one batch in one UpdateItem, each slot once', async () => {
    dynamo.on(UpdateCommand).resolves({ Attributes: { total: 5, slots: [1, 0, 2, 1, 0] } });
    const counts = await progress().recordSlots('ten_1', 'bat_1', [
      { slot: 0, status: 'completed' },
      { slot: 3, status: 'completed' },
      { slot: 2, status: 'failed' },
      { slot: 3, status: 'completed' },
    ]);
    expect(inputsOf(UpdateCommand)).toEqual([
      expect.objectContaining({
        UpdateExpression: 'SET slots[0] = :s0, slots[3] = :s1, slots[2] = :s2',
        ExpressionAttributeValues: { ':index': 3, ':s0': 1, ':s1': 1, ':s2': 2 },
      }),
    ]);
    expect(counts).toEqual({ total: 5, completed: 2, failed: 1, cancelled: 0 });
  });

  it('holds each record\'s progress until every running record has asked or ended, then one write per batch', async () => {
    dynamo.on(UpdateCommand).callsFake(async (input) => ({ Attributes: { total: 4, slots: input.Key.pk.endsWith('bat_1') ? [1, 1, 0, 0] : [2, 0, 0, 0] } }));
    const gathered = gatherBatchProgress(progress());
    let release!: () => void;
    const slowRecord = new Promise<void>((resolve) => (release = resolve));
    const results = Promise.all([
      gathered.run(() => gathered.store.recordBatchProgress('ten_1', 'bat_1', 'job_a', 'completed', 0)),
      gathered.run(() => gathered.store.recordBatchProgress('ten_1', 'bat_1', 'job_b', 'completed', 1)),
      gathered.run(() => gathered.store.recordBatchProgress('ten_1', 'bat_2', 'job_c', 'failed', 0)),
      gathered.run(() => slowRecord), // still extracting: nothing is written yet
    ]);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(inputsOf(UpdateCommand)).toHaveLength(0);
    release();
    const [a, b, c] = await results;
    expect(inputsOf(UpdateCommand).map((input) => [input.Key.pk, input.UpdateExpression])).toEqual([
      ['TENANT#ten_1#BATCH#bat_1', 'SET slots[0] = :s0, slots[1] = :s1'],
      ['TENANT#ten_1#BATCH#bat_2', 'SET slots[0] = :s0'],
    ]);
    expect(a).toEqual({ total: 4, completed: 2, failed: 0, cancelled: 0 });
    expect(b).toEqual(a);
    expect(c).toEqual({ total: 4, completed: 0, failed: 1, cancelled: 0 });
  });

  it('stops waiting for a record once it is released, and writes what that record asks for later on its own', async () => {
    // The extractor releases a record on its last receive when it runs out of time: its batch-mates
    // that finished in time must not wait for it, and its late progress must not wait for anyone.
    dynamo.on(UpdateCommand).resolves({ Attributes: { total: 3, slots: [1, 1, 0] } });
    const gathered = gatherBatchProgress(progress());
    const release = new AbortController();
    let answer!: () => void;
    const stalledCall = new Promise<void>((resolve) => (answer = resolve));
    const stalled = gathered.run(async () => {
      await stalledCall;
      return gathered.store.recordBatchProgress('ten_1', 'bat_1', 'job_c', 'completed', 2);
    }, release.signal);
    const finished = Promise.all([
      gathered.run(() => gathered.store.recordBatchProgress('ten_1', 'bat_1', 'job_a', 'completed', 0)),
      gathered.run(() => gathered.store.recordBatchProgress('ten_1', 'bat_1', 'job_b', 'completed', 1)),
    ]);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(inputsOf(UpdateCommand)).toHaveLength(0); // waiting for the stalled record, as designed
    release.abort();
    await finished;
    expect(inputsOf(UpdateCommand).map((input) => input.UpdateExpression)).toEqual(['SET slots[0] = :s0, slots[1] = :s1']);

    // A new record of a later invocation does not wait for the released one either.
    await gathered.run(() => gathered.store.recordBatchProgress('ten_1', 'bat_2', 'job_d', 'failed', 0));
    expect(inputsOf(UpdateCommand)).toHaveLength(2);
    answer();
    await stalled;
    expect(inputsOf(UpdateCommand).map((input) => input.UpdateExpression)).toEqual([
      'SET slots[0] = :s0, slots[1] = :s1',
      'SET slots[0] = :s0',
      'SET slots[2] = :s0',
    ]);
  });

  it('a failed write fails every record that waited on it; outside a record progress is written at once', async () => {
    dynamo.on(UpdateCommand).rejectsOnce(new Error('throttled')).resolves({ Attributes: { total: 1, slots: [1] } });
    const gathered = gatherBatchProgress(progress());
    const outcomes = await Promise.allSettled([
      gathered.run(() => gathered.store.recordBatchProgress('ten_1', 'bat_1', 'job_a', 'completed', 0)),
      gathered.run(() => gathered.store.recordBatchProgress('ten_1', 'bat_1', 'job_b', 'completed', 1)),
    ]);
    expect(outcomes.map((o) => o.status)).toEqual(['rejected', 'rejected']);
    expect(await gathered.store.recordBatchProgress('ten_1', 'bat_1', 'job_a', 'completed', 0)).toMatchObject({ completed: 1 });
    expect(inputsOf(UpdateCommand)).toHaveLength(2);
  });
});

describe('the gathered store\'s batch.completed claims', () => {
  const claimsOf = () => inputsOf(UpdateCommand).filter((input) => input.UpdateExpression.startsWith('SET completed_event_at'));

  it('makes one claim per batch per invocation when it wins, however many of its records saw the batch complete', async () => {
    dynamo.on(UpdateCommand).resolves({ Attributes: { total: 3, slots: [1, 1, 1] } });
    const gathered = gatherBatchProgress(progress());
    const record = (jobId: string, slot: number) =>
      gathered.run(async () => {
        await gathered.store.recordBatchProgress('ten_1', 'bat_1', jobId, 'completed', slot);
        return gathered.store.claimBatchCompletion('ten_1', 'bat_1', jobId, NOW);
      });
    expect(await Promise.all([record('job_a', 0), record('job_b', 1), record('job_c', 2)])).toEqual([true, false, false]);
    expect(claimsOf().map((input) => input.ExpressionAttributeValues[':job'])).toEqual(['job_a']);
    // The next invocation (a retry of the winner, say) claims again: a win is per invocation.
    expect(await gathered.run(() => gathered.store.claimBatchCompletion('ten_1', 'bat_1', 'job_a', NOW))).toBe(true);
    expect(claimsOf()).toHaveLength(2);
  });

  it('after a refused claim the next record still claims: it may be the earlier claimant, retried', async () => {
    dynamo.on(UpdateCommand).callsFake(async (input) => {
      if (input.ExpressionAttributeValues[':job'] === 'job_a') throw conditionFailed();
      return {};
    });
    const gathered = gatherBatchProgress(progress());
    const claim = (jobId: string) => gathered.run(() => gathered.store.claimBatchCompletion('ten_1', 'bat_1', jobId, NOW));
    expect(await Promise.all([claim('job_a'), claim('job_b'), claim('job_c')])).toEqual([false, true, false]);
    expect(claimsOf().map((input) => input.ExpressionAttributeValues[':job'])).toEqual(['job_a', 'job_b']);
  });
});

describe('markJobsNeverWritten', () => {
  it('marks the missing jobs\' slots never written, so they leave the total, and reports the progress', async () => {
    dynamo.on(GetCommand).resolves({ Item: { job_ids: ['job_1', 'job_2', 'job_3'] } });
    dynamo.on(UpdateCommand).resolves({ Attributes: { total: 3, slots: [1, 4, 4] } });
    expect(await progress().markJobsNeverWritten('ten_1', 'bat_1', ['job_2', 'job_3'])).toEqual({ total: 1, completed: 1, failed: 0, cancelled: 0 });
    expect(inputsOf(UpdateCommand)).toEqual([
      {
        TableName: 'metahook',
        Key: keys.batchProgress('ten_1', 'bat_1'),
        UpdateExpression: 'SET slots[1] = :never, slots[2] = :never',
        ConditionExpression: 'attribute_exists(pk)',
        ExpressionAttributeValues: { ':never': 4 },
        ReturnValues: 'ALL_NEW',
      },
    ]);
  });

  it('changes nothing when the batch or its progress item was never written', async () => {
    dynamo.on(GetCommand).resolves({});
    expect(await progress().markJobsNeverWritten('ten_1', 'bat_1', ['job_2'])).toBeUndefined();
    expect(inputsOf(UpdateCommand)).toHaveLength(0);
    dynamo.on(GetCommand).resolves({ Item: { job_ids: ['job_1', 'job_2'] } });
    dynamo.on(UpdateCommand).rejects(conditionFailed());
    expect(await progress().markJobsNeverWritten('ten_1', 'bat_1', ['job_2'])).toBeUndefined();
  });
});
