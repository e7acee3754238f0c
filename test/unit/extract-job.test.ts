import { describe, expect, it } from 'vitest';
import { resolveSettings } from '../../lib/settings';
import { JobBusyError, extractJob, type ExtractJobDeps } from '../../lambdas/core/extract-job';
import { PermanentJobError, TransientJobError } from '../../lambdas/core/errors';
import type { DeliveryMessage, JobOutcomeUpdate } from '../../lambdas/core/ports';
import type { JobRecord } from '../../lambdas/core/records';

const settings = resolveSettings({ METAHOOK_EXTRACTION_RETRY_SCHEDULE: '1,1' }); // 3 attempts

function queuedJob(overrides: Partial<JobRecord> = {}): JobRecord {
  return {
    job_id: 'job_1', tenant_id: 'ten_1', batch_id: 'bat_1', url: 's3://b/k.png', external_id: null,
    declared_media_type: null, callback_url: 'https://h.example/in', metadata: null, status: 'queued',
    created_at: 't', updated_at: 't',
    delivery: { status: 'pending', attempts: 0, event_id: null, last_status_code: null, last_error: null, updated_at: null },
    ...overrides,
  };
}

function harness(options: {
  job?: JobRecord | undefined;
  started?: boolean;
  tenantStatus?: 'active' | 'disabled';
  extract?: () => Promise<unknown>;
  batchTotal?: number;
}) {
  const finished: JobOutcomeUpdate[] = [];
  const enqueued: DeliveryMessage[] = [];
  const claims: string[] = [];
  const releases: string[] = [];
  const job = 'job' in options ? options.job : queuedJob();
  const deps = {
    jobs: {
      startProcessing: async () => ({ started: options.started ?? true, job }),
      finish: async (_job: JobRecord, outcome: JobOutcomeUpdate) => (finished.push(outcome), true),
      releaseLease: async (released: JobRecord) => void releases.push(released.job_id),
    },
    batches: {
      recordBatchProgress: async () => ({ total: options.batchTotal ?? 1, completed: 1, failed: 0, cancelled: 0 }),
      claimBatchCompletion: async (_t: string, batchId: string) => (claims.push(batchId), true),
    },
    tenants: { getTenant: async () => ({ status: options.tenantStatus ?? 'active' }) },
    media: { fetch: async () => ({ bytes: new Uint8Array([1, 2, 3]), contentType: 'image/png' }) },
    sniff: async () => ({ kind: 'image', format: 'png', mime: 'image/png' }),
    provider: {
      name: 'fake',
      extract: options.extract ?? (async () => ({ result: { description: 'd', keywords: [], caption: 'c' }, model: { provider: 'fake', id: 'f' } })),
    },
    deliveries: { enqueueDeliveries: async (messages: DeliveryMessage[]) => void enqueued.push(...messages) },
    settings,
    now: () => new Date('2026-01-01T00:00:00Z'),
  } as unknown as ExtractJobDeps;
  return { deps, finished, enqueued, claims, releases };
}

const message = { tenant_id: 'ten_1', job_id: 'job_1' };

describe('extractJob', () => {
  it('completes a job, queues its webhook and, as the batch\'s last job, batch.completed', async () => {
    const { deps, finished, enqueued } = harness({});
    expect(await extractJob(deps, message, { receiveCount: 1 })).toEqual({ outcome: 'completed', jobId: 'job_1' });
    expect(finished[0]).toMatchObject({ status: 'completed', mediaType: 'image', source: { bytes: 3, content_type: 'image/png' } });
    expect(enqueued.map((m) => m.kind)).toEqual(['job', 'batch']);
    expect(enqueued[0]!.event_id).toBe('msg_1_completed');
  });

  it('does not announce the batch while other jobs are still running', async () => {
    const { deps, enqueued } = harness({ batchTotal: 2 });
    await extractJob(deps, message, { receiveCount: 1 });
    expect(enqueued.map((m) => m.kind)).toEqual(['job']);
  });

  it('fails a job at once on a permanent error', async () => {
    const { deps, finished, enqueued } = harness({ extract: async () => { throw new PermanentJobError('model_access_denied', 'no access'); } });
    expect(await extractJob(deps, message, { receiveCount: 1 })).toMatchObject({ outcome: 'failed', exhausted: false, code: 'model_access_denied' });
    expect(finished[0]).toMatchObject({ status: 'failed', error: { code: 'model_access_denied' } });
    expect(enqueued[0]!.event_id).toBe('msg_1_failed');
  });

  it('rethrows a transient error before the last attempt, without failing the job', async () => {
    const { deps, finished, enqueued, releases } = harness({ extract: async () => { throw new TransientJobError('model_error', 'throttled'); } });
    await expect(extractJob(deps, message, { receiveCount: 2 })).rejects.toThrow('throttled');
    expect(releases).toEqual(['job_1']);
    expect(finished).toHaveLength(0);
    expect(enqueued).toHaveLength(0);
  });

  it('fails the job as retryable when the last attempt fails transiently', async () => {
    const { deps, finished } = harness({ extract: async () => { throw new TransientJobError('model_error', 'throttled'); } });
    expect(await extractJob(deps, message, { receiveCount: 3 })).toMatchObject({ outcome: 'failed', exhausted: true, code: 'model_error' });
    expect(finished[0]).toMatchObject({ status: 'failed', error: { retryable: true, message: expect.stringMatching(/3 attempts/) } });
  });

  it('re-announces a job that already finished (crash after storing the result)', async () => {
    const { deps, enqueued, finished } = harness({ started: false, job: queuedJob({ status: 'completed' }) });
    expect(await extractJob(deps, message, { receiveCount: 2 })).toEqual({ outcome: 'redelivered', jobId: 'job_1' });
    expect(finished).toHaveLength(0);
    expect(enqueued[0]).toMatchObject({ kind: 'job', event_id: 'msg_1_completed' });
  });

  it('skips a cancelled job and a missing job without a webhook', async () => {
    const cancelled = harness({ started: false, job: queuedJob({ status: 'cancelled' }) });
    expect((await extractJob(cancelled.deps, message, { receiveCount: 1 })).outcome).toBe('skipped');
    const missing = harness({ started: false, job: undefined });
    expect((await extractJob(missing.deps, message, { receiveCount: 1 })).outcome).toBe('skipped');
    expect([...cancelled.enqueued, ...missing.enqueued]).toHaveLength(0);
  });

  it('retries later when another worker holds the job', async () => {
    const { deps } = harness({ started: false, job: queuedJob({ status: 'processing' }) });
    await expect(extractJob(deps, message, { receiveCount: 1 })).rejects.toBeInstanceOf(TransientJobError);
  });

  it('waits exactly until the other worker\'s lease ends, not a schedule step', async () => {
    const { deps } = harness({ started: false, job: queuedJob({ status: 'processing' }) });
    (deps.jobs as any).startProcessing = async () => ({ started: false, job: queuedJob({ status: 'processing' }), leaseUntil: '2026-01-01T00:01:30Z' });
    const error = await extractJob(deps, message, { receiveCount: 1 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(JobBusyError);
    expect((error as JobBusyError).retryAfterSeconds).toBe(91);
  });

  it('holds the jobs of a disabled tenant', async () => {
    const { deps, finished } = harness({ tenantStatus: 'disabled' });
    expect(await extractJob(deps, message, { receiveCount: 1 })).toEqual({ outcome: 'held', jobId: 'job_1', reason: 'tenant_disabled' });
    expect(finished).toHaveLength(0);
  });

  it('fails bytes that are not supported media with unsupported_media_type', async () => {
    const { deps, finished } = harness({});
    (deps as any).sniff = async () => ({ kind: 'unsupported', mime: 'application/pdf' });
    await extractJob(deps, message, { receiveCount: 1 });
    expect(finished[0]).toMatchObject({ status: 'failed', error: { code: 'unsupported_media_type', message: expect.stringContaining('application/pdf') } });
  });
});
