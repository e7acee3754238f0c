// Bench support: indexes the webhooks a local receiver got (job id -> arrival) so phases can
// wait for thousands of callbacks without rescanning the whole list on every arrival.
import type { ReceivedWebhook, WebhookReceiver } from '../../local/webhook-receiver';

export interface Arrival {
  readonly receivedAt: number;
  readonly type: string;
  readonly signatureValid: boolean;
  readonly path: string;
}

export interface CallbackIndex {
  readonly jobs: Map<string, Arrival>;
  readonly batches: Map<string, Arrival>;
  readonly invalidSignatures: number;
  waitForJobs(jobIds: readonly string[], timeoutMs: number): Promise<void>;
  waitForBatches(batchIds: readonly string[], timeoutMs: number): Promise<void>;
}

export function indexCallbacks(receiver: WebhookReceiver): CallbackIndex {
  const jobs = new Map<string, Arrival>();
  const batches = new Map<string, Arrival>();
  let seen = 0;
  let invalid = 0;
  const ingest = (all: ReceivedWebhook[]) => {
    for (; seen < all.length; seen++) {
      const hook = all[seen]!;
      if (!hook.signatureValid) invalid++;
      const data = hook.payload?.data ?? {};
      const arrival = { receivedAt: hook.receivedAt, type: hook.payload?.type ?? '?', signatureValid: hook.signatureValid, path: hook.path };
      if (hook.payload?.type?.startsWith('job.') && typeof data.job_id === 'string' && !jobs.has(data.job_id)) jobs.set(data.job_id, arrival);
      if (hook.payload?.type === 'batch.completed' && typeof data.batch_id === 'string' && !batches.has(data.batch_id)) {
        batches.set(data.batch_id, arrival);
      }
    }
  };
  const waitUntil = async (map: Map<string, Arrival>, ids: readonly string[], timeoutMs: number) => {
    const missing = new Set(ids);
    await receiver.waitFor((all) => {
      ingest(all);
      for (const id of missing) if (map.has(id)) missing.delete(id);
      return missing.size === 0;
    }, timeoutMs);
  };
  return {
    jobs,
    batches,
    get invalidSignatures() {
      ingest(receiver.received);
      return invalid;
    },
    waitForJobs: (ids, timeoutMs) => waitUntil(jobs, ids, timeoutMs),
    waitForBatches: (ids, timeoutMs) => waitUntil(batches, ids, timeoutMs),
  };
}
