// End to end on the embedded local stack: HTTP in, SQS pollers running the real handlers,
// signed callbacks out to a real receiver on 127.0.0.1, verified with standardwebhooks.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import { startHarness, type Harness } from '../support/local-harness';
import type { ReceivedWebhook } from '../../local/webhook-receiver';

let h: Harness;

beforeAll(async () => {
  // Compressed delivery schedule: 3 attempts, 1 s apart.
  h = await startHarness({ env: { METAHOOK_RETRY_SCHEDULE: '1,1' } });
  h.receiver.reply = (request) => (request.path.startsWith('/always-500') ? { status: 500, body: 'boom' } : { status: 200 });
});

afterAll(async () => {
  await h?.stop();
});

const eventsFor = (all: ReceivedWebhook[], jobIds: string[]) =>
  all.filter((r) => r.payload?.type.startsWith('job.') && jobIds.includes(r.payload.data.job_id));

describe('submitting image and audio files', () => {
  it('extracts each file and delivers signed job.completed events plus one batch.completed', async () => {
    const photo = await h.upload('photo-iptc.jpg', 'happy/photo.jpg');
    const song = await h.upload('tagged.mp3', 'happy/song.mp3');
    const callback = `${h.receiver.url}/happy`;
    const { status, json } = await h.submit({
      callback_url: callback,
      files: [
        { url: photo, external_id: 'photo-1' },
        { url: song, external_id: 'song-1', media_type: 'audio' },
      ],
      metadata: { order: 'A-17' },
    });
    expect(status).toBe(202);
    expect(json.batch_id).toMatch(/^bat_/);
    expect(json.jobs).toHaveLength(2);
    expect(json.jobs.map((j: any) => [j.external_id, j.status, j.duplicate])).toEqual([
      ['photo-1', 'queued', false],
      ['song-1', 'queued', false],
    ]);
    const jobIds = json.jobs.map((j: any) => j.job_id);

    // Events are delivered independently (no order between a batch's and its jobs' webhooks).
    const all = await h.receiver.waitFor((r) =>
      r.some((x) => x.payload?.type === 'batch.completed' && x.payload.data.batch_id === json.batch_id) && eventsFor(r, jobIds).length >= 2);
    const events = eventsFor(all, jobIds);
    expect(events).toHaveLength(2);
    for (const event of events) {
      expect(event.signatureValid).toBe(true);
      expect(event.payload!.type).toBe('job.completed');
      expect(event.headers['webhook-id']).toBe(event.payload!.id);
      expect(event.payload!.data.metadata).toEqual({ order: 'A-17' });
      expect(event.payload!.data.model.provider).toBe('local');
      expect(event.payload!.data.source.sha256).toMatch(/^[0-9a-f]{64}$/);
    }
    const image = events.find((e) => e.payload!.data.external_id === 'photo-1')!.payload!.data;
    expect(image.media_type).toBe('image');
    expect(image.source.content_type).toBe('image/jpeg');
    expect(image.result.caption.length).toBeGreaterThan(0);
    expect(image.result.keywords.length).toBeGreaterThan(0);
    expect(image.result.description.length).toBeGreaterThan(0);
    const audio = events.find((e) => e.payload!.data.external_id === 'song-1')!.payload!.data;
    expect(audio.media_type).toBe('audio');
    expect(audio.result.summary).toMatch(/\.$/);
    expect(audio.result.keywords.length).toBeGreaterThan(0);

    const batchEvent = all.find((x) => x.payload?.type === 'batch.completed' && x.payload.data.batch_id === json.batch_id)!;
    expect(batchEvent.signatureValid).toBe(true);
    expect(batchEvent.payload!.data).toMatchObject({ total: 2, completed: 2, failed: 0 });

    // The callback records the attempt once the receiver has answered: give it a moment.
    let stored = await h.job(jobIds[0]);
    for (const until = Date.now() + 5_000; stored?.delivery?.status !== 'delivered' && Date.now() < until; stored = await h.job(jobIds[0])) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(stored).toMatchObject({ status: 'completed', delivery: { status: 'delivered', attempts: 1 } });
    expect(await h.attempts(jobIds[0])).toHaveLength(1);
  });

  it('processes a batch of many files, one callback each, and counts them in batch.completed', async () => {
    const fixtures = ['graphic.png', 'tone.wav', 'animation.gif', 'image.webp', 'short.flac'];
    const urls = await Promise.all(
      Array.from({ length: 30 }, (_, i) => h.upload(fixtures[i % fixtures.length]!, `many/${i}-${fixtures[i % fixtures.length]}`)),
    );
    const { status, json } = await h.submit({ callback_url: `${h.receiver.url}/many`, files: urls.map((url) => ({ url })) });
    expect(status).toBe(202);
    const jobIds: string[] = json.jobs.map((j: any) => j.job_id);
    expect(new Set(jobIds).size).toBe(30);
    const all = await h.receiver.waitFor(
      (r) => r.some((x) => x.payload?.type === 'batch.completed' && x.payload.data.batch_id === json.batch_id),
      60_000,
    );
    const events = eventsFor(all, jobIds);
    expect(new Set(events.map((e) => e.payload!.data.job_id)).size).toBe(30);
    expect(events.every((e) => e.signatureValid && e.payload!.type === 'job.completed')).toBe(true);
    const batches = all.filter((x) => x.payload?.type === 'batch.completed' && x.payload.data.batch_id === json.batch_id);
    expect(batches).toHaveLength(1);
    expect(batches[0]!.payload!.data).toMatchObject({ total: 30, completed: 30, failed: 0, cancelled: 0 });
  }, 90_000);

  it('fails a file whose bytes are not media with job.failed unsupported_media_type', async () => {
    const disguised = await h.upload('disguised.jpg', 'bytes/disguised.jpg');
    const { status, json } = await h.submit({ callback_url: `${h.receiver.url}/bytes`, files: [{ url: disguised }] });
    expect(status).toBe(202);
    const jobId = json.jobs[0].job_id;
    const all = await h.receiver.waitFor((r) => eventsFor(r, [jobId]).length > 0);
    const event = eventsFor(all, [jobId])[0]!;
    expect(event.signatureValid).toBe(true);
    expect(event.payload!.type).toBe('job.failed');
    expect(event.payload!.data.error.code).toBe('unsupported_media_type');
    expect(event.payload!.data.result).toBeUndefined();
  });

  it('fails a missing S3 object with file_not_found', async () => {
    const { json } = await h.submit({
      callback_url: `${h.receiver.url}/missing`,
      files: [{ url: `s3://${h.stack.names.mediaBucket}/tenants/${h.stack.tenantId}/nope/absent.png` }],
    });
    const jobId = json.jobs[0].job_id;
    const all = await h.receiver.waitFor((r) => eventsFor(r, [jobId]).length > 0);
    expect(eventsFor(all, [jobId])[0]!.payload!.data.error.code).toBe('file_not_found');
  });
});

describe('duplicates and idempotency', () => {
  it('returns the same jobs for a repeated submission and calls back once per job', async () => {
    const url = await h.upload('graphic.png', 'dup/graphic.png');
    const body = { callback_url: `${h.receiver.url}/dup`, files: [{ url, external_id: 'g' }] };
    const first = await h.submit(body);
    const jobId = first.json.jobs[0].job_id;
    await h.receiver.waitFor((r) => eventsFor(r, [jobId]).length > 0);
    const second = await h.submit(body);
    expect(second.status).toBe(202);
    expect(second.json.jobs[0]).toMatchObject({ job_id: jobId, duplicate: true, status: 'completed' });
    expect(second.json.batch_id).not.toBe(first.json.batch_id);
    // Give a second (wrong) callback every chance to arrive before asserting there is none.
    await new Promise((resolve) => setTimeout(resolve, 2500));
    expect(eventsFor(h.receiver.received, [jobId])).toHaveLength(1);
  });

  it('replays the first response for the same Idempotency-Key and body, and refuses a different body', async () => {
    const url = await h.upload('tone.wav', 'idem/tone.wav');
    const body = { callback_url: `${h.receiver.url}/idem`, files: [{ url }] };
    const key = `idem-${Date.now()}`;
    const first = await h.submit(body, { 'Idempotency-Key': key });
    const replay = await h.submit(body, { 'Idempotency-Key': key });
    expect(first.status).toBe(202);
    expect(replay.status).toBe(202);
    expect(replay.json).toEqual(first.json);
    const other = await h.submit({ ...body, metadata: { changed: true } }, { 'Idempotency-Key': key });
    expect(other.status).toBe(422);
    expect(other.json.error.code).toBe('idempotency_key_reused');
  });

  it('creates exactly one job from 20 concurrent identical requests', async () => {
    const url = await h.upload('image.webp', 'race/image.webp');
    const body = { callback_url: `${h.receiver.url}/race`, files: [{ url }] };
    // A request that meets a claim whose job is not written yet is told to retry (503
    // request_in_progress with Retry-After), never answered with a job that does not exist.
    const submitUntilAccepted = async () => {
      for (;;) {
        const response = await h.submit(body);
        if (response.status !== 503) return response;
        expect(response.json.error.code).toBe('request_in_progress');
        expect(Number(response.headers.get('retry-after'))).toBeGreaterThan(0);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    };
    const responses = await Promise.all(Array.from({ length: 20 }, submitUntilAccepted));
    expect(responses.map((r) => r.status)).toEqual(Array(20).fill(202));
    const jobIds = new Set(responses.map((r) => r.json.jobs[0].job_id));
    expect(jobIds.size).toBe(1);
    expect(responses.filter((r) => r.json.jobs[0].duplicate === false)).toHaveLength(1);
    const [jobId] = [...jobIds];
    await h.receiver.waitFor((r) => eventsFor(r, [jobId!]).length > 0);
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(eventsFor(h.receiver.received, [jobId!])).toHaveLength(1);
  });
});

describe('refused requests', () => {
  const own = () => `s3://metahook-media/tenants/${h.stack.tenantId}`;
  const valid = () => ({ callback_url: 'http://127.0.0.1:9/x', files: [{ url: `${own()}/a.png` }] });

  it('refuses a missing API key and a wrong one with the error envelope', async () => {
    const missing = await fetch(`${h.stack.endpoint}/v1/jobs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(valid()),
    });
    expect(missing.status).toBe(401);
    expect(((await missing.json()) as any).error).toMatchObject({ code: 'missing_api_key', request_id: expect.any(String) });
    const wrong = await h.submit(valid(), { 'x-api-key': 'mh_local_not-a-key' });
    expect(wrong.status).toBe(403);
    expect(wrong.json.error.code).toBe('invalid_api_key');
  });

  it('refuses malformed JSON', async () => {
    const { status, json } = await h.submitRaw('{"callback_url": ');
    expect(status).toBe(400);
    expect(json.error).toMatchObject({ code: 'invalid_request', message: expect.stringMatching(/JSON/) });
  });

  it('refuses 101 files and points at the files field', async () => {
    const files = Array.from({ length: 101 }, (_, i) => ({ url: `s3://metahook-media/${i}.png` }));
    const { status, json } = await h.submit({ ...valid(), files });
    expect(status).toBe(400);
    expect(json.error.code).toBe('invalid_request');
    expect(json.error.details).toEqual(expect.arrayContaining([expect.objectContaining({ path: 'files' })]));
  });

  it('refuses an obviously unsupported type at intake', async () => {
    const { status, json } = await h.submit({ ...valid(), files: [{ url: `${own()}/report.pdf` }] });
    expect(status).toBe(422);
    expect(json.error.code).toBe('unsupported_media_type');
    expect(json.error.details[0].path).toBe('files[0].url');
  });

  it('refuses callback URLs that would reach private addresses', async () => {
    const { status, json } = await h.submit({ ...valid(), callback_url: 'http://169.254.169.254/latest/meta-data' });
    expect(status).toBe(422);
    expect(json.error.code).toBe('callback_url_forbidden');
  });

  it('refuses unknown fields', async () => {
    const { status, json } = await h.submit({ ...valid(), priority: 'high' });
    expect(status).toBe(400);
    expect(json.error.code).toBe('invalid_request');
  });

  it('sends security headers and no internals on errors', async () => {
    const { headers, json } = await h.submitRaw('nope');
    expect(headers.get('x-content-type-options')).toBe('nosniff');
    expect(headers.get('strict-transport-security')).toContain('max-age');
    expect(JSON.stringify(json)).not.toMatch(/at .*\.ts:\d+/);
  });
});

describe('a receiver that keeps failing', () => {
  it('retries on the schedule, records every attempt, then dead-letters the delivery', async () => {
    const url = await h.upload('graphic.png', 'fail/graphic.png');
    const { json } = await h.submit({ callback_url: `${h.receiver.url}/always-500?token=secret-token`, files: [{ url }] });
    const jobId = json.jobs[0].job_id;
    const all = await h.receiver.waitFor((r) => eventsFor(r, [jobId]).length >= 3, 30_000);
    const attemptsSeen = eventsFor(all, [jobId]);
    expect(new Set(attemptsSeen.map((a) => a.headers['webhook-id'])).size).toBe(1);
    expect(attemptsSeen.every((a) => a.signatureValid)).toBe(true);

    // The job's delivery ends failed and the message lands in the deliveries DLQ.
    await expect.poll(async () => (await h.job(jobId))?.delivery?.status, { timeout: 10_000 }).toBe('failed');
    const attempts = await h.attempts(jobId);
    expect(attempts.map((a) => a.attempt).sort((x, y) => x - y)).toEqual([1, 2, 3]);
    expect(attempts.map((a) => a.outcome).sort((x, y) => x.localeCompare(y))).toEqual(['dead_lettered', 'retrying', 'retrying']);
    expect(attempts.every((a) => a.http_status === 500 && a.response_body === 'boom')).toBe(true);
    expect(attempts.every((a) => !String(a.url).includes('secret-token'))).toBe(true);

    const { Messages } = await h.stack.sqs.send(
      new ReceiveMessageCommand({ QueueUrl: h.stack.queueUrls.deliveriesDeadLetter, MaxNumberOfMessages: 10, MessageAttributeNames: ['All'], WaitTimeSeconds: 1 }),
    );
    const dead = (Messages ?? []).find((m) => JSON.parse(m.Body!).job_id === jobId);
    expect(dead?.MessageAttributes?.reason?.StringValue).toBe('attempts_exhausted');
    // No further attempts after dead-lettering.
    await new Promise((resolve) => setTimeout(resolve, 2500));
    expect(eventsFor(h.receiver.received, [jobId])).toHaveLength(3);
  }, 60_000);
});
