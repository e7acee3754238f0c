// `npm start` killed with SIGKILL mid-batch, then started again on the same data directory
// (no --fresh): every file the first run acknowledged with 202 is still delivered, signed, to
// a receiver on 127.0.0.1. The stack runs as a child process exactly as `npm start` runs it
// (local/main.ts under the pinned Node with tsx), so nothing gets a chance to save on exit.
// METAHOOK_CRASH_FILES sets the batch size: 20 in `npm test`, 40 with `npm run test:crash`
// (METAHOOK_CRASH_FILES=200 npm run test:crash for a bigger run).
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { startWebhookReceiver, type ReceivedWebhook, type WebhookReceiver } from '../../local/webhook-receiver';
import { tenantMediaPrefix } from '../../lambdas/core/media-scope';
import { FIXTURES } from '../support/local-harness';

const REPO = join(import.meta.dirname, '..', '..');
const FILES = Number(process.env.METAHOOK_CRASH_FILES ?? 20);
const FILES_PER_REQUEST = 5;
const FIXTURE_NAMES = ['graphic.png', 'photo-iptc.jpg', 'image.webp', 'animation.gif'];

const dataDir = await mkdtemp(join(tmpdir(), 'metahook-crash-'));
const children = new Set<ChildProcess>();
let receiver: WebhookReceiver | undefined;

afterAll(async () => {
  for (const child of children) child.kill('SIGKILL');
  await receiver?.stop();
  await rm(dataDir, { recursive: true, force: true });
});

interface RunningStack {
  readonly child: ChildProcess;
  readonly endpoint: string;
  readonly exited: Promise<void>;
}

/** Starts `npm start`'s program on the shared data directory; resolves once it prints its endpoint. */
async function startStack(): Promise<RunningStack> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'local/main.ts'], {
    cwd: REPO,
    env: {
      ...process.env,
      PORT: '0',
      METAHOOK_DATA_DIR: dataDir,
      POWERTOOLS_LOG_LEVEL: 'SILENT',
      // Time compression: the lease a killed extractor leaves behind ends after 10 s, not 120 s.
      METAHOOK_EXTRACTOR_TIMEOUT_SECONDS: '10',
      METAHOOK_RETRY_SCHEDULE: '1,1,1,1,1,1,1,1,1,1',
      METAHOOK_EXTRACTION_RETRY_SCHEDULE: '1,1,1,1,1,1',
      METAHOOK_SWEEP_INTERVAL_SECONDS: '2',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.add(child);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  void exited.then(() => children.delete(child));
  let output = '';
  const endpoint = await new Promise<string>((resolve, reject) => {
    // Generous: on a loaded 2-core machine a cold start has taken 30 s.
    const timer = setTimeout(() => reject(new Error(`local stack did not start within 120 s:\n${output}`)), 120_000);
    const read = (chunk: Buffer) => {
      output += chunk.toString('utf8');
      const match = /endpoint\s+(http:\/\/127\.0\.0\.1:\d+)\/v1\/jobs/.exec(output);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]!);
      }
    };
    child.stdout!.on('data', read);
    child.stderr!.on('data', read);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`local stack exited (${code ?? signal}) before it started:\n${output}`));
    });
  });
  return { child, endpoint, exited };
}

const jobIdsIn = (all: ReceivedWebhook[], type: string) =>
  new Set(all.filter((r) => r.signatureValid && r.payload?.type === type).map((r) => r.payload!.data.job_id as string));

// It once lost up to half the acknowledged files: the extractor's webhook buffer was shared by the
// overlapping invocations of one process, so a record could be deleted before its webhook was
// queued, and a kill in that window left a completed job with no message and no webhook. Fixed by
// a buffer per invocation (lambdas/adapters/sqs-batching-delivery-queue.ts).
describe('local stack durability', () => {
  it(`kill -9 while ${FILES} files are being submitted, restart without --fresh: every acknowledged file is delivered`, async () => {
    const t0 = Date.now();
    const first = await startStack();
    console.log(`first start: ${Date.now() - t0} ms`);
    const saved = JSON.parse(await readFile(join(dataDir, 'local.json'), 'utf8')) as {
      apiKey: string;
      signingSecret: string;
      tenantId: string;
      s3Endpoint: string;
      mediaBucket: string;
    };
    const s3 = new S3Client({
      endpoint: saved.s3Endpoint,
      region: 'us-east-1',
      forcePathStyle: true,
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    });
    const urls: string[] = [];
    for (let i = 0; i < FILES; i++) {
      const fixture = FIXTURE_NAMES[i % FIXTURE_NAMES.length]!;
      // Media is tenant-scoped: a tenant may only submit keys under its own prefix.
      const key = `${tenantMediaPrefix(saved.tenantId)}crash/${i}-${fixture}`;
      await s3.send(new PutObjectCommand({ Bucket: saved.mediaBucket, Key: key, Body: await readFile(join(FIXTURES, fixture)) }));
      urls.push(`s3://${saved.mediaBucket}/${key}`);
    }
    s3.destroy();

    // A slow receiver keeps deliveries in flight, so the kill lands with work at every stage.
    receiver = await startWebhookReceiver(saved.signingSecret);
    receiver.reply = () => ({ status: 200, delayMs: 150 });

    const acknowledged = new Set<string>();
    const submitAll = async (): Promise<void> => {
      for (let i = 0; i < urls.length; i += FILES_PER_REQUEST) {
        const files = urls.slice(i, i + FILES_PER_REQUEST).map((url) => ({ url }));
        let response: Response;
        try {
          response = await fetch(`${first.endpoint}/v1/jobs`, {
            method: 'POST',
            headers: { 'content-type': 'application/json', 'x-api-key': saved.apiKey },
            body: JSON.stringify({ callback_url: `${receiver!.url}/crash`, files }),
          });
        } catch {
          return; // the stack is gone: this request was never acknowledged
        }
        if (response.status !== 202) throw new Error(`submit answered ${response.status}: ${await response.text()}`);
        const body = (await response.json()) as { jobs: { job_id: string }[] };
        for (const job of body.jobs) acknowledged.add(job.job_id);
        // Pace the client a little so the kill falls while batches are still arriving.
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    };
    const submitting = submitAll();

    // Kill while batches are still arriving: once half the files are acknowledged.
    // A refused submission ends the test with its own error, not a wait for a kill point.
    let submitError: unknown;
    void submitting.catch((error: unknown) => {
      submitError = error;
    });
    // Generous: on a loaded machine one submission has taken over 10 s.
    for (const deadline = Date.now() + 120_000; acknowledged.size < FILES / 2; ) {
      if (submitError) throw submitError;
      if (Date.now() > deadline) throw new Error(`no kill point: only ${acknowledged.size} files acknowledged in 120 s`);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    first.child.kill('SIGKILL');
    await first.exited;
    await submitting;
    const deliveredBeforeKill = jobIdsIn(receiver.received, 'job.completed');
    const outstanding = [...acknowledged].filter((id) => !deliveredBeforeKill.has(id));
    console.log(`killed: ${acknowledged.size} acknowledged, ${deliveredBeforeKill.size} delivered, ${outstanding.length} outstanding`);
    expect(first.child.signalCode).toBe('SIGKILL');
    expect(outstanding.length, 'the kill must leave acknowledged work undelivered').toBeGreaterThan(0);
    expect(acknowledged.size, 'and come before the last batch').toBeLessThan(FILES);

    const restartedAt = Date.now();
    const second = await startStack();
    try {
      const started = Date.now();
      console.log(`restart: ${started - restartedAt} ms`);
      await receiver.waitFor((all) => {
        const completed = jobIdsIn(all, 'job.completed');
        return [...acknowledged].every((id) => completed.has(id));
      }, 90_000 + FILES * 500).catch(() => undefined);
      const completed = jobIdsIn(receiver.received, 'job.completed');
      const failed = jobIdsIn(receiver.received, 'job.failed');
      const lost = [...acknowledged].filter((id) => !completed.has(id));
      console.log(`after restart: ${completed.size} delivered in ${Date.now() - started} ms, lost ${lost.length}, failed ${failed.size}`);
      expect(lost).toEqual([]);
      expect([...failed].filter((id) => acknowledged.has(id))).toEqual([]);
    } finally {
      second.child.kill('SIGTERM');
      await second.exited;
    }
  }, 240_000 + FILES * 1000);
});
