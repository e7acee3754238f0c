// Issue 12, "configurable maximum duration per tenant", on the embedded stack through the real
// gateway, emulators, extractor and ffmpeg normaliser, with the Bedrock provider pointed at the
// local Bedrock Runtime stub: an operator gives tenant B a 5 s limit with the tenants CLI, and
// the same 10 s recording is described for tenant A (the deployment's 2 h limit) and fails
// job.failed/file_too_long for B, naming B's limit, without a model call. The CLI refuses a
// limit above the deployment's with a code.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { runCliCapturing } from '../support/cli-capture';
import { tenantMediaPrefix } from '../../lambdas/core/media-scope';
import type { CreatedTenant } from '../../lambdas/core/manage-tenants';
import { makeMp3 } from '../support/audio-files';
import { mediaKindOf, startConverseStub, type RunningConverseStub } from '../support/converse-stub';
import { startHarness, type Harness } from '../support/local-harness';

const DEPLOYMENT_MAX_SECONDS = 3600;
let h: Harness;
let stub: RunningConverseStub;
let b: CreatedTenant;
let dataDir: string;
let recording: Uint8Array;

const cli = (...argv: string[]) => runCliCapturing(dataDir, argv);

/** Stages the recording under the tenant's own prefix and submits it with the tenant's key. */
async function submitRecording(tenantId: string, apiKey: string, callbackPath: string): Promise<string> {
  const key = `${tenantMediaPrefix(tenantId)}talk-${callbackPath.slice(1)}.mp3`;
  await h.stack.s3.send(new PutObjectCommand({ Bucket: h.stack.names.mediaBucket, Key: key, Body: recording }));
  const response = await fetch(`${h.stack.endpoint}/v1/jobs`, {
    method: 'POST',
    headers: { 'x-api-key': apiKey, 'content-type': 'application/json' },
    body: JSON.stringify({ callback_url: `${h.receiver.url}${callbackPath}`, files: [{ url: `s3://${h.stack.names.mediaBucket}/${key}` }] }),
  });
  const json = (await response.json()) as { jobs: { job_id: string }[] };
  expect(response.status).toBe(202);
  return json.jobs[0]!.job_id;
}

async function finished(jobId: string, tenantId: string): Promise<Record<string, any>> {
  for (const deadline = Date.now() + 30_000; ; ) {
    const job = await h.job(jobId, tenantId);
    if (job && ['completed', 'failed'].includes(job.status)) return job;
    if (Date.now() > deadline) throw new Error(`job ${jobId} stayed ${job?.status}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

beforeAll(async () => {
  stub = await startConverseStub();
  h = await startHarness({
    env: {
      METAHOOK_MODEL_PROVIDER: 'bedrock',
      AWS_ENDPOINT_URL_BEDROCK_RUNTIME: stub.endpoint,
      METAHOOK_MAX_AUDIO_SECONDS: String(DEPLOYMENT_MAX_SECONDS),
    },
  });
  b = await h.stack.createTenant('Tenant B');
  recording = await makeMp3({ seconds: 10 });
  dataDir = await mkdtemp(join(tmpdir(), 'metahook-audio-limit-'));
  const { endpoint, apiKey, signingSecret, tenantId, s3Endpoint, mediaBucket, dynamoEndpoint, sqsEndpoint, handlerEnv } = h.stack;
  await writeFile(join(dataDir, 'local.json'), JSON.stringify({ endpoint, apiKey, signingSecret, tenantId, s3Endpoint, mediaBucket, dynamoEndpoint, sqsEndpoint, handlerEnv }));
}, 60_000);

afterAll(async () => {
  await h?.stop();
  await stub?.stop();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

describe('tenants set-audio-limit', () => {
  it("refuses a limit above the deployment's, or not a whole number, with a code, and stores nothing", async () => {
    const above = await cli('tenants', 'set-audio-limit', '--tenant', b.tenant.tenant_id, '--max-seconds', String(DEPLOYMENT_MAX_SECONDS + 1));
    expect(above.code).toBe(1);
    expect(above.stderr).toContain('audio_limit_above_deployment');
    expect(above.stderr).toContain(`${DEPLOYMENT_MAX_SECONDS} s`);
    const fraction = await cli('tenants', 'set-audio-limit', '--tenant', b.tenant.tenant_id, '--max-seconds', '2.5');
    expect(fraction.code).toBe(1);
    expect(fraction.stderr).toContain('audio_limit_invalid');
    const both = await cli('tenants', 'set-audio-limit', '--tenant', b.tenant.tenant_id, '--max-seconds', '5', '--clear');
    expect(both.code).toBe(2);

    const listed = await cli('tenants', 'list', '--format', 'json');
    const stored = (JSON.parse(listed.stdout) as { tenant_id: string; max_audio_seconds: number | null }[]).find((t) => t.tenant_id === b.tenant.tenant_id);
    expect(stored?.max_audio_seconds).toBeNull();
  });

  it('a tenant with a 5 s limit gets file_too_long, naming its limit, for a 10 s recording another tenant gets described', async () => {
    const set = await cli('tenants', 'set-audio-limit', '--tenant', b.tenant.tenant_id, '--max-seconds', '5', '--format', 'json');
    expect(set.code).toBe(0);
    expect(JSON.parse(set.stdout)).toEqual({ tenant_id: b.tenant.tenant_id, max_audio_seconds: 5, deployment_max_audio_seconds: DEPLOYMENT_MAX_SECONDS });

    const jobOfA = await submitRecording(h.stack.tenantId, h.stack.apiKey, '/tenant-a');
    const jobOfB = await submitRecording(b.tenant.tenant_id, b.apiKey, '/tenant-b');

    const completed = await finished(jobOfA, h.stack.tenantId);
    expect(completed.status).toBe('completed');
    expect(completed.result.properties).toMatchObject({ format: 'mp3', segments: 1 });
    expect(completed.provenance.audio_seconds).toBeGreaterThan(9.5);

    const failed = await finished(jobOfB, b.tenant.tenant_id);
    expect(failed.status).toBe('failed');
    expect(failed.error.code).toBe('file_too_long');
    expect(failed.error.message).toContain("this tenant's limit is 5 s");
    expect(failed.error.message).toContain('10 s long');

    // job.failed reached B's callback with the same code and message.
    const webhooks = await h.receiver.waitFor((all) => all.some((w) => w.payload?.data.job_id === jobOfB));
    const event = webhooks.find((w) => w.payload?.data.job_id === jobOfB)!.payload!;
    expect(event.type).toBe('job.failed');
    expect(event.data.error).toMatchObject({ code: 'file_too_long', message: failed.error.message });
    // Only A's recording reached the model.
    expect(stub.requests.filter((r) => mediaKindOf(r) === 'audio')).toHaveLength(1);
  });

  it('--clear removes the tenant limit: the deployment limit applies again', async () => {
    const cleared = await cli('tenants', 'set-audio-limit', '--tenant', b.tenant.tenant_id, '--clear');
    expect(cleared.code).toBe(0);
    expect(cleared.stdout).toContain(`up to the deployment's ${DEPLOYMENT_MAX_SECONDS} s`);
    const listed = await cli('tenants', 'list', '--format', 'json');
    const stored = (JSON.parse(listed.stdout) as { tenant_id: string; max_audio_seconds: number | null }[]).find((t) => t.tenant_id === b.tenant.tenant_id);
    expect(stored?.max_audio_seconds).toBeNull();
  });
});
