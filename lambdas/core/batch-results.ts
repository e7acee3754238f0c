// Domain: results inline in batch.completed (issue 14). callback -> deliverEvent -> here, for
// requests that chose only `batch.completed`: the event carries every job's result while its body
// stays within BATCH_EVENT_MAX_BYTES, else the first pages that fit plus the GET for the rest.
// Read from stored, finished jobs in the listing's own order and cursor, so every attempt of the
// event builds the same body (same webhook-id, same signature input).
import type { WebhookEventType } from './api-schemas';
import { batchJobResultOf, serializeEvent, type BatchCompletedEvent, type BatchJobResult } from './events';
import type { JobListings } from './ports';
import type { BatchRecord } from './records';

/**
 * Largest batch.completed body with inline results: 256 KiB, below the request-body limits common
 * receivers apply by default (API Gateway's is 10 MB, but many frameworks default to 100 KB-1 MB).
 * Documented in docs/api.md.
 */
export const BATCH_EVENT_MAX_BYTES = 256 * 1024;

/** Jobs read per listing page: the granularity at which results are cut. */
export const BATCH_RESULTS_PAGE = 10;

/** Room kept for results_next (the path and a cursor of at most 2 KB). */
const NEXT_LINK_ALLOWANCE = 2_600;

export const wantsEvent = (events: readonly WebhookEventType[] | null | undefined, type: WebhookEventType): boolean =>
  !events || events.includes(type);

export const onlyBatchCompleted = (events: readonly WebhookEventType[] | null | undefined): boolean =>
  events?.length === 1 && events[0] === 'batch.completed';

const nextLink = (batchId: string, cursor: string | undefined) => ({
  method: 'GET' as const,
  path: `/v1/jobs?batch_id=${encodeURIComponent(batchId)}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
});

export async function withInlineResults(
  listings: Pick<JobListings, 'listJobs'>,
  batch: BatchRecord,
  event: BatchCompletedEvent,
  maxBytes = BATCH_EVENT_MAX_BYTES,
): Promise<BatchCompletedEvent> {
  const sized = (results: BatchJobResult[]) =>
    Buffer.byteLength(serializeEvent({ ...event, data: { ...event.data, results, results_next: null } }));
  let results: BatchJobResult[] = [];
  let cursor: string | undefined;
  for (;;) {
    const page = await listings.listJobs(batch.tenant_id, { batchId: batch.batch_id, limit: BATCH_RESULTS_PAGE, ...(cursor ? { cursor } : {}) });
    const candidate = [...results, ...page.jobs.map(batchJobResultOf)];
    const last = page.cursor === null;
    if (sized(candidate) + (last ? 0 : NEXT_LINK_ALLOWANCE) > maxBytes) {
      // This page does not fit: stop before it; the link starts where the inline results end.
      return { ...event, data: { ...event.data, results, results_next: nextLink(batch.batch_id, cursor) } };
    }
    results = candidate;
    if (last) return { ...event, data: { ...event.data, results, results_next: null } };
    cursor = page.cursor!;
  }
}
