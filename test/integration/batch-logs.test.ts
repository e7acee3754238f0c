// What the SQS handlers log at INFO (the level the stack deploys with) over a run of the embedded
// stack: one line per batch that names every job and event under its outcome, and a line of its
// own only for a record that did not go the normal way. A line per record was the largest log
// cost per file (BENCHMARKS.md cost table); losing a job's id from the logs would be worse.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from '../support/local-harness';
import { captureProcessOutput } from '../support/process-output';
import { until } from '../support/until';

let h: Harness;
const output: string[] = [];
let restoreOutput: () => void = () => undefined;
let completed: string[] = [];
let failedJob = '';

type LogLine = { level: string; message: string; [field: string]: unknown };
const lines = (): LogLine[] =>
  output.join('').split('\n').filter((line) => line.startsWith('{')).map((line) => JSON.parse(line) as LogLine).filter((line) => typeof line.message === 'string');

const idsIn = (message: string, outcome: string) =>
  lines().filter((line) => line.message === message).flatMap((line) => ((line.ids as Record<string, string[]>)[outcome] ?? []));
const deliveredIds = () => idsIn('delivery messages processed', 'delivered');

beforeAll(async () => {
  restoreOutput = captureProcessOutput(output);
  h = await startHarness({ env: { POWERTOOLS_LOG_LEVEL: 'INFO' } });
  const files = await Promise.all(['graphic.png', 'image.webp', 'photo-iptc.jpg'].map((fixture) => h.upload(fixture, `batch-logs/${fixture}`)));
  const missing = `s3://${h.stack.names.mediaBucket}/tenants/${h.stack.tenantId}/batch-logs/absent.png`;
  const accepted = await h.submit({ callback_url: `${h.receiver.url}/ok`, files: [...files, missing].map((url) => ({ url })) });
  expect(accepted.status).toBe(202);
  const jobs = accepted.json.jobs.map((job: { job_id: string }) => job.job_id) as string[];
  completed = jobs.slice(0, 3);
  failedJob = jobs[3]!;
  await h.receiver.waitFor((all) => all.some((webhook) => webhook.payload?.type === 'batch.completed'), 30_000);
  // A batch's line is written when its invocation ends, just after the receiver got the POST.
  await until(() => deliveredIds().length >= 5, 10_000, 50);
}, 60_000);

afterAll(async () => {
  await h?.stop();
  restoreOutput();
});

describe('batch log lines', () => {
  it('names every job under its outcome in the extractor\'s batch lines, with no per-job line for a completed one', () => {
    const batches = lines().filter((line) => line.message === 'job messages processed');
    expect(batches.length).toBeGreaterThan(0);
    expect(batches.every((line) => line.level === 'INFO')).toBe(true);
    expect(idsIn('job messages processed', 'completed').sort()).toEqual([...completed].sort());
    expect(idsIn('job messages processed', 'failed')).toEqual([failedJob]);
    const total = batches.reduce((sum, line) => sum + (line.records as number), 0);
    expect(total).toBe(4);
    const own = lines().filter((line) => line.message === 'job processed');
    expect(own.map((line) => line.jobId)).toEqual([failedJob]);
    expect(own[0]).toMatchObject({ level: 'INFO', outcome: 'failed' });
  });

  it('names every delivered event in the callback\'s batch lines, with no per-event line for a delivery', () => {
    const webhooks = h.receiver.received.map((webhook) => String(webhook.headers['webhook-id']));
    const delivered = deliveredIds();
    // Four job events and the batch event, each delivered once.
    expect(delivered.sort()).toEqual([...new Set(webhooks)].sort());
    expect(delivered).toHaveLength(5);
    expect(lines().filter((line) => line.message === 'delivery attempt')).toEqual([]);
  });
});
