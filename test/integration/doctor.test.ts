// `metahook doctor` against the embedded local stack through the same local.json `npm start`
// writes: every check runs for real (the local extractor's provider answers the bundled image
// and audio files); only the alarm topic is skipped, the local stack has no SNS. The end-to-end
// job goes through the local gateway to a real receiver on 127.0.0.1 (the local stack allows
// http on loopback, METAHOOK_ALLOW_LOOPBACK_HTTP), which verifies the signature with the
// official standardwebhooks package.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startHarness, type Harness } from '../support/local-harness';
import { runCli } from '../../cli/run';

let h: Harness;
let dataDir: string;

beforeAll(async () => {
  h = await startHarness();
  dataDir = await mkdtemp(join(tmpdir(), 'metahook-doctor-'));
});

afterAll(async () => {
  await h?.stop();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

const localState = () => {
  const { endpoint, apiKey, signingSecret, tenantId, s3Endpoint, mediaBucket, dynamoEndpoint, sqsEndpoint, handlerEnv } = h.stack;
  return { endpoint, apiKey, signingSecret, tenantId, s3Endpoint, mediaBucket, dynamoEndpoint, sqsEndpoint, handlerEnv };
};

/** A webhook receiver on 127.0.0.1 answering `status`; keeps what it received. */
async function startReceiver(status: number) {
  const received: { headers: IncomingHttpHeaders; body: string }[] = [];
  const server: Server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      received.push({ headers: request.headers, body: Buffer.concat(chunks).toString('utf8') });
      response.writeHead(status).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}/metahook`, received, stop: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

async function doctor(state: unknown, extra: string[] = []) {
  await writeFile(join(dataDir, 'local.json'), JSON.stringify(state));
  let stdout = '';
  const code = await runCli(['doctor', '--local', '--format', 'json', ...extra], {
    stdout: (t) => (stdout += t), stderr: () => {}, env: { METAHOOK_DATA_DIR: dataDir }, cwd: process.cwd(),
  });
  return { code, stdout, checks: JSON.parse(stdout) as { name: string; status: string; detail: string; fix?: string }[] };
}

describe('metahook doctor --local', () => {
  it('passes outputs and both models, and skips the alarm topic, the end-to-end job and the cold starts (no Lambda locally)', async () => {
    const { code, checks } = await doctor(localState());
    expect(checks.map((c) => c.status)).toEqual(['pass', 'pass', 'pass', 'skip', 'skip', 'skip']);
    expect(checks.at(-1)!.name).toBe('cold starts');
    expect(code).toBe(0);
  });

  it('sends one real job whose validly signed job.completed event reaches the receiver', async () => {
    const receiver = await startReceiver(204);
    try {
      const { code, checks, stdout } = await doctor(localState(), ['--e2e-callback', receiver.url, '--e2e-timeout', '60']);
      const e2e = checks.find((c) => c.name === 'end-to-end job')!;
      expect(e2e, JSON.stringify(checks)).toMatchObject({ status: 'pass' });
      expect(code).toBe(0);
      expect(receiver.received).toHaveLength(1);
      const { headers, body } = receiver.received[0]!;
      const event = new Webhook(h.stack.signingSecret).verify(body, headers as Record<string, string>) as { type: string; data: { job_id: string; status?: string } };
      expect(event.type).toBe('job.completed');
      expect(e2e.detail).toContain(event.data.job_id);
      // The job came in through the API as an integrator's does, and doctor printed no secret.
      expect((await h.job(event.data.job_id))?.status).toBe('completed');
      expect(stdout).not.toContain(h.stack.apiKey);
      expect(stdout).not.toContain(h.stack.signingSecret);
    } finally {
      await receiver.stop();
    }
  }, 90_000);

  it('fails with the receiver\'s status when the receiver refuses the delivery', async () => {
    const receiver = await startReceiver(503);
    try {
      const { code, checks } = await doctor(localState(), ['--e2e-callback', receiver.url, '--e2e-timeout', '60']);
      const e2e = checks.find((c) => c.name === 'end-to-end job')!;
      expect(e2e).toMatchObject({ status: 'fail' });
      expect(e2e.detail).toContain('HTTP 503');
      expect(e2e.fix).toContain('answered 503');
      expect(code).toBe(1);
      expect(receiver.received.length).toBeGreaterThanOrEqual(1);
    } finally {
      await receiver.stop();
    }
  }, 90_000);

  it('fails with the SSRF fix when the local stack refuses the callback URL', async () => {
    const { code, checks } = await doctor(localState(), ['--e2e-callback', 'http://10.0.0.7/metahook']);
    const e2e = checks.find((c) => c.name === 'end-to-end job')!;
    expect(e2e).toMatchObject({ status: 'fail' });
    expect(e2e.detail).toContain('callback_url_forbidden');
    expect(e2e.fix).toContain('SSRF policy');
    expect(code).toBe(1);
  });

  it('fails with a fix when the state lacks the names the CLI needs', async () => {
    const { code, checks } = await doctor({ endpoint: h.stack.endpoint, handlerEnv: {} });
    expect(code).toBe(1);
    expect(checks[0]).toMatchObject({ name: 'stack outputs', status: 'fail' });
    expect(checks[0]!.fix).toBeTruthy();
  });
});
