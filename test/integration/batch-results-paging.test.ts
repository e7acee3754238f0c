// End to end on the local stack (issue 14): a batch.completed too big for its results inline
// carries the first pages and `results_next`, and the integrator gets the rest from the public
// jobs API with its API key. The inline limit is lowered (METAHOOK_BATCH_EVENT_MAX_BYTES) so a
// small batch pages; the callback is signed, received on 127.0.0.1 and verified with the
// official standardwebhooks package.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Webhook } from 'standardwebhooks';
import { startHarness, type Harness } from '../support/local-harness';
import { batchCompletedEventSchema } from '../../lambdas/core/api-schemas';
import { BATCH_RESULTS_PAGE } from '../../lambdas/core/batch-results';

/** A local-analyzer result of graphic.png is about 1 KB: room for one page of 10, not two. */
const MAX_BYTES = 16_000;

let h: Harness;

beforeAll(async () => {
  h = await startHarness({ env: { METAHOOK_BATCH_EVENT_MAX_BYTES: String(MAX_BYTES) } });
});

afterAll(async () => {
  await h?.stop();
});

async function get(path: string, apiKey = h.stack.apiKey): Promise<{ status: number; json: any }> {
  const response = await fetch(`${h.stack.endpoint}${path}`, { headers: { 'x-api-key': apiKey } });
  return { status: response.status, json: await response.json() };
}

/** What the integrator guide's snippet does: the GET named by results_next, then next_cursor until null. */
async function fetchRest(first: string, limit?: number): Promise<any[]> {
  const jobs: any[] = [];
  const withLimit = (path: string) => (limit ? `${path}&limit=${limit}` : path);
  let path: string | null = withLimit(first);
  let pages = 0;
  while (path) {
    const { status, json } = await get(path);
    expect(status).toBe(200);
    jobs.push(...json.jobs);
    pages++;
    expect(pages).toBeLessThan(50); // a cursor that does not advance would loop forever
    path = json.next_cursor ? withLimit(`${first.split('&cursor=')[0]}&cursor=${encodeURIComponent(json.next_cursor)}`) : null;
  }
  return jobs;
}

describe('batch.completed with results_next', () => {
  it('carries the first pages inline and the GET for the rest, which lists every other job exactly once', async () => {
    // 20 distinct images (distinct URLs, so no de-duplication) and 3 that do not exist.
    const images = await Promise.all(Array.from({ length: 20 }, (_, i) => h.upload('graphic.png', `paging/graphic-${i}.png`)));
    const files = [
      ...images.map((url, i) => ({ url, external_id: `img-${i}` })),
      ...[0, 1, 2].map((i) => ({ url: `${images[0]}-missing-${i}.png`, external_id: `gone-${i}` })),
    ];
    const { status, json: submitted } = await h.submit({ callback_url: `${h.receiver.url}/paged`, files, events: ['batch.completed'] });
    expect(status).toBe(202);
    const submittedIds: string[] = submitted.jobs.map((j: any) => j.job_id);
    const expectedStatus = new Map<string, string>(
      submitted.jobs.map((j: any) => [j.job_id, String(j.external_id).startsWith('gone-') ? 'failed' : 'completed']),
    );
    expect(expectedStatus.size).toBe(23);

    const all = await h.receiver.waitFor(
      (r) => r.some((x) => x.payload?.type === 'batch.completed' && x.payload.data.batch_id === submitted.batch_id),
      25_000,
    );
    const received = all.find((x) => x.payload?.type === 'batch.completed' && x.payload.data.batch_id === submitted.batch_id)!;
    const event = new Webhook(h.stack.signingSecret).verify(received.body, received.headers as Record<string, string>) as any;
    expect(batchCompletedEventSchema.safeParse(event).success).toBe(true);
    expect(Buffer.byteLength(received.body)).toBeLessThanOrEqual(MAX_BYTES);
    expect(event.data).toMatchObject({ total: 23, completed: 20, failed: 3 });

    // Paged: some results inline, cut at a page boundary, and a link for the rest.
    const inline: any[] = event.data.results;
    expect(inline.length).toBeGreaterThan(0);
    expect(inline.length).toBeLessThan(23);
    expect(inline.length % BATCH_RESULTS_PAGE).toBe(0);
    expect(event.data.results_next).toEqual({ method: 'GET', path: expect.stringMatching(/^\/v1\/jobs\?batch_id=bat_[^&]+&cursor=[A-Za-z0-9_-]+$/) });
    const next: string = event.data.results_next.path;

    // Followed as given (one page at the default limit) and in small pages (the cursor chain).
    for (const limit of [undefined, 4]) {
      const rest = await fetchRest(next, limit);
      const everything = [...inline, ...rest];
      const ids: string[] = everything.map((j) => j.job_id);
      expect(new Set(ids).size).toBe(ids.length); // none twice
      expect(new Set(ids)).toEqual(new Set(submittedIds)); // none missing, none foreign
      // One order across the event and the API: job-id order, which is the files' order in the request.
      expect(ids).toEqual([...ids].sort());
      expect(ids).toEqual(submittedIds);
      for (const job of everything) {
        expect(job.status, job.job_id).toBe(expectedStatus.get(job.job_id));
        if (job.status === 'completed') expect(job.result.keywords.length, job.job_id).toBeGreaterThan(0);
        else expect(job.error.code, job.job_id).toBe('file_not_found');
        expect(job.batch_id ?? submitted.batch_id).toBe(submitted.batch_id);
      }
    }

    // The link works only with this tenant's key: no key is refused, another tenant's cursor is
    // refused, and another tenant's listing of this batch is empty.
    expect((await get(next, 'not-a-key')).status).toBe(403);
    const other = await h.stack.createTenant('Other tenant');
    const foreign = await get(next, other.apiKey);
    expect(foreign.status).toBe(400);
    expect(foreign.json.error.code).toBe('invalid_request');
    const foreignList = await get(next.split('&cursor=')[0]!, other.apiKey);
    expect(foreignList).toEqual({ status: 200, json: { jobs: [], next_cursor: null } });
  }, 30_000);
});
