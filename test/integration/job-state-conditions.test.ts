// The adapters' condition expressions against a real DynamoDB emulator (dynalite): for every job
// state and every transition, the conditional write succeeds exactly when core/job-state.ts says
// the transition is allowed. A translation that drifted from the rule fails here.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, PutCommand } from '@aws-sdk/lib-dynamodb';
import { startEmulators, type Emulators } from '../../local/emulators';
import { createTables, LOCAL_NAMES } from '../../local/resources';
import { createDynamoJobLifecycle } from '../../lambdas/adapters/dynamo/job-lifecycle';
import { canTransition, JOB_TRANSITIONS, type JobStateView, type JobTransitionName } from '../../lambdas/core/job-state';
import { keys } from '../../lambdas/adapters/dynamo/keys';
import type { JobRecord } from '../../lambdas/core/records';

const NOW = new Date('2026-01-01T00:10:00.000Z');
const states: Record<string, JobStateView> = {
  queued: { status: 'queued' },
  'processing-live': { status: 'processing', lease_until: '2026-01-01T00:10:30.000Z' },
  'processing-expired': { status: 'processing', lease_until: '2026-01-01T00:09:00.000Z' },
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
      return (await lifecycle.startProcessing(job.tenant_id, job.job_id, NOW, new Date(NOW.getTime() + 60_000))).started;
    case 'release': {
      // releaseLease reports nothing: the write happened when the job moved to queued at NOW.
      await lifecycle.releaseLease(job, NOW);
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
      expect(outcome).toEqual(Object.fromEntries(transitions.map((t) => [t, canTransition(t, state, NOW)])));
    });
  }

  it('no transition applies to a job that does not exist (and none creates it)', async () => {
    const ghost = jobItem('job_ghost', { status: 'queued' }) as unknown as JobRecord;
    for (const transition of Object.keys(JOB_TRANSITIONS) as JobTransitionName[]) expect(await attempt(transition, ghost)).toBe(false);
    const lifecycle = createDynamoJobLifecycle(db, { tableName: LOCAL_NAMES.table, retentionDays: 1 });
    expect(await lifecycle.getJob('ten_1', 'job_ghost')).toBeUndefined();
  });
});
