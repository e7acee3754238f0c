// A disabled tenant does not page on-call: its jobs wait in the held-jobs queue (no alarm), never
// in the jobs dead-letter queue (alarmed), and `metahook tenants enable` releases them, after which
// they complete and are delivered. Real local stack, CLI run in-process against its state file.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../cli/run';
import { createDynamoTenantDirectory } from '../../lambdas/adapters/dynamo/tenant-directory';
import { disableTenant } from '../../lambdas/core/manage-tenants';
import { startHarness, type Harness } from '../support/local-harness';

let h: Harness;
let dataDir: string;
// Holds the extractor's invocations until the test has disabled the tenant (no race with the poller).
let openGate: () => void = () => undefined;
const gate = new Promise<void>((resolve) => {
  openGate = resolve;
});

beforeAll(async () => {
  h = await startHarness({
    wrapHandler: (name, handler) =>
      (name === 'extractor' ? (async (...args: unknown[]) => {
        await gate;
        return handler(...args);
      }) : handler) as typeof handler,
  });
  dataDir = await mkdtemp(join(tmpdir(), 'metahook-held-'));
  const { endpoint, apiKey, signingSecret, tenantId, s3Endpoint, mediaBucket, dynamoEndpoint, sqsEndpoint, handlerEnv } = h.stack;
  await writeFile(join(dataDir, 'local.json'), JSON.stringify({ endpoint, apiKey, signingSecret, tenantId, s3Endpoint, mediaBucket, dynamoEndpoint, sqsEndpoint, handlerEnv }));
});

afterAll(async () => {
  openGate();
  await h?.stop();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

const peek = async (queueUrl: string) => {
  const { Messages = [] } = await h.stack.sqs.send(
    new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, VisibilityTimeout: 0, WaitTimeSeconds: 1, MessageAttributeNames: ['All'] }),
  );
  return Messages;
};

describe('a disabled tenant', () => {
  it('has its jobs held outside the dead-letter queue, and enabling it releases them to completion', async () => {
    const tenant = await h.stack.createTenant('Held tenant');
    const url = await h.upload('graphic.png', 'held/graphic.png', tenant.tenant.tenant_id);
    const submitted = await fetch(`${h.stack.endpoint}/v1/jobs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': tenant.apiKey },
      body: JSON.stringify({ callback_url: `${h.receiver.url}/held`, files: [{ url }] }),
    });
    expect(submitted.status).toBe(202);
    const jobId: string = ((await submitted.json()) as any).jobs[0].job_id;

    // Disabled while its job is queued; then the extractor runs.
    const tenants = createDynamoTenantDirectory(h.stack.db, { tableName: h.stack.names.table });
    await disableTenant({ apiKeys: h.stack.apiKeys, tenants, now: () => new Date() }, tenant.tenant.tenant_id);
    openGate();

    let held: Awaited<ReturnType<typeof peek>> = [];
    for (const until = Date.now() + 20_000; held.length === 0 && Date.now() < until;) held = await peek(h.stack.queueUrls.jobsHeld);
    expect(held.map((m) => JSON.parse(m.Body!).job_id)).toEqual([jobId]);
    expect(held[0]!.MessageAttributes?.reason?.StringValue).toBe('tenant_disabled');
    expect(await peek(h.stack.queueUrls.jobsDeadLetter), 'nothing in the alarmed dead-letter queue').toEqual([]);
    expect((await h.job(jobId, tenant.tenant.tenant_id))?.status).toBe('queued');

    const out: string[] = [];
    const code = await runCli(['tenants', 'enable', '--tenant', tenant.tenant.tenant_id], {
      stdout: (t) => out.push(t), stderr: (t) => out.push(t), env: { METAHOOK_DATA_DIR: dataDir }, cwd: process.cwd(),
    });
    expect(code, out.join('\n')).toBe(0);
    expect(out.join('\n')).toContain('1 held job(s) released');

    await expect.poll(async () => (await h.job(jobId, tenant.tenant.tenant_id))?.status, { timeout: 20_000 }).toBe('completed');
    await h.receiver.waitFor((all) => all.some((r) => r.payload?.data?.job_id === jobId));
    expect(await peek(h.stack.queueUrls.jobsHeld)).toEqual([]);
    expect(await peek(h.stack.queueUrls.jobsDeadLetter)).toEqual([]);
  });
});
