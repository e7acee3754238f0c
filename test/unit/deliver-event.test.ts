import { describe, expect, it } from 'vitest';
import { Webhook } from 'standardwebhooks';
import { resolveSettings } from '../../lib/settings';
import { deliverEvent, redactUrl, retryDelaySeconds } from '../../lambdas/core/deliver-event';
import { jobEventId } from '../../lambdas/core/ids';
import { parseRetryAfter } from '../../lambdas/core/retry-after';
import type { DeliveryAttemptRecord, JobRecord } from '../../lambdas/core/records';
import type { WebhookRequest, WebhookResponse } from '../../lambdas/core/ports';
import { generateSigningSecret } from '../../lambdas/core/webhook-signature';
import { completedJob, fakeDeliveryDeps, respond } from '../support/delivery-fakes';

const settings = resolveSettings({});
const secret = generateSigningSecret();

/** The fakes, with this file's signing secret and a scripted receiver. */
const harness = (initial: JobRecord, reply: (request: WebhookRequest) => WebhookResponse) => fakeDeliveryDeps(initial, { secret, reply });

const pendingDelivery = (attempts: number, failures: number) => ({
  status: 'pending' as const,
  attempts,
  failures,
  event_id: message.event_id,
  last_status_code: 500,
  last_error: 'HTTP 500',
  updated_at: null,
  next_attempt_at: null,
});

const message = { kind: 'job' as const, tenant_id: 'ten_1', job_id: 'job_01', event_id: jobEventId('job_01', 'completed') };

describe('deliverEvent', () => {
  it('delivers a signed job.completed event and records the attempt with a redacted URL', async () => {
    const { deps, requests, attempts, summaries } = harness(completedJob(), () => respond(204));
    const decision = await deliverEvent(deps, message, { receiveCount: 1 });
    expect(decision).toEqual({ outcome: 'delivered', attempt: 1, status: 204 });
    const sent = requests[0]!;
    const payload = new Webhook(secret).verify(sent.body, sent.headers) as { type: string; id: string; data: { metadata: unknown } };
    expect(payload.type).toBe('job.completed');
    expect(sent.headers['webhook-id']).toBe(message.event_id);
    expect(payload.data.metadata).toEqual({ order: 7 });
    expect(attempts[0]).toMatchObject({ attempt: 1, outcome: 'delivered', http_status: 204, url: 'https://hooks.example.com/in?[redacted]' });
    expect(summaries[0]).toMatchObject({ status: 'delivered', attempt: 1, eventId: message.event_id });
  });

  it('schedules a retry on 500 with the first step of the schedule', async () => {
    const { deps, attempts } = harness(completedJob(), () => respond(500));
    const decision = await deliverEvent(deps, message, { receiveCount: 1 });
    expect(decision).toMatchObject({ outcome: 'retry', attempt: 1, delaySeconds: settings.delivery.retryScheduleSeconds[0] });
    expect(attempts[0]).toMatchObject({ outcome: 'retrying', error_class: 'http_500' });
  });

  it('treats a redirect as a failure', async () => {
    const { deps } = harness(completedJob(), () => respond(302, { location: 'https://elsewhere.example' }));
    expect((await deliverEvent(deps, message, { receiveCount: 2 })).outcome).toBe('retry');
  });

  it('dead-letters at once on 410 Gone', async () => {
    const { deps, summaries } = harness(completedJob(), () => respond(410));
    const decision = await deliverEvent(deps, message, { receiveCount: 1 });
    expect(decision).toMatchObject({ outcome: 'dead_letter', reason: 'endpoint_gone' });
    expect(summaries[0]).toMatchObject({ status: 'failed' });
  });

  it('dead-letters with a reason on the last receive SQS allows, before SQS would do it silently', async () => {
    const { deps, summaries } = harness(completedJob(), () => ({ kind: 'error', errorClass: 'timeout', message: 'too slow', durationMs: 15_000 }));
    const decision = await deliverEvent(deps, message, { receiveCount: settings.delivery.maxReceiveCount });
    expect(decision).toMatchObject({ outcome: 'dead_letter', reason: 'receive_limit' });
    expect(summaries[0]).toMatchObject({ status: 'failed', lastError: expect.stringMatching(/^receive_limit/) });
  });

  it('dead-letters when the stored failures use up the schedule, whatever the receive count', async () => {
    const steps = settings.delivery.retryScheduleSeconds.length;
    const job = completedJob({
      delivery: { ...pendingDelivery(steps, steps), next_attempt_at: '2026-01-01T23:00:00.000Z' },
    });
    const { deps } = harness(job, () => respond(500));
    expect(await deliverEvent(deps, message, { receiveCount: 1 })).toMatchObject({
      outcome: 'dead_letter',
      reason: 'attempts_exhausted',
      attempt: steps + 1,
    });
  });

  it('takes the retry step from the stored failures, not from the receive count', async () => {
    const job = completedJob({ delivery: pendingDelivery(3, 3) });
    const { deps, job: current } = harness(job, () => respond(500));
    const before = deps.now().getTime();
    const delaySeconds = retryDelaySeconds(settings.delivery, 3, () => 0.5);
    const decision = await deliverEvent(deps, message, { receiveCount: 2 });
    expect(decision).toMatchObject({ outcome: 'retry', attempt: 4, delaySeconds });
    expect(delaySeconds).not.toBe(retryDelaySeconds(settings.delivery, 1, () => 0.5));
    expect(current().delivery).toMatchObject({ attempts: 4, failures: 4, status: 'pending' });
    expect(Date.parse(current().delivery.next_attempt_at!)).toBe(before + delaySeconds * 1000);
  });

  it('waits without an attempt when received before the next attempt is due, and attempts once it is due', async () => {
    const { deps, requests, attempts, advance } = harness(completedJob(), () => respond(500));
    await deliverEvent(deps, message, { receiveCount: 1 }); // fails; next in 5 s
    advance(2);
    expect(await deliverEvent(deps, message, { receiveCount: 2 })).toEqual({ outcome: 'wait', delaySeconds: 3 });
    expect(requests).toHaveLength(1);
    advance(3);
    expect(await deliverEvent(deps, message, { receiveCount: 3 })).toMatchObject({
      outcome: 'retry',
      attempt: 2,
      delaySeconds: settings.delivery.retryScheduleSeconds[1],
    });
    expect(attempts.map((a) => a.attempt)).toEqual([1, 2]);
  });

  it('a wait that reaches the last allowed receive ends in a failed delivery with the reason', async () => {
    const job = completedJob({ delivery: { ...pendingDelivery(8, 8), next_attempt_at: new Date(Date.now() + 6 * 3600_000).toISOString() } });
    const { deps, requests, summaries } = harness(job, () => respond(500));
    const decision = await deliverEvent(deps, message, { receiveCount: settings.delivery.maxReceiveCount });
    expect(decision).toMatchObject({ outcome: 'dead_letter', reason: 'receive_limit' });
    expect(requests).toHaveLength(0);
    expect(summaries[0]).toMatchObject({ status: 'failed', attempt: 8 });
  });

  it('records a POST whose attempt number another receipt took under the next number', async () => {
    const { deps, attempts, requests } = harness(completedJob(), () => respond(500));
    // Another receipt of the same message read the same state and wrote attempt 1 first.
    await deps.attempts.record({ ...({} as DeliveryAttemptRecord), event_id: message.event_id, attempt: 1 });
    const decision = await deliverEvent(deps, message, { receiveCount: 1 });
    expect(decision).toMatchObject({ outcome: 'retry', attempt: 2 });
    expect(requests).toHaveLength(1);
    expect(attempts.map((a) => a.attempt)).toEqual([1, 2]);
  });

  it('numbers attempts after the ones already made for the same event', async () => {
    const job = completedJob({
      delivery: { status: 'pending', attempts: 4, event_id: message.event_id, last_status_code: 500, last_error: 'x', updated_at: null },
    });
    const { deps } = harness(job, () => respond(200));
    expect(await deliverEvent(deps, message, { receiveCount: 1 })).toMatchObject({ outcome: 'delivered', attempt: 5 });
  });

  it('skips an event that was already delivered, without a request', async () => {
    const job = completedJob({
      delivery: { status: 'delivered', attempts: 1, event_id: message.event_id, last_status_code: 200, last_error: null, updated_at: null },
    });
    const { deps, requests } = harness(job, () => respond(200));
    expect((await deliverEvent(deps, message, { receiveCount: 1 })).outcome).toBe('skipped');
    expect(requests).toHaveLength(0);
  });

  it('keeps the same body and webhook-id across attempts while the timestamp is fresh', async () => {
    const { deps, requests, advance } = harness(completedJob(), () => respond(500));
    await deliverEvent(deps, message, { receiveCount: 1 });
    advance(10);
    await deliverEvent(deps, message, { receiveCount: 2 });
    expect(requests[0]!.body).toBe(requests[1]!.body);
    expect(requests[0]!.headers['webhook-id']).toBe(requests[1]!.headers['webhook-id']);
    expect(requests[0]!.headers['webhook-timestamp']).not.toBe(requests[1]!.headers['webhook-timestamp']);
  });
});

describe('retryDelaySeconds', () => {
  const delivery = settings.delivery;
  it('stays within +-20% of each step', () => {
    delivery.retryScheduleSeconds.forEach((step, index) => {
      expect(retryDelaySeconds(delivery, index, () => 0)).toBe(Math.round(step * 0.8));
      const highest = retryDelaySeconds(delivery, index, () => 0.999999);
      // The 12 h step too: waits beyond one SQS visibility window are split by the handler.
      expect(highest).toBeGreaterThan(step);
      expect(highest).toBeLessThanOrEqual(Math.round(step * 1.2));
    });
  });
  it('uses the full +20% on the long steps after the first 15 minutes', () => {
    const index = delivery.retryScheduleSeconds.indexOf(3600);
    expect(retryDelaySeconds(delivery, index, () => 0.999999)).toBe(4320);
  });
  it('puts the first five attempts inside 15 minutes even with maximum jitter', () => {
    const worst = [0, 1, 2, 3].reduce((sum, index) => sum + retryDelaySeconds(delivery, index, () => 0.999999), 0);
    expect(worst).toBeLessThan(15 * 60);
    const best = [0, 1, 2, 3].reduce((sum, index) => sum + retryDelaySeconds(delivery, index, () => 0), 0);
    expect(best).toBeGreaterThan(0.75 * 755);
  });
  it('honours Retry-After within the schedule bounds', () => {
    expect(retryDelaySeconds(delivery, 0, () => 0.5, 90)).toBe(90);
    expect(retryDelaySeconds(delivery, 0, () => 0.5, 1)).toBe(Math.min(...delivery.retryScheduleSeconds));
    expect(retryDelaySeconds(delivery, 0, () => 0.5, 10 ** 9)).toBe(Math.max(...delivery.retryScheduleSeconds));
  });
});

describe('parseRetryAfter and redactUrl', () => {
  const now = new Date('2026-01-01T00:00:00Z');
  it('reads seconds and HTTP dates', () => {
    expect(parseRetryAfter('120', now)).toBe(120);
    expect(parseRetryAfter('Thu, 01 Jan 2026 00:01:00 GMT', now)).toBe(60);
    expect(parseRetryAfter('soon', now)).toBeUndefined();
    expect(parseRetryAfter(undefined, now)).toBeUndefined();
  });
  it('removes query strings and credentials from audit URLs', () => {
    expect(redactUrl('https://user:pw@h.example/p?sig=1')).toBe('https://h.example/p?[redacted]');
    expect(redactUrl('https://h.example/p')).toBe('https://h.example/p');
  });
});
