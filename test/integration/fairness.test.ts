// Tenant fairness on the embedded stack: one tenant's 200-file backlog does not starve another
// tenant's single file. fauxqs ignores MessageGroupId on standard queues (it stores it only for
// FIFO queues), so SQS fair queues cannot help here; the extractor's fairShare rule (a batch runs
// at most N records of one backlogged tenant and requeues the rest behind other tenants) must.
// METAHOOK_FAIRNESS_DWELL_SECONDS=0 makes every record count as backlogged (default 60 s).
import { afterAll, beforeAll, expect, it } from 'vitest';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { FIXTURES, startHarness, type Harness } from '../support/local-harness';

let h: Harness;

beforeAll(async () => {
  h = await startHarness({ env: { METAHOOK_FAIRNESS_DWELL_SECONDS: '0' } });
});

afterAll(async () => {
  await h?.stop();
});

async function submitAs(apiKey: string, callbackPath: string, urls: string[]): Promise<string[]> {
  const response = await fetch(`${h.stack.endpoint}/v1/jobs`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-api-key': apiKey },
    body: JSON.stringify({ callback_url: `${h.receiver.url}${callbackPath}`, files: urls.map((url) => ({ url })) }),
  });
  const json = (await response.json()) as any;
  expect(response.status).toBe(202);
  return json.jobs.map((job: { job_id: string }) => job.job_id);
}

const jobCallbacks = (prefix: string) =>
  h.receiver.received.filter((w) => w.path.startsWith(prefix) && w.payload?.type.startsWith('job.'));

it("finishes a small tenant's single file while a large tenant's 200-file backlog is still draining", async () => {
  const [big, small] = [await h.stack.createTenant('Big'), await h.stack.createTenant('Small')];
  const bytes = await readFile(join(FIXTURES, 'graphic.png'));
  const urls = await Promise.all(
    Array.from({ length: 101 }, async (_, i) => {
      // Each file under its owner's prefix: Big's 100, then Small's one (issue 16 tenant scope).
      const owner = i < 100 ? big.tenant.tenant_id : small.tenant.tenant_id;
      await h.stack.s3.send(new PutObjectCommand({ Bucket: h.stack.names.mediaBucket, Key: `tenants/${owner}/fair/${i}.png`, Body: bytes }));
      return `s3://${h.stack.names.mediaBucket}/tenants/${owner}/fair/${i}.png`;
    }),
  );
  // 200 jobs for Big (two requests; distinct callbacks so dedupe keeps them apart), queued first.
  const bigJobs = [...(await submitAs(big.apiKey, '/big/1', urls.slice(0, 100))), ...(await submitAs(big.apiKey, '/big/2', urls.slice(0, 100)))];
  expect(bigJobs).toHaveLength(200);
  const [smallJob] = await submitAs(small.apiKey, '/small', [urls[100]!]);

  const deadline = Date.now() + 90_000;
  while (jobCallbacks('/small').length === 0) {
    if (Date.now() > deadline) throw new Error('the small tenant\'s file never finished');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  const bigDoneWhenSmallFinished = new Set(jobCallbacks('/big').map((w) => w.payload!.data.job_id)).size;
  expect(jobCallbacks('/small')[0]!.payload!.data.job_id).toBe(smallJob);

  // Every one of Big's files still ends delivered: holding back requeues, it never drops.
  while (new Set(jobCallbacks('/big').map((w) => w.payload!.data.job_id)).size < 200) {
    if (Date.now() > deadline) throw new Error(`only ${new Set(jobCallbacks('/big').map((w) => w.payload!.data.job_id)).size} of Big's 200 files finished`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  // FIFO order would finish Small after all 200; fair share lets it overtake most of the backlog.
  expect(bigDoneWhenSmallFinished).toBeLessThan(150);
  expect(jobCallbacks('/big').every((w) => w.payload!.type === 'job.completed')).toBe(true);
}, 120_000);
