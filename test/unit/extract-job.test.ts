import { describe, expect, it } from 'vitest';
import { resolveSettings } from '../../lib/settings';
import { extractJob, type ExtractJobDeps } from '../../lambdas/core/extract-job';
import { PermanentJobError, TransientJobError } from '../../lambdas/core/errors';
import type { DeliveryMessage, JobOutcomeUpdate } from '../../lambdas/core/ports';
import type { JobRecord } from '../../lambdas/core/records';

const settings = resolveSettings({ METAHOOK_EXTRACTION_RETRY_SCHEDULE: '1,1' }); // 3 attempts, 11 receives

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
  /** The tenant's own audio limit (tenants set-audio-limit). */
  tenantMaxAudioSeconds?: number;
  /** What the file sniffs as. @default a PNG image */
  kind?: 'image' | 'audio';
  extract?: (input: unknown) => Promise<unknown>;
  batchTotal?: number;
  /** The job's stored attempt counter after this start. */
  attempt?: number;
}) {
  const finished: JobOutcomeUpdate[] = [];
  const enqueued: DeliveryMessage[] = [];
  const claims: string[] = [];
  const releases: { jobId: string; retryAt: Date }[] = [];
  const leases: { until: Date; owner: string }[] = [];
  const job = 'job' in options ? options.job : queuedJob();
  const deps = {
    jobs: {
      startProcessing: async (_t: string, _j: string, _now: Date, lease: { until: Date; owner: string }) => (
        leases.push(lease), { started: options.started ?? true, job, attempt: options.attempt ?? 1 }),
      finish: async (_job: JobRecord, outcome: JobOutcomeUpdate) => (finished.push(outcome), true),
      releaseLease: async (released: JobRecord, _now: Date, retryAt: Date) => void releases.push({ jobId: released.job_id, retryAt }),
    },
    batches: {
      recordBatchProgress: async () => ({ total: options.batchTotal ?? 1, completed: 1, failed: 0, cancelled: 0 }),
      claimBatchCompletion: async (_t: string, batchId: string) => (claims.push(batchId), true),
    },
    tenants: {
      getTenant: async () => ({
        status: options.tenantStatus ?? 'active',
        ...(options.tenantMaxAudioSeconds !== undefined ? { max_audio_seconds: options.tenantMaxAudioSeconds } : {}),
      }),
    },
    media: { fetch: async () => ({ bytes: new Uint8Array([1, 2, 3]), contentType: 'image/png' }) },
    sniff: async () => (options.kind === 'audio' ? { kind: 'audio', format: 'mp3', mime: 'audio/mpeg' } : { kind: 'image', format: 'png', mime: 'image/png' }),
    provider: {
      name: 'fake',
      extract: options.extract ?? (async () => ({ result: { description: 'd', keywords: [], caption: 'c' }, model: { provider: 'fake', id: 'f' } })),
    },
    deliveries: { enqueueDeliveries: async (messages: DeliveryMessage[]) => void enqueued.push(...messages) },
    settings,
    now: () => new Date('2026-01-01T00:00:00Z'),
  } as unknown as ExtractJobDeps;
  return { deps, finished, enqueued, claims, releases, leases };
}

const message = { tenant_id: 'ten_1', job_id: 'job_1' };

describe('extractJob', () => {
  it("hands the provider the tenant's own audio limit, the deployment's without one, and none for images", async () => {
    const inputs: Record<string, unknown>[] = [];
    const extract = async (input: unknown) => (
      inputs.push(input as Record<string, unknown>), { result: { description: 'd', keywords: [], summary: 's' }, model: { provider: 'fake', id: 'f' } });
    await extractJob(harness({ kind: 'audio', tenantMaxAudioSeconds: 600, extract }).deps, message, { messageId: 'm1', receiveCount: 1 });
    await extractJob(harness({ kind: 'audio', extract }).deps, message, { messageId: 'm2', receiveCount: 1 });
    await extractJob(harness({ kind: 'image', tenantMaxAudioSeconds: 600, extract }).deps, message, { messageId: 'm3', receiveCount: 1 });

    expect(inputs[0]!.audioLimit).toEqual({ maxSeconds: 600, setBy: 'tenant' });
    expect(inputs[1]!.audioLimit).toEqual({ maxSeconds: settings.extraction.maxAudioDurationSeconds, setBy: 'deployment' });
    expect(inputs[2]).not.toHaveProperty('audioLimit');
  });

  it('completes a job, queues its webhook and, as the batch\'s last job, batch.completed', async () => {
    const { deps, finished, enqueued } = harness({});
    expect(await extractJob(deps, message, { messageId: 'm1', receiveCount: 1 })).toEqual({ outcome: 'completed', jobId: 'job_1' });
    expect(finished[0]).toMatchObject({ status: 'completed', mediaType: 'image', source: { bytes: 3, content_type: 'image/png' } });
    expect(enqueued.map((m) => m.kind)).toEqual(['job', 'batch']);
    expect(enqueued[0]!.event_id).toBe('msg_1_completed');
  });

  it('does not announce the batch while other jobs are still running', async () => {
    const { deps, enqueued } = harness({ batchTotal: 2 });
    await extractJob(deps, message, { messageId: 'm1', receiveCount: 1 });
    expect(enqueued.map((m) => m.kind)).toEqual(['job']);
  });

  it('fails a job at once on a permanent error', async () => {
    const { deps, finished, enqueued } = harness({ extract: async () => { throw new PermanentJobError('model_access_denied', 'no access'); } });
    expect(await extractJob(deps, message, { messageId: 'm1', receiveCount: 1 })).toEqual({ outcome: 'failed', jobId: 'job_1', code: 'model_access_denied' });
    expect(finished[0]).toMatchObject({ status: 'failed', error: { code: 'model_access_denied' } });
    expect(enqueued[0]!.event_id).toBe('msg_1_failed');
  });

  it('retries a transient error before the last attempt by its schedule step, without failing the job', async () => {
    const { deps, finished, enqueued, releases } = harness({
      attempt: 2,
      extract: async () => { throw new TransientJobError('model_error', 'throttled'); },
    });
    expect(await extractJob(deps, message, { messageId: 'm1', receiveCount: 2 })).toMatchObject({ outcome: 'retry', delaySeconds: 1, attempt: 2 });
    // The job waits for that retry; the sweeper's deadline for it is when it is due.
    expect(releases).toEqual([{ jobId: 'job_1', retryAt: new Date('2026-01-01T00:00:01Z') }]);
    expect(finished).toHaveLength(0);
    expect(enqueued).toHaveLength(0);
  });

  it('decides the last attempt from the stored attempt counter, not the receive count', async () => {
    const failing = { extract: async () => { throw new TransientJobError('model_error', 'throttled'); } };
    // Many receives (timeouts, init failures) but only the first attempt: retried, not failed.
    const early = harness({ ...failing, attempt: 1 });
    expect((await extractJob(early.deps, message, { messageId: 'm1', receiveCount: 7 })).outcome).toBe('retry');
    // The third attempt on its first receive (e.g. a requeued message): the job fails.
    const last = harness({ ...failing, attempt: 3 });
    expect(await extractJob(last.deps, message, { messageId: 'm1', receiveCount: 1 })).toMatchObject({
      outcome: 'failed', code: 'model_error', deadLetter: 'attempts_exhausted',
    });
    expect(last.finished[0]).toMatchObject({ status: 'failed', error: { retryable: true, message: expect.stringMatching(/3 attempts/) } });
    expect(last.enqueued[0]!.event_id).toBe('msg_1_failed');
  });

  it('fails a job whose attempts were used up without extracting again (requeued after its message was lost)', async () => {
    let extracted = 0;
    const { deps, finished } = harness({ attempt: 4, extract: async () => { extracted++; throw new Error('unreachable'); } });
    expect(await extractJob(deps, message, { messageId: 'm2', receiveCount: 1 })).toMatchObject({ outcome: 'failed', deadLetter: 'attempts_exhausted' });
    expect(extracted).toBe(0);
    expect(finished[0]).toMatchObject({ status: 'failed', error: { code: 'extraction_failed', retryable: true } });
  });

  it('on the last receive SQS allows, fails the job with a reason instead of leaving it to SQS', async () => {
    const { deps, finished, enqueued } = harness({ attempt: 1, extract: async () => { throw new TransientJobError('model_error', 'throttled'); } });
    const decision = await extractJob(deps, message, { messageId: 'm1', receiveCount: settings.extraction.maxReceiveCount });
    expect(decision).toMatchObject({ outcome: 'failed', deadLetter: 'receive_limit' });
    expect(finished[0]).toMatchObject({ status: 'failed', error: { retryable: true, message: expect.stringMatching(/receive limit/) } });
    expect(enqueued.map((m) => m.kind)).toEqual(['job', 'batch']);
  });

  it('takes the lease in the name of the SQS message, for the function timeout', async () => {
    const { deps, leases } = harness({});
    await extractJob(deps, message, { messageId: 'm-42', receiveCount: 1 });
    expect(leases).toEqual([{ owner: 'm-42', until: new Date(Date.parse('2026-01-01T00:00:00Z') + settings.extraction.leaseSeconds * 1000) }]);
  });

  it('re-announces a job that already finished (crash after storing the result)', async () => {
    const { deps, enqueued, finished } = harness({ started: false, job: queuedJob({ status: 'completed' }) });
    expect(await extractJob(deps, message, { messageId: 'm1', receiveCount: 2 })).toEqual({ outcome: 'redelivered', jobId: 'job_1' });
    expect(finished).toHaveLength(0);
    expect(enqueued[0]).toMatchObject({ kind: 'job', event_id: 'msg_1_completed' });
  });

  it('skips a cancelled job and a missing job without a webhook', async () => {
    const cancelled = harness({ started: false, job: queuedJob({ status: 'cancelled' }) });
    expect((await extractJob(cancelled.deps, message, { messageId: 'm1', receiveCount: 1 })).outcome).toBe('skipped');
    const missing = harness({ started: false, job: undefined });
    expect((await extractJob(missing.deps, message, { messageId: 'm1', receiveCount: 1 })).outcome).toBe('skipped');
    expect([...cancelled.enqueued, ...missing.enqueued]).toHaveLength(0);
  });

  it('waits exactly until another message\'s lease ends, not a schedule step', async () => {
    const { deps } = harness({ started: false, job: queuedJob({ status: 'processing' }) });
    (deps.jobs as any).startProcessing = async () => ({ started: false, job: queuedJob({ status: 'processing' }), leaseUntil: '2026-01-01T00:01:30Z' });
    expect(await extractJob(deps, message, { messageId: 'm1', receiveCount: 1 })).toMatchObject({ outcome: 'retry', delaySeconds: 91 });
  });

  it('lets a message go on its last receive when another message holds the job (that one carries it)', async () => {
    const { deps, finished, enqueued } = harness({ started: false, job: queuedJob({ status: 'processing' }) });
    const decision = await extractJob(deps, message, { messageId: 'm1', receiveCount: settings.extraction.maxReceiveCount });
    expect(decision.outcome).toBe('skipped');
    expect([...finished, ...enqueued]).toHaveLength(0);
  });

  it('dead-letters again a job that failed for want of retries when its own message comes back', async () => {
    const failed = queuedJob({ status: 'failed', error: { code: 'model_error', message: 'gave up', retryable: true } });
    const { deps, enqueued } = harness({ started: false, job: failed });
    expect(await extractJob(deps, message, { messageId: 'm1', receiveCount: 4 })).toEqual({
      outcome: 'redelivered', jobId: 'job_1', deadLetter: 'attempts_exhausted',
    });
    expect(enqueued[0]!.event_id).toBe('msg_1_failed');
  });

  it('holds the jobs of a disabled tenant', async () => {
    const { deps, finished } = harness({ tenantStatus: 'disabled' });
    expect(await extractJob(deps, message, { messageId: 'm1', receiveCount: 1 })).toEqual({ outcome: 'held', jobId: 'job_1', reason: 'tenant_disabled' });
    expect(finished).toHaveLength(0);
  });

  it('fails bytes that are not supported media with unsupported_media_type', async () => {
    const { deps, finished } = harness({});
    (deps as any).sniff = async () => ({ kind: 'unsupported', mime: 'application/pdf' });
    await extractJob(deps, message, { messageId: 'm1', receiveCount: 1 });
    expect(finished[0]).toMatchObject({ status: 'failed', error: { code: 'unsupported_media_type', message: expect.stringContaining('application/pdf') } });
  });
});
