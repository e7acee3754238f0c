// The adapters' condition expressions against a real DynamoDB emulator (dynalite): for every job
// state and every transition, the conditional write succeeds exactly when core/job-state.ts says
// the transition is allowed. A translation that drifted from the rule fails here.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { startEmulators, type Emulators } from '../../local/emulators';
import { createTables, LOCAL_NAMES } from '../../local/resources';
import { createDynamoJobLifecycle } from '../../lambdas/adapters/dynamo/job-lifecycle';
import { canTransition, JOB_TRANSITIONS, type JobStateView, type JobTransitionName } from '../../lambdas/core/job-state';
import { keys } from '../../lambdas/adapters/dynamo/keys';
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

let emulators: Emulators;
let raw: DynamoDBClient;
let db: DynamoDBDocumentClient;

beforeAll(async () => {
  emulators = await startEmulators({});
  raw = new DynamoDBClient({ endpoint: emulators.dynamoEndpoint, region: 'us-east-1', credentials: { accessKeyId: 'l', secretAccessKey: 'l' } });
  db = DynamoDBDocumentClient.from(raw, { marshallOptions: { removeUndefinedValues: true } });
  await createTables(raw);
}, 60_000);

afterAll(async () => {
  raw?.destroy();
  await emulators?.stop();
});

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
    delivery: { status: 'pending', attempts: 0, event_id: null, last_status_code: null, last_error: null, updated_at: null },
    ...state,
  };
}

async function attempt(transition: JobTransitionName, job: JobRecord): Promise<boolean> {
  const lifecycle = createDynamoJobLifecycle(db, { tableName: LOCAL_NAMES.table, retentionDays: 1 });
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
        await db.send(new PutCommand({ TableName: LOCAL_NAMES.table, Item: jobItem(jobId, state) }));
        outcome[transition] = await attempt(transition, jobItem(jobId, state) as unknown as JobRecord);
      }
      expect(outcome).toEqual(Object.fromEntries(transitions.map((t) => [t, canTransition(t, state, NOW, ASKING)])));
    });
  }

  it('no transition applies to a job that does not exist (and none creates it)', async () => {
    const ghost = jobItem('job_ghost', { status: 'queued' }) as unknown as JobRecord;
    for (const transition of Object.keys(JOB_TRANSITIONS) as JobTransitionName[]) expect(await attempt(transition, ghost)).toBe(false);
    const lifecycle = createDynamoJobLifecycle(db, { tableName: LOCAL_NAMES.table, retentionDays: 1 });
    expect(await lifecycle.getJob('ten_1', 'job_ghost')).toBeUndefined();
  });

  it('a start takes the lease index deadline with it, a release moves it to the retry, a finish clears it', async () => {
    const lifecycle = createDynamoJobLifecycle(db, { tableName: LOCAL_NAMES.table, retentionDays: 1 });
    await db.send(new PutCommand({ TableName: LOCAL_NAMES.table, Item: jobItem('job_deadline', { status: 'queued' }) }));
    const storedItem = async () => (await db.send(new GetCommand({ TableName: LOCAL_NAMES.table, Key: keys.job('ten_1', 'job_deadline') }))).Item!;
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
