// `metahook doctor` against the embedded local stack through the same local.json `npm start`
// writes: every check runs for real (the local extractor's provider answers the bundled image
// and audio files); only the alarm topic is skipped, the local stack has no SNS.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
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

async function doctor(state: unknown) {
  await writeFile(join(dataDir, 'local.json'), JSON.stringify(state));
  let stdout = '';
  const code = await runCli(['doctor', '--local', '--format', 'json'], {
    stdout: (t) => (stdout += t), stderr: () => {}, env: { METAHOOK_DATA_DIR: dataDir }, cwd: process.cwd(),
  });
  return { code, checks: JSON.parse(stdout) as { name: string; status: string; fix?: string }[] };
}

describe('metahook doctor --local', () => {
  it('passes outputs and both models, and skips the alarm topic', async () => {
    const { endpoint, apiKey, signingSecret, tenantId, s3Endpoint, mediaBucket, dynamoEndpoint, sqsEndpoint, handlerEnv } = h.stack;
    const { code, checks } = await doctor({ endpoint, apiKey, signingSecret, tenantId, s3Endpoint, mediaBucket, dynamoEndpoint, sqsEndpoint, handlerEnv });
    expect(checks.map((c) => c.status)).toEqual(['pass', 'pass', 'pass', 'skip']);
    expect(code).toBe(0);
  });

  it('fails with a fix when the state lacks the names the CLI needs', async () => {
    const { code, checks } = await doctor({ endpoint: h.stack.endpoint, handlerEnv: {} });
    expect(code).toBe(1);
    expect(checks[0]).toMatchObject({ name: 'stack outputs', status: 'fail' });
    expect(checks[0]!.fix).toBeTruthy();
  });
});
