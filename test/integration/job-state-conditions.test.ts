// The adapters' condition expressions against a real DynamoDB emulator (dynalite): for every job
// state and every transition, the conditional write succeeds exactly when core/job-state.ts says
// the transition is allowed. A translation that drifted from the rule fails here.
import { describe, expect, it } from 'vitest';
import { GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { LOCAL_NAMES } from '../../local/resources';
import { useEmulatedTable } from '../support/emulated-table';
import { createDynamoDeliveryLedger } from '../../lambdas/adapters/dynamo/delivery-ledger';
import { createDynamoJobLifecycle } from '../../lambdas/adapters/dynamo/job-lifecycle';
import { canTransition, JOB_TRANSITIONS, type JobStateView, type JobTransitionName } from '../../lambdas/core/job-state';
import { keys } from '../../lambdas/adapters/dynamo/keys';
import type { DeliverySummaryUpdate } from '../../lambdas/core/ports';
import type { JobRecord } from '../../lambdas/core/records';

const NOW = new Date('2026-01-01T00:10:00.000Z');
/** The SQS message every start in this file comes from. */
const ASKING = { leaseOwner: 'msg-asking', messageSentAt: '2026-01-01T00:09:00.000Z' };
const states: Record<string, JobStateView> = {
  queued: { status: 'queued' },
  'processing-live': { status: 'processing', lease_until: '2026-01-01T00:10:30.000Z' },
  'processing-expired': { status: 'processing', lease_until: '2026-01-01T00:09:00.000Z' },
  // A live lease this same SQS message took on an earlier receive (it may take it back), or another message did.
  'processing-live-own': { status: 'processing', lease_until: '2026-01-01T00:10:30.000Z', lease_owner: 'msg-asking' },
  'processing-live-other': { status: 'processing', lease_until: '2026-01-01T00:10:30.000Z', lease_owner: 'msg-other' },
  // Failed for want of retries after the asking message was sent (a late copy: must not restart it),
  // or before it (the asking message is a redrive).
  'failed-retryable-after-send': { status: 'failed', error: { retryable: true }, finished_at: '2026-01-01T00:09:30.000Z' },
  'failed-retryable-before-send': { status: 'failed', error: { retryable: true }, finished_at: '2026-01-01T00:08:00.000Z' },
  completed: { status: 'completed' },
  'failed-retryable': { status: 'failed', error: { retryable: true } },
  'failed-permanent': { status: 'failed', error: { retryable: false } },
  cancelled: { status: 'cancelled' },
};

const table = useEmulatedTable();

function jobItem(jobId: string, state: JobStateView): Record<string, unknown> {
  return {
    ...keys.job('ten_1', jobId),
    entity: 'job',
    job_id: jobId,
    tenant_id: 'ten_1',
    batch_id: 'bat_1',
    url: 's3://b/k',
    external_id: null,
    declared_media_type: null,
    callback_url: 'https://example.com/hook',
    created_at: '2026-01-01T00:00:00.000Z',
    updated_at: '2026-01-01T00:00:00.000Z',
    ...state,
  };
}

async function attempt(transition: JobTransitionName, job: JobRecord): Promise<boolean> {
  const lifecycle = createDynamoJobLifecycle(table.db, { tableName: LOCAL_NAMES.table, retentionDays: 1 });
  switch (transition) {
    case 'start':
      return (await lifecycle.startProcessing(job.tenant_id, job.job_id, NOW, { until: new Date(NOW.getTime() + 60_000), owner: ASKING.leaseOwner, messageSentAt: new Date(ASKING.messageSentAt) })).started;
    case 'release': {
      // releaseLease reports nothing: the write happened when the job moved to queued at NOW.
      await lifecycle.releaseLease(job, NOW, new Date(NOW.getTime() + 30_000));
      const after = await lifecycle.getJob(job.tenant_id, job.job_id);
      return after?.status === 'queued' && after.updated_at === NOW.toISOString();
    }
    case 'finish':
      return lifecycle.finish(job, { status: 'failed', error: { code: 'x', message: 'y' } }, NOW);
    case 'cancel':
      return (await lifecycle.cancel(job.tenant_id, job.job_id, NOW)).cancelled;
  }
}

describe('job-state guards as DynamoDB conditions', () => {
  const transitions = Object.keys(JOB_TRANSITIONS) as JobTransitionName[];
  for (const [name, state] of Object.entries(states)) {
    it(`${name}: the emulator agrees with canTransition for ${transitions.join(', ')}`, async () => {
      const outcome: Record<string, boolean> = {};
      for (const transition of transitions) {
        const jobId = `job_${name}_${transition}`;
        await table.db.send(new PutCommand({ TableName: LOCAL_NAMES.table, Item: jobItem(jobId, state) }));
        outcome[transition] = await attempt(transition, jobItem(jobId, state) as unknown as JobRecord);
      }
      expect(outcome).toEqual(Object.fromEntries(transitions.map((t) => [t, canTransition(t, state, NOW, ASKING)])));
    });
  }

  it('no transition applies to a job that does not exist (and none creates it)', async () => {
    const ghost = jobItem('job_ghost', { status: 'queued' }) as unknown as JobRecord;
    for (const transition of Object.keys(JOB_TRANSITIONS) as JobTransitionName[]) expect(await attempt(transition, ghost)).toBe(false);
    const lifecycle = createDynamoJobLifecycle(table.db, { tableName: LOCAL_NAMES.table, retentionDays: 1 });
    expect(await lifecycle.getJob('ten_1', 'job_ghost')).toBeUndefined();
  });

  it('a start takes the lease index deadline with it, a release moves it to the retry, a finish clears it', async () => {
    const lifecycle = createDynamoJobLifecycle(table.db, { tableName: LOCAL_NAMES.table, retentionDays: 1 });
    await table.db.send(new PutCommand({ TableName: LOCAL_NAMES.table, Item: jobItem('job_deadline', { status: 'queued' }) }));
    const storedItem = async () => (await table.db.send(new GetCommand({ TableName: LOCAL_NAMES.table, Key: keys.job('ten_1', 'job_deadline') }))).Item!;
    const lease = { until: new Date('2026-01-01T00:12:00.000Z'), owner: 'msg-1' };
    const started = await lifecycle.startProcessing('ten_1', 'job_deadline', NOW, lease);
    expect(started).toMatchObject({ started: true, attempt: 1 });
    expect(await storedItem()).toMatchObject({ ...keys.leaseIndex('ten_1', 'job_deadline', lease.until), lease_owner: 'msg-1', processing_attempts: 1 });
    const job = (started as { job: JobRecord }).job;
    await lifecycle.releaseLease(job, NOW, new Date('2026-01-01T00:15:00.000Z'));
    expect(await storedItem()).toMatchObject({ status: 'queued', ...keys.leaseIndex('ten_1', 'job_deadline', new Date('2026-01-01T00:15:00.000Z')) });
    expect(await lifecycle.startProcessing('ten_1', 'job_deadline', NOW, lease)).toMatchObject({ started: true, attempt: 2 });
    expect(await lifecycle.finish(job, { status: 'failed', error: { code: 'model_error', message: 'gave up', retryable: true } }, NOW)).toBe(true);
    const finished = await storedItem();
    expect(finished.gsi3pk).toBeUndefined();
    expect(finished.gsi3sk).toBeUndefined();
    expect(finished.processing_attempts).toBeUndefined(); // a redrive starts a fresh count
  });
});

describe('delivery summary conditions (its own item beside the job)', () => {
  const ledger = () => createDynamoDeliveryLedger(table.db, { tableName: LOCAL_NAMES.table, retentionDays: 1 });
  const lifecycle = () => createDynamoJobLifecycle(table.db, { tableName: LOCAL_NAMES.table, retentionDays: 1 });
  const outcome = (jobId: string, eventId: string, status: DeliverySummaryUpdate['status'], attemptNumber: number): DeliverySummaryUpdate => ({
    tenantId: 'ten_1',
    jobId,
    eventId,
    status,
    attempt: attemptNumber,
    failures: status === 'delivered' ? 0 : attemptNumber,
    nextAttemptAt: status === 'pending' ? new Date(NOW.getTime() + 60_000) : null,
    lastStatusCode: status === 'delivered' ? 200 : 500,
    lastError: status === 'delivered' ? null : 'HTTP 500',
    at: NOW,
  });
  const storedItem = async (key: Record<string, string>) => (await table.db.send(new GetCommand({ TableName: LOCAL_NAMES.table, Key: key }))).Item;

  it('the first outcome creates the summary item (with its expiry); the job item is never written', async () => {
    const result = { title: 'x'.repeat(3000) };
    await table.db.send(new PutCommand({ TableName: LOCAL_NAMES.table, Item: { ...jobItem('job_summary', { status: 'completed' }), result } }));
    const before = await storedItem(keys.job('ten_1', 'job_summary'));
    expect((await lifecycle().getJob('ten_1', 'job_summary'))!.delivery).toMatchObject({ status: 'pending', attempts: 0, event_id: null });
    await ledger().recordDeliveryOutcome(outcome('job_summary', 'evt_1', 'pending', 1));
    expect(await storedItem(keys.job('ten_1', 'job_summary'))).toEqual(before);
    const summary = await storedItem(keys.jobDelivery('ten_1', 'job_summary'));
    expect(summary).toMatchObject({ entity: 'job_delivery', delivery: { status: 'pending', attempts: 1, event_id: 'evt_1' } });
    expect(summary!.expires_at).toBe(Math.floor(NOW.getTime() / 1000) + 24 * 3600);
    // Small however large the result: its update costs 1 WCU (under 1 KB).
    expect(JSON.stringify(summary).length).toBeLessThan(1024);
    expect((await lifecycle().getJob('ten_1', 'job_summary'))!.delivery).toMatchObject({ status: 'pending', attempts: 1, event_id: 'evt_1' });
  });

  it('a failure never overwrites a success of the same event, nor a later attempt; a new event starts over', async () => {
    const id = 'job_summary_race';
    await table.db.send(new PutCommand({ TableName: LOCAL_NAMES.table, Item: jobItem(id, { status: 'completed' }) }));
    const summary = async () => (await lifecycle().getJob('ten_1', id))!.delivery;
    await ledger().recordDeliveryOutcome(outcome(id, 'evt_1', 'pending', 3));
    await ledger().recordDeliveryOutcome(outcome(id, 'evt_1', 'pending', 2)); // an older attempt's outcome, late
    expect(await summary()).toMatchObject({ status: 'pending', attempts: 3 });
    await ledger().recordDeliveryOutcome(outcome(id, 'evt_1', 'delivered', 4));
    await ledger().recordDeliveryOutcome(outcome(id, 'evt_1', 'failed', 5)); // a racing receipt's failure after the success
    expect(await summary()).toMatchObject({ status: 'delivered', attempts: 4, event_id: 'evt_1' });
    await ledger().recordDeliveryOutcome(outcome(id, 'evt_2', 'pending', 1)); // a redrive's new event
    expect(await summary()).toMatchObject({ status: 'pending', attempts: 1, event_id: 'evt_2' });
  });

  it('two receipts racing: whichever order they land in, a success stands', async () => {
    const id = 'job_summary_concurrent';
    await table.db.send(new PutCommand({ TableName: LOCAL_NAMES.table, Item: jobItem(id, { status: 'completed' }) }));
    await Promise.all([ledger().recordDeliveryOutcome(outcome(id, 'evt_1', 'pending', 2)), ledger().recordDeliveryOutcome(outcome(id, 'evt_1', 'delivered', 1))]);
    expect((await lifecycle().getJob('ten_1', id))!.delivery).toMatchObject({ status: 'delivered', event_id: 'evt_1' });
  });

  it('a batch summary needs its progress item: none is created for a batch that does not exist', async () => {
    await ledger().recordDeliveryOutcome({ ...outcome('unused', 'evt_b', 'delivered', 1), jobId: undefined as never, batchId: 'bat_ghost' });
    expect(await storedItem(keys.batchProgress('ten_1', 'bat_ghost'))).toBeUndefined();
  });
});
