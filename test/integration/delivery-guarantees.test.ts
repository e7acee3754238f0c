// Delivery guarantees on the embedded stack with a compressed schedule: retries keep the
// webhook-id, 410 stops at once, slow receivers time out, and a crash between storing a
// result and queuing its webhook still delivers exactly one event.
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ReceiveMessageCommand, SendMessageBatchCommand, SQSClient } from '@aws-sdk/client-sqs';
import { startHarness, type Harness } from '../support/local-harness';
import type { ReceivedWebhook } from '../../local/webhook-receiver';

let h: Harness;

beforeAll(async () => {
  h = await startHarness({
    env: {
      METAHOOK_RETRY_SCHEDULE: '1,1,1',
      METAHOOK_EXTRACTION_RETRY_SCHEDULE: '1,1',
      METAHOOK_CALLBACK_TIMEOUT_MS: '700',
    },
  });
  h.receiver.reply = (request, index) => {
    if (request.path.startsWith('/flaky')) return index < 2 ? { status: 503, body: 'not yet' } : { status: 204 };
    if (request.path.startsWith('/gone')) return { status: 410 };
    if (request.path.startsWith('/slow')) return { status: 200, delayMs: 1500 };
    return { status: 200 };
  };
});

afterAll(async () => {
  vi.restoreAllMocks();
  await h?.stop();
});

const jobEvents = (all: ReceivedWebhook[], jobId: string) =>
  all.filter((r) => r.payload?.type.startsWith('job.') && r.payload.data.job_id === jobId);

async function submitOne(path: string, fixture = 'graphic.png'): Promise<string> {
  const url = await h.upload(fixture, `${path}/${Date.now()}-${fixture}`);
  const { status, json } = await h.submit({ callback_url: `${h.receiver.url}${path}`, files: [{ url }] });
  expect(status).toBe(202);
  return json.jobs[0].job_id;
}

async function deadLetters(): Promise<{ body: any; reason: string | undefined }[]> {
  const { Messages } = await h.stack.sqs.send(
    new ReceiveMessageCommand({
      QueueUrl: h.stack.queueUrls.deliveriesDeadLetter,
      MaxNumberOfMessages: 10,
      MessageAttributeNames: ['All'],
      VisibilityTimeout: 0,
      WaitTimeSeconds: 1,
    }),
  );
  return (Messages ?? []).map((m) => ({ body: JSON.parse(m.Body!), reason: m.MessageAttributes?.reason?.StringValue }));
}

describe('delivery retries', () => {
  it('delivers on attempt 3 after two failures, with one webhook-id and a valid signature each time', async () => {
    const jobId = await submitOne('/flaky');
    const all = await h.receiver.waitFor((r) => jobEvents(r, jobId).length >= 3, 20_000);
    const attempts = jobEvents(all, jobId);
    expect(attempts).toHaveLength(3);
    expect(new Set(attempts.map((a) => a.headers['webhook-id'])).size).toBe(1);
    expect(attempts.every((a) => a.signatureValid)).toBe(true);
    expect(new Set(attempts.map((a) => a.body)).size).toBe(1);
    await expect.poll(async () => (await h.job(jobId))?.delivery, { timeout: 5000 }).toMatchObject({ status: 'delivered', attempts: 3 });
    const records = await h.attempts(jobId);
    expect(records.map((r) => [r.attempt, r.outcome, r.http_status])).toEqual([
      [1, 'retrying', 503],
      [2, 'retrying', 503],
      [3, 'delivered', 204],
    ]);
  });

  it('redelivers a finished job on request under the same webhook-id', async () => {
    const jobId = await submitOne('/redeliver');
    const [first] = await h.receiver.waitFor((r) => jobEvents(r, jobId).length >= 1).then((r) => jobEvents(r, jobId));
    const response = await fetch(`${h.stack.endpoint}/v1/jobs/${jobId}/redeliver`, { method: 'POST', headers: { 'x-api-key': h.stack.apiKey } });
    expect(response.status).toBe(202);
    const again = await h.receiver.waitFor((r) => jobEvents(r, jobId).length >= 2).then((r) => jobEvents(r, jobId));
    expect(again[1]!.headers['webhook-id']).toBe(first!.headers['webhook-id']);
    expect(again[1]!.body).toBe(first!.body);
    expect(again[1]!.signatureValid).toBe(true);
    await expect.poll(async () => (await h.attempts(jobId)).length, { timeout: 5000 }).toBe(2);
    expect((await h.attempts(jobId)).map((a) => a.attempt).sort((x, y) => x - y)).toEqual([1, 2]);
  });

  it('stops at the first 410 Gone and dead-letters the delivery as endpoint_gone', async () => {
    const jobId = await submitOne('/gone');
    await h.receiver.waitFor((r) => jobEvents(r, jobId).length >= 1);
    await expect.poll(async () => (await h.job(jobId))?.delivery?.status, { timeout: 5000 }).toBe('failed');
    await new Promise((resolve) => setTimeout(resolve, 2500));
    expect(jobEvents(h.receiver.received, jobId)).toHaveLength(1);
    const dead = (await deadLetters()).find((m) => m.body.job_id === jobId);
    expect(dead?.reason).toBe('endpoint_gone');
    expect((await h.job(jobId))?.delivery.last_error).toMatch(/^endpoint_gone/);
  });

  it('counts a receiver slower than the timeout as a failed attempt', async () => {
    const jobId = await submitOne('/slow');
    await h.receiver.waitFor((r) => jobEvents(r, jobId).length >= 2, 20_000);
    const records = await h.attempts(jobId);
    expect(records[0]).toMatchObject({ attempt: 1, outcome: 'retrying', http_status: null, error_class: 'timeout' });
    expect(records[0]!.duration_ms).toBeGreaterThanOrEqual(600);
  });
});

describe('a crash between storing a result and queuing its webhook', () => {
  it('still delivers, once, under one webhook-id', async () => {
    // Fault injection at the SDK boundary: the extractor's first attempt to queue a
    // delivery fails after the job's result was stored, as if the worker died there.
    const originalSend = SQSClient.prototype.send;
    let failed = false;
    const spy = vi.spyOn(SQSClient.prototype, 'send').mockImplementation(function (this: SQSClient, command: any, ...rest: any[]) {
      if (!failed && command instanceof SendMessageBatchCommand && command.input.QueueUrl === h.stack.queueUrls.deliveries) {
        failed = true;
        return Promise.reject(Object.assign(new Error('injected crash before enqueue'), { name: 'InjectedFault' }));
      }
      return (originalSend as any).call(this, command, ...rest);
    });
    try {
      const jobId = await submitOne('/crash');
      const all = await h.receiver.waitFor((r) => jobEvents(r, jobId).length >= 1, 20_000);
      expect(failed).toBe(true);
      await new Promise((resolve) => setTimeout(resolve, 2500));
      const events = jobEvents(all, jobId);
      expect(events).toHaveLength(1);
      expect(events[0]!.signatureValid).toBe(true);
      expect(events[0]!.payload!.type).toBe('job.completed');
      expect((await h.job(jobId))?.status).toBe('completed');
    } finally {
      spy.mockRestore();
    }
  });
});

describe('an extraction that keeps failing', () => {
  it('dead-letters the job message after its retries and sends job.failed', async () => {
    // A file server on 127.0.0.1 that is always unavailable: a transient failure every time.
    let fetches = 0;
    const files = createServer((_req, res) => {
      fetches++;
      res.writeHead(503).end('maintenance');
    });
    await new Promise<void>((resolve) => files.listen(0, '127.0.0.1', () => resolve()));
    const fileUrl = `http://127.0.0.1:${(files.address() as AddressInfo).port}/photo.png`;
    try {
      const { status, json } = await h.submit({ callback_url: `${h.receiver.url}/extraction`, files: [{ url: fileUrl }] });
      expect(status).toBe(202);
      const jobId = json.jobs[0].job_id;
      const all = await h.receiver.waitFor((r) => jobEvents(r, jobId).length >= 1, 20_000);
      const event = jobEvents(all, jobId)[0]!;
      expect(event.payload!.type).toBe('job.failed');
      expect(event.payload!.data.error.code).toBe('file_fetch_failed');
      expect(fetches).toBe(h.stack.settings.extraction.maxAttempts); // the stored attempt counter decides, not the receive count
      const { Messages } = await h.stack.sqs.send(
        new ReceiveMessageCommand({ QueueUrl: h.stack.queueUrls.jobsDeadLetter, MaxNumberOfMessages: 10, MessageAttributeNames: ['All'], WaitTimeSeconds: 1 }),
      );
      const dead = (Messages ?? []).find((m) => JSON.parse(m.Body!).job_id === jobId);
      expect(dead?.MessageAttributes?.reason?.StringValue).toBe('attempts_exhausted');
      expect((await h.job(jobId))?.status).toBe('failed');
    } finally {
      await new Promise<void>((resolve) => files.close(() => resolve()));
    }
  });
});
