import { describe, expect, it } from 'vitest';
import { resolveSettings } from '../../lib/settings';
import { canonicalJson, dedupeKey, parseSubmission, submitJobs, type SubmitJobsDeps } from '../../lambdas/core/submit-jobs';
import { ApiError } from '../../lambdas/core/errors';
import type { DedupeReservation, EnqueueOutboxEntry, JobMessage, ReservationResult } from '../../lambdas/core/ports';
import type { JobRecord } from '../../lambdas/core/records';

const settings = resolveSettings({});

function fakeDeps(existing = new Map<string, string>()) {
  const created: JobRecord[] = [];
  const queued: JobMessage[] = [];
  const outbox = new Map<string, EnqueueOutboxEntry>();
  let n = 0;
  const deps: SubmitJobsDeps = {
    claims: {
      reserve: async (reservations: readonly DedupeReservation[]) =>
        reservations.map((r): ReservationResult => {
          const found = existing.get(r.dedupeKey);
          if (found) return { reserved: false, jobId: found, reservedAt: new Date().toISOString() };
          existing.set(r.dedupeKey, r.jobId);
          return { reserved: true, jobId: r.jobId };
        }),
      takeOverReservation: async () => false,
      releaseReservations: async () => undefined,
    },
    outbox: {
      openEnqueueOutbox: async (entry: EnqueueOutboxEntry) => void outbox.set(entry.batchId, entry),
      closeEnqueueOutbox: async (entry) => void outbox.delete(entry.batchId),
    },
    jobs: {
      getJobs: async (_tenant: string, ids: readonly string[]) => created.filter((job) => ids.includes(job.job_id)),
      createBatch: async (_batch: unknown, jobs: readonly JobRecord[]) => void created.push(...jobs),
    },
    queue: { enqueueJobs: async (messages) => void queued.push(...messages) },
    idempotency: { begin: async () => ({ state: 'new' }), complete: async () => undefined, release: async () => undefined },
    outbound: { allowLoopbackHttp: false, allowedPorts: [443] },
    sources: { mediaBucket: 'media', allowedSourceBuckets: ['partner'] },
    settings,
    now: () => new Date('2026-01-01T00:00:00Z'),
    newJobId: () => `job_${++n}`,
    newBatchId: () => 'bat_1',
  };
  return { deps, created, queued, outbox };
}

const errorOf = async (promise: Promise<unknown>): Promise<ApiError> => {
  try {
    await promise;
  } catch (error) {
    if (error instanceof ApiError) return error;
    throw error;
  }
  throw new Error('expected an ApiError');
};

describe('parseSubmission', () => {
  it('names every problem with a path', () => {
    try {
      parseSubmission({ callback_url: 7, files: [{ url: 'x', media_type: 'video', extra: 1 }] }, settings);
      expect.unreachable();
    } catch (error) {
      const details = (error as ApiError).details!.map((d) => d.path);
      expect(details).toEqual(expect.arrayContaining(['callback_url', 'files[0].media_type', 'files[0]']));
      expect((error as ApiError).code).toBe('invalid_request');
    }
  });
  it('caps metadata size', () => {
    const metadata = { blob: 'x'.repeat(settings.api.maxMetadataBytes) };
    expect(() => parseSubmission({ callback_url: 'https://a.example', files: [{ url: 's3://media/tenants/t/a.png' }], metadata }, settings)).toThrow(/metadata/);
  });
  it('refuses an external_id with characters outside the allowed set', () => {
    expect(() => parseSubmission({ callback_url: 'https://a.example', files: [{ url: 's3://media/tenants/t/a.png', external_id: 'a b<script>' }] }, settings)).toThrow(ApiError);
  });
});

describe('canonicalJson and dedupeKey', () => {
  it('ignores key order', () => {
    expect(canonicalJson({ b: 1, a: { d: [1, { z: 1, y: 2 }], c: null } })).toBe(canonicalJson({ a: { c: null, d: [1, { y: 2, z: 1 }] }, b: 1 }));
  });
  it('treats equivalent URL spellings as the same file, and tenants apart', () => {
    expect(dedupeKey('t1', 'https://CDN.example.com/a.png', 'https://h.example/x')).toBe(dedupeKey('t1', 'https://cdn.example.com:443/a.png', 'https://h.example/x'));
    expect(dedupeKey('t1', 'https://cdn.example.com/a.png', 'https://h.example/x')).not.toBe(dedupeKey('t2', 'https://cdn.example.com/a.png', 'https://h.example/x'));
    expect(dedupeKey('t1', 'https://cdn.example.com/a.png', 'https://h.example/x')).not.toBe(dedupeKey('t1', 'https://cdn.example.com/a.png', 'https://h.example/y'));
  });
});

describe('submitJobs', () => {
  const body = (files: unknown[]) => ({ callback_url: 'https://hooks.example.com/in', files });

  it('creates one job and one message per new file, in request order', async () => {
    const { deps, created, queued } = fakeDeps();
    const response = await submitJobs(deps, {
      tenantId: 't',
      body: body([{ url: 's3://media/tenants/t/a.png', external_id: 'a' }, { url: 's3://partner/b.mp3' }]),
      mediaSources: [{ bucket: 'partner', prefix: '' }],
    });
    expect(response.jobs.map((j) => [j.job_id, j.external_id, j.duplicate])).toEqual([['job_1', 'a', false], ['job_2', null, false]]);
    expect(created.map((j) => j.url)).toEqual(['s3://media/tenants/t/a.png', 's3://partner/b.mp3']);
    expect(queued).toEqual([{ tenant_id: 't', job_id: 'job_1' }, { tenant_id: 't', job_id: 'job_2' }]);
  });

  it('makes a file repeated inside one request a single job', async () => {
    const { deps, created } = fakeDeps();
    const response = await submitJobs(deps, { tenantId: 't', body: body([{ url: 's3://media/tenants/t/a.png' }, { url: 's3://media/tenants/t/a.png' }]) });
    expect(response.jobs.map((j) => [j.job_id, j.duplicate])).toEqual([['job_1', false], ['job_1', true]]);
    expect(created).toHaveLength(1);
  });

  it('returns the existing job for a known file and queues nothing for it', async () => {
    const existing = new Map([[dedupeKey('t', 's3://media/tenants/t/a.png', 'https://hooks.example.com/in'), 'job_old']]);
    const { deps, queued, created } = fakeDeps(existing);
    created.push({ job_id: 'job_old', status: 'processing' } as JobRecord);
    const response = await submitJobs(deps, { tenantId: 't', body: body([{ url: 's3://media/tenants/t/a.png' }]) });
    expect(response.jobs[0]).toMatchObject({ job_id: 'job_old', duplicate: true, status: 'processing' });
    expect(queued).toHaveLength(0);
  });

  it('refuses forbidden URLs and unsupported extensions before anything is written', async () => {
    const { deps, created } = fakeDeps();
    expect((await errorOf(submitJobs(deps, { tenantId: 't', body: { ...body([{ url: 's3://media/tenants/t/a.png' }]), callback_url: 'https://10.0.0.1/x' } }))).code).toBe('callback_url_forbidden');
    expect((await errorOf(submitJobs(deps, { tenantId: 't', body: body([{ url: 's3://elsewhere/a.png' }]) }))).code).toBe('file_url_forbidden');
    // Another tenant's upload prefix, and an allowlisted bucket this tenant holds no grant on.
    expect((await errorOf(submitJobs(deps, { tenantId: 't', body: body([{ url: 's3://media/tenants/u/a.png' }]) }))).code).toBe('file_url_forbidden');
    expect((await errorOf(submitJobs(deps, { tenantId: 't', body: body([{ url: 's3://partner/b.mp3' }]) }))).code).toBe('file_url_forbidden');
    expect((await errorOf(submitJobs(deps, { tenantId: 't', body: body([{ url: 's3://media/tenants/t/report.pdf' }]) }))).code).toBe('unsupported_media_type');
    expect(created).toHaveLength(0);
  });

  it('replays, refuses or waits according to the Idempotency-Key record', async () => {
    const { deps, created } = fakeDeps();
    const replayed = { batch_id: 'bat_0', jobs: [] };
    deps.idempotency.begin = async () => ({ state: 'replay', response: replayed });
    expect(await submitJobs(deps, { tenantId: 't', body: body([{ url: 's3://media/tenants/t/a.png' }]), idempotencyKey: 'k' })).toBe(replayed);
    deps.idempotency.begin = async () => ({ state: 'mismatch' });
    expect((await errorOf(submitJobs(deps, { tenantId: 't', body: body([{ url: 's3://media/tenants/t/a.png' }]), idempotencyKey: 'k' }))).code).toBe('idempotency_key_reused');
    deps.idempotency.begin = async () => ({ state: 'in_progress' });
    expect((await errorOf(submitJobs(deps, { tenantId: 't', body: body([{ url: 's3://media/tenants/t/a.png' }]), idempotencyKey: 'k' }))).code).toBe('idempotency_key_in_progress');
    expect(created).toHaveLength(0);
  });

  it('keeps its claims and the outbox entry when queuing fails: the jobs exist, the sweeper queues them', async () => {
    const { deps, created, outbox } = fakeDeps();
    const released: string[] = [];
    deps.queue.enqueueJobs = async () => { throw new Error('sqs down'); };
    (deps.claims as any).releaseReservations = async (r: DedupeReservation[]) => void released.push(...r.map((x) => x.jobId));
    let keyReleased = false;
    deps.idempotency.release = async () => { keyReleased = true; };
    await expect(submitJobs(deps, { tenantId: 't', body: body([{ url: 's3://media/tenants/t/a.png' }]), idempotencyKey: 'k' })).rejects.toThrow('sqs down');
    expect(created.map((job) => job.job_id)).toEqual(['job_1']);
    expect(released).toEqual([]); // a retry must find job_1 (a duplicate that exists), not make a second job
    expect([...outbox.values()]).toEqual([{ tenantId: 't', batchId: 'bat_1', jobIds: ['job_1'], createdAt: '2026-01-01T00:00:00.000Z' }]);
    expect(keyReleased).toBe(true);
  });

  it('closes the outbox entry only after the messages are sent', async () => {
    const { deps, queued, outbox } = fakeDeps();
    const seenAtEnqueue: number[] = [];
    deps.queue.enqueueJobs = async (messages) => { seenAtEnqueue.push(outbox.size); queued.push(...messages); };
    await submitJobs(deps, { tenantId: 't', body: body([{ url: 's3://media/tenants/t/a.png' }]) });
    expect(seenAtEnqueue).toEqual([1]);
    expect(outbox.size).toBe(0);
  });

  it('releases every claim when the outbox entry cannot be written: nothing else exists yet', async () => {
    const { deps, created, queued } = fakeDeps();
    const released: string[] = [];
    (deps.outbox as any).openEnqueueOutbox = async () => { throw new Error('throttled'); };
    (deps.claims as any).releaseReservations = async (r: DedupeReservation[]) => void released.push(...r.map((x) => x.jobId));
    await expect(submitJobs(deps, { tenantId: 't', body: body([{ url: 's3://media/tenants/t/a.png' }, { url: 's3://media/tenants/t/b.png' }]) })).rejects.toThrow('throttled');
    expect(released).toEqual(['job_1', 'job_2']);
    expect(created).toEqual([]);
    expect(queued).toEqual([]);
  });

  it('when the job writes fail part-way, releases only the claims whose job is not there', async () => {
    const { deps, created } = fakeDeps();
    const released: string[] = [];
    (deps.jobs as any).createBatch = async (_batch: unknown, jobs: readonly JobRecord[]) => {
      created.push(jobs[0]!); // the first write committed, then the call failed
      throw new Error('BatchWriteItem left 1 items unprocessed');
    };
    (deps.claims as any).releaseReservations = async (r: DedupeReservation[]) => void released.push(...r.map((x) => x.jobId));
    await expect(submitJobs(deps, { tenantId: 't', body: body([{ url: 's3://media/tenants/t/a.png' }, { url: 's3://media/tenants/t/b.png' }]) })).rejects.toThrow('unprocessed');
    expect(released).toEqual(['job_2']);
  });

  it('never answers a claim whose job does not exist as a duplicate: 503 request_in_progress while it is fresh', async () => {
    const key = dedupeKey('t', 's3://media/tenants/t/a.png', 'https://hooks.example.com/in');
    const { deps, created, queued } = fakeDeps(new Map([[key, 'job_inflight']]));
    const released: string[] = [];
    (deps.claims as any).releaseReservations = async (r: DedupeReservation[]) => void released.push(...r.map((x) => x.jobId));
    const error = await errorOf(submitJobs(deps, { tenantId: 't', body: body([{ url: 's3://media/tenants/t/b.png' }, { url: 's3://media/tenants/t/a.png' }]) }));
    expect(error.code).toBe('request_in_progress');
    expect(error.status).toBe(503);
    expect(error.retryAfterSeconds).toBe(settings.idempotency.staleReservationSeconds);
    expect(error.details).toEqual([{ path: 'files[1].url', message: expect.any(String) }]);
    expect(released).toEqual(['job_1']); // b.png's fresh claim is undone so the retry starts clean
    expect(created).toEqual([]);
    expect(queued).toEqual([]);
  });

  it('takes over a claim whose job never appeared once the intake that made it cannot be running', async () => {
    const key = dedupeKey('t', 's3://media/tenants/t/a.png', 'https://hooks.example.com/in');
    const { deps, created } = fakeDeps(new Map([[key, 'job_dead']]));
    const tookOver: string[] = [];
    (deps.claims as any).reserve = async (reservations: readonly DedupeReservation[]) =>
      reservations.map((): ReservationResult => ({
        reserved: false,
        jobId: 'job_dead',
        reservedAt: new Date(Date.parse('2026-01-01T00:00:00Z') - (settings.intake.functionTimeoutSeconds + 7) * 1000).toISOString(),
      }));
    (deps.claims as any).takeOverReservation = async (r: DedupeReservation, stale: string) => { tookOver.push(`${stale}->${r.jobId}`); return true; };
    const response = await submitJobs(deps, { tenantId: 't', body: body([{ url: 's3://media/tenants/t/a.png' }]) });
    expect(tookOver).toEqual(['job_dead->job_1']);
    expect(response.jobs).toEqual([expect.objectContaining({ job_id: 'job_1', duplicate: false })]);
    expect(created.map((job) => job.job_id)).toEqual(['job_1']);
  });
});
