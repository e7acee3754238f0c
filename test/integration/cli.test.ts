// The operator/auditor CLI against the embedded local stack, through the same local.json a
// running `npm start` writes: tenant lifecycle at the gateway, secret rotation seen by a
// receiver, audits of real delivery attempts, and redrive of a real dead-lettered delivery.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { SendMessageCommand } from '@aws-sdk/client-sqs';
import { Webhook } from 'standardwebhooks';
import { startHarness, type Harness } from '../support/local-harness';
import { startWebhookReceiver, type ReceivedWebhook } from '../../local/webhook-receiver';
import { runCliCapturing } from '../support/cli-capture';

let h: Harness;
let dataDir: string;

beforeAll(async () => {
  h = await startHarness({ env: { METAHOOK_RETRY_SCHEDULE: '1,1,1' } });
  h.receiver.reply = (request, index) => {
    if (request.path.startsWith('/once-then-ok')) return index === 0 ? { status: 500, body: 'try later' } : { status: 200 };
    if (request.path.startsWith('/gone')) return { status: 410 };
    return { status: 200 };
  };
  dataDir = await mkdtemp(join(tmpdir(), 'metahook-cli-'));
  const { endpoint, apiKey, signingSecret, tenantId, s3Endpoint, mediaBucket, dynamoEndpoint, sqsEndpoint, handlerEnv } = h.stack;
  const state = { endpoint, apiKey, signingSecret, tenantId, s3Endpoint, mediaBucket, dynamoEndpoint, sqsEndpoint, handlerEnv };
  await writeFile(join(dataDir, 'local.json'), JSON.stringify(state));
});

afterAll(async () => {
  await h?.stop();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

const cli = (...argv: string[]) => runCliCapturing(dataDir, argv);

const listJobs = (apiKey: string) =>
  fetch(`${h.stack.endpoint}/v1/jobs`, { headers: { 'x-api-key': apiKey } }).then(async (r) => ({
    status: r.status,
    json: (await r.json()) as any,
  }));

const jobEvents = (all: ReceivedWebhook[], jobId: string) => all.filter((r) => r.payload?.data.job_id === jobId);

async function submitAs(apiKey: string, callbackUrl: string, tenantId = h.stack.tenantId): Promise<{ jobId: string; batchId: string }> {
  const url = await h.upload('graphic.png', `cli/${Date.now()}-${Math.random()}.png`, tenantId);
  const response = await fetch(`${h.stack.endpoint}/v1/jobs`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-api-key': apiKey },
    body: JSON.stringify({ callback_url: callbackUrl, files: [{ url }] }),
  });
  const json = (await response.json()) as any;
  expect(response.status).toBe(202);
  return { jobId: json.jobs[0].job_id, batchId: json.batch_id };
}

describe('tenants', () => {
  it('creates a tenant whose key works, prints its secrets once, and never lists them', async () => {
    const created = await cli('tenants', 'create', '--name', 'Acme Media', '--format', 'json');
    expect(created.code).toBe(0);
    const tenant = JSON.parse(created.stdout);
    expect(tenant.api_key).toMatch(/^mh_local_/);
    expect(tenant.signing_secret).toMatch(/^whsec_/);
    expect((await listJobs(tenant.api_key)).status).toBe(200);

    for (const format of ['table', 'csv', 'json']) {
      const listed = await cli('tenants', 'list', '--format', format);
      expect(listed.code).toBe(0);
      expect(listed.stdout).toContain(tenant.tenant_id);
      expect(listed.stdout).toContain('Acme Media');
      expect(listed.stdout).not.toContain(tenant.signing_secret);
      expect(listed.stdout).not.toContain(tenant.api_key);
      expect(listed.stdout).not.toContain('whsec_');
    }
  });

  it('disable refuses the key at the gateway with invalid_api_key; enable restores it', async () => {
    const tenant = JSON.parse((await cli('tenants', 'create', '--name', 'Soon Disabled', '--format', 'json')).stdout);
    const disabled = await cli('tenants', 'disable', '--tenant', tenant.tenant_id);
    expect(disabled.code).toBe(0);
    const refused = await listJobs(tenant.api_key);
    expect(refused.status).toBe(403);
    expect(refused.json.error.code).toBe('invalid_api_key');
    const listed = JSON.parse((await cli('tenants', 'list', '--format', 'json')).stdout);
    expect(listed.find((t: any) => t.tenant_id === tenant.tenant_id).status).toBe('disabled');

    expect((await cli('tenants', 'enable', '--tenant', tenant.tenant_id)).code).toBe(0);
    expect((await listJobs(tenant.api_key)).status).toBe(200);
  });

  it('reports an unknown tenant and usage mistakes with distinct exit codes', async () => {
    const unknown = await cli('tenants', 'disable', '--tenant', 'ten_NOPE');
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('no tenant with id ten_NOPE');
    expect((await cli('tenants', 'disable')).code).toBe(2);
    expect((await cli('tenants', 'create', '--name', 'x', '--colour', 'red')).code).toBe(2);
    expect((await cli('tenants', 'list', '--local', '--aws')).code).toBe(2);
  });

  it('rotate-secret: callbacks then carry both signatures, each verifiable with its secret', async () => {
    const tenant = JSON.parse((await cli('tenants', 'create', '--name', 'Rotating', '--format', 'json')).stdout);
    const rotated = await cli('tenants', 'rotate-secret', '--tenant', tenant.tenant_id, '--format', 'json');
    expect(rotated.code).toBe(0);
    const { signing_secret: newSecret, previous_secret_expires_at: expiresAt } = JSON.parse(rotated.stdout);
    expect(newSecret).toMatch(/^whsec_/);
    expect(newSecret).not.toBe(tenant.signing_secret);
    const overlapHours = (Date.parse(expiresAt) - Date.now()) / 3_600_000;
    expect(overlapHours).toBeGreaterThan(23.9);
    expect(overlapHours).toBeLessThanOrEqual(24);

    // The receiver still verifies with the OLD secret: an integrator who has not switched yet.
    const receiver = await startWebhookReceiver(tenant.signing_secret);
    try {
      const { jobId } = await submitAs(tenant.api_key, `${receiver.url}/rotated`, tenant.tenant_id);
      const [event] = jobEvents(await receiver.waitFor((all) => jobEvents(all, jobId).length > 0), jobId);
      expect(event!.signatureValid).toBe(true);
      expect(String(event!.headers['webhook-signature']).split(' ')).toHaveLength(2);
      const headers = {
        'webhook-id': String(event!.headers['webhook-id']),
        'webhook-timestamp': String(event!.headers['webhook-timestamp']),
        'webhook-signature': String(event!.headers['webhook-signature']),
      };
      expect(() => new Webhook(newSecret).verify(event!.body, headers)).not.toThrow();
    } finally {
      await receiver.stop();
    }
  });
});

describe('audit', () => {
  let jobId: string;
  let batchId: string;
  let since: string;

  beforeAll(async () => {
    since = new Date(Date.now() - 1000).toISOString();
    ({ jobId, batchId } = await submitAs(h.stack.apiKey, `${h.receiver.url}/once-then-ok?token=s3cret`));
    await h.receiver.waitFor((all) => jobEvents(all, jobId).length >= 2);
    for (let waited = 0; (await h.attempts(jobId)).length < 2; waited += 100) {
      if (waited > 5000) throw new Error('the two attempt records did not appear');
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  });

  const window = () => ['--tenant', h.stack.tenantId, '--since', since, '--until', new Date(Date.now() + 1000).toISOString()];

  it("lists a tenant's attempts in a window, filtered by outcome, in json, csv and table", async () => {
    const all = JSON.parse((await cli('audit', 'deliveries', ...window(), '--format', 'json')).stdout);
    const mine = all.filter((a: any) => a.job_id === jobId);
    expect(mine.map((a: any) => [a.attempt, a.outcome, a.http_status])).toEqual([
      [1, 'retrying', 500],
      [2, 'delivered', 200],
    ]);
    expect(mine[0].response_body).toBe('try later');
    expect(mine[0].url).not.toContain('s3cret');
    expect(all.every((a: any) => !('tenant_id' in a) || a.tenant_id === h.stack.tenantId)).toBe(true);

    const failed = JSON.parse((await cli('audit', 'deliveries', ...window(), '--outcome', 'failed', '--format', 'json')).stdout);
    expect(failed.filter((a: any) => a.job_id === jobId).map((a: any) => a.attempt)).toEqual([1]);
    expect(failed.every((a: any) => a.outcome !== 'delivered')).toBe(true);
    const delivered = JSON.parse((await cli('audit', 'deliveries', ...window(), '--outcome', 'delivered', '--format', 'json')).stdout);
    expect(delivered.filter((a: any) => a.job_id === jobId).map((a: any) => a.attempt)).toEqual([2]);

    const csv = (await cli('audit', 'deliveries', ...window(), '--format', 'csv')).stdout.trim().split('\r\n');
    expect(csv[0]).toBe(
      'started_at,outcome,event_type,job_id,batch_id,attempt,http_status,error_class,duration_ms,event_id,url,response_body',
    );
    expect(csv.filter((line) => line.includes(jobId))).toHaveLength(2);

    const table = await cli('audit', 'deliveries', ...window());
    expect(table.code).toBe(0);
    expect(table.stdout.split('\n')[0]).toMatch(/^started_at\s+outcome\s+event_type/);
    expect(table.stdout).toContain(jobId);
  });

  it('finds nothing outside the window and refuses an inverted one', async () => {
    const before = await cli(
      'audit', 'deliveries', '--tenant', h.stack.tenantId, '--since', '2020-01-01T00:00:00Z', '--until', since, '--format', 'json',
    );
    expect(JSON.parse(before.stdout)).toEqual([]);
    const otherTenant = await cli('audit', 'deliveries', ...window().slice(2), '--tenant', 'ten_OTHER', '--format', 'json');
    expect(JSON.parse(otherTenant.stdout)).toEqual([]);
    const inverted = await cli('audit', 'deliveries', '--tenant', 't', '--since', '2026-02-01', '--until', '2026-01-01');
    expect(inverted.code).toBe(2);
  });

  it('tells the whole story of one job: request, state, result, attempts and its batch', async () => {
    const story = JSON.parse((await cli('audit', 'job', jobId, '--tenant', h.stack.tenantId, '--format', 'json')).stdout);
    expect(story.job).toMatchObject({ job_id: jobId, batch_id: batchId, status: 'completed', processing_attempts: 1 });
    expect(story.job.callback_url).toBe(`${h.receiver.url}/once-then-ok?[redacted]`);
    expect(story.job.result.keywords.length).toBeGreaterThan(0);
    expect(story.attempts.map((a: any) => a.outcome)).toEqual(['retrying', 'delivered']);
    expect(story.batch).toMatchObject({ batch_id: batchId, total: 1, counts: { completed: 1 } });

    const text = await cli('audit', 'job', jobId, '--tenant', h.stack.tenantId);
    expect(text.stdout).toContain(`Job ${jobId}`);
    expect(text.stdout).toContain(`Batch ${batchId}`);
    expect(text.stdout).not.toContain('s3cret');
    expect(text.stdout).toMatch(/Delivery attempts \(2\)/);

    const elsewhere = await cli('audit', 'job', jobId, '--tenant', 'ten_OTHER');
    expect(elsewhere.code).toBe(1);
  });
});

describe('redrive', () => {
  it('moves a dead-lettered delivery back after the receiver is fixed, and it is delivered', async () => {
    let gone = true;
    const previousReply = h.receiver.reply;
    h.receiver.reply = (request, index) =>
      request.path.startsWith('/recovering') ? (gone ? { status: 410 } : { status: 200 }) : previousReply(request, index);
    const { jobId } = await submitAs(h.stack.apiKey, `${h.receiver.url}/recovering`);
    await expect.poll(async () => (await h.job(jobId))?.delivery?.status, { timeout: 10_000 }).toBe('failed');

    // A message of another job sits in the same DLQ: the --job filter must leave it alone.
    const otherBody = JSON.stringify({ kind: 'job', tenant_id: h.stack.tenantId, job_id: 'job_OTHER', event_id: 'msg_OTHER_completed' });
    await h.stack.sqs.send(
      new SendMessageCommand({
        QueueUrl: h.stack.queueUrls.deliveriesDeadLetter,
        MessageBody: otherBody,
        MessageAttributes: { reason: { DataType: 'String', StringValue: 'attempts_exhausted' } },
      }),
    );

    await expect
      .poll(async () => (await cli('redrive', 'deliveries', '--dry-run', '--format', 'json')).stdout, { timeout: 5000 })
      .toContain(jobId);
    const dry = JSON.parse((await cli('redrive', 'deliveries', '--dry-run', '--job', jobId, '--format', 'json')).stdout);
    expect(dry).toEqual([
      expect.objectContaining({ jobId, tenantId: h.stack.tenantId, reason: 'endpoint_gone', eventId: expect.stringMatching(/_completed$/) }),
    ]);
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(jobEvents(h.receiver.received, jobId)).toHaveLength(1); // the dry run moved nothing

    gone = false;
    const moved = await cli('redrive', 'deliveries', '--job', jobId);
    expect(moved.code).toBe(0);
    expect(moved.stderr).toContain('moved 1 message(s)');
    await expect.poll(async () => (await h.job(jobId))?.delivery?.status, { timeout: 10_000 }).toBe('delivered');
    const events = jobEvents(h.receiver.received, jobId);
    expect(events.length).toBe(2);
    expect(new Set(events.map((e) => e.headers['webhook-id'])).size).toBe(1);

    // The other job's message is still there, visible at once.
    const left = JSON.parse((await cli('redrive', 'deliveries', '--dry-run', '--format', 'json')).stdout);
    expect(left.map((m: any) => m.jobId)).toContain('job_OTHER');
    expect(left.map((m: any) => m.jobId)).not.toContain(jobId);
    expect((await cli('redrive', 'deliveries', '--job', 'job_OTHER', '--dry-run', '--format', 'json')).code).toBe(0);
  });

  it('lists dead-lettered extraction jobs with their reason, filtered by tenant', async () => {
    for (const tenant of ['ten_A', 'ten_B']) {
      await h.stack.sqs.send(
        new SendMessageCommand({
          QueueUrl: h.stack.queueUrls.jobsDeadLetter,
          MessageBody: JSON.stringify({ tenant_id: tenant, job_id: `job_${tenant}` }),
          MessageAttributes: { reason: { DataType: 'String', StringValue: 'tenant_disabled' } },
        }),
      );
    }
    const listed = JSON.parse((await cli('redrive', 'jobs', '--dry-run', '--tenant', 'ten_B', '--format', 'json')).stdout);
    expect(listed).toEqual([expect.objectContaining({ jobId: 'job_ten_B', tenantId: 'ten_B', reason: 'tenant_disabled' })]);
    const both = JSON.parse((await cli('redrive', 'jobs', '--dry-run', '--format', 'json')).stdout);
    expect(both.map((m: any) => m.jobId).sort()).toEqual(['job_ten_A', 'job_ten_B']);
  });
});

describe('entry point', () => {
  it('runs as a process through tsx against the same local.json', async () => {
    const run = promisify(execFile);
    const { stdout } = await run(
      process.execPath,
      ['--import', 'tsx', join(import.meta.dirname, '..', '..', 'cli', 'metahook.ts'), 'tenants', 'list', '--format', 'csv'],
      { env: { ...process.env, METAHOOK_DATA_DIR: dataDir }, timeout: 20_000 },
    );
    expect(stdout.split('\r\n')[0]).toBe('tenant_id,name,status,api_key_id,created_at,media_sources,max_audio_seconds');
    expect(stdout).toContain(h.stack.tenantId);
  });
});
