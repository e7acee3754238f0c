// Test support for unit tests of the delivery use case (core/deliver-event.ts): a finished job as
// the table stores it, and fakes of deliverEvent's ports that keep state the way the adapters do
// (the job's delivery summary follows the recorded outcomes; attempt rows are write-once).
import { resolveSettings } from '../../lib/settings';
import type { DeliverEventDeps } from '../../lambdas/core/deliver-event';
import type { DeliverySummaryUpdate, SecretSealer, WebhookRequest, WebhookResponse } from '../../lambdas/core/ports';
import { deliverySummaryOf, type DeliveryAttemptRecord, type JobRecord } from '../../lambdas/core/records';

/** A completed image job of tenant ten_1, batch bat_1, not yet delivered. */
export function completedJob(overrides: Partial<JobRecord> = {}): JobRecord {
  return {
    job_id: 'job_01',
    tenant_id: 'ten_1',
    batch_id: 'bat_1',
    url: 's3://bucket/a.jpg',
    external_id: 'ext-1',
    declared_media_type: null,
    callback_url: 'https://hooks.example.com/in?token=abc',
    metadata: { order: 7 },
    status: 'completed',
    created_at: '2026-01-01T00:00:00.000Z',
    updated_at: '2026-01-01T00:00:05.000Z',
    finished_at: '2026-01-01T00:00:05.000Z',
    media_type: 'image',
    result: { description: 'd', keywords: ['k'], caption: 'c' },
    model: { provider: 'local', id: 'x' },
    source: { sha256: 'ab', bytes: 3, content_type: 'image/jpeg' },
    delivery: { status: 'pending', attempts: 0, event_id: null, last_status_code: null, last_error: null, updated_at: null },
    ...overrides,
  };
}

export const respond = (status: number, headers: Record<string, string> = {}): WebhookResponse => ({
  kind: 'response',
  status,
  headers,
  body: 'x'.repeat(10),
  durationMs: 3,
});

export interface DeliveryFakeOptions {
  /** The tenant's one signing secret. */
  readonly secret: string;
  /** The receiver's answer to each request; default 204. */
  readonly reply?: (request: WebhookRequest) => WebhookResponse;
  /** Opens callback_headers; without one, a job with sealed headers cannot be delivered. */
  readonly sealer?: SecretSealer;
}

/** deliverEvent's ports for one job, with what they were asked; the clock moves only by advance(). */
export function fakeDeliveryDeps(initial: JobRecord, options: DeliveryFakeOptions) {
  const reply = options.reply ?? (() => respond(204));
  let job = initial;
  let clock = Date.now();
  const requests: WebhookRequest[] = [];
  const attempts: DeliveryAttemptRecord[] = [];
  const summaries: DeliverySummaryUpdate[] = [];
  const deps = {
    jobs: { getJob: async () => job },
    ledger: {
      recordDeliveryOutcome: async (update: DeliverySummaryUpdate) => {
        summaries.push(update);
        job = { ...job, delivery: deliverySummaryOf(update) };
      },
    },
    tenants: { getSigningSecrets: async () => [{ secret: options.secret, expires_at: null }] },
    sender: { post: async (request: WebhookRequest) => (requests.push(request), reply(request)) },
    attempts: {
      record: async (record: DeliveryAttemptRecord) => {
        if (attempts.some((a) => a.event_id === record.event_id && a.attempt === record.attempt)) return false;
        attempts.push(record);
        return true;
      },
    },
    settings: resolveSettings({}),
    now: () => new Date(clock),
    random: () => 0.5,
    ...(options.sealer ? { sealer: options.sealer } : {}),
  } as unknown as DeliverEventDeps;
  return { deps, requests, attempts, summaries, job: () => job, advance: (seconds: number) => void (clock += seconds * 1000) };
}
