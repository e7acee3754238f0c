// `npm run demo`: the README's "see it work" step. Uses the stack `npm start` is running
// (from .metahook/local.json) or starts one in memory, stages the bundled fixtures with
// POST /v1/uploads (presigned PUTs under the tenant's prefix), submits them with a callback to a receiver on 127.0.0.1 that verifies each
// signature with the official standardwebhooks package, and prints what arrived.
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { startLocalStack, type LocalCredentials } from './stack';
import { startWebhookReceiver } from './webhook-receiver';

const FIXTURES = join(import.meta.dirname, '..', 'test', 'fixtures');
const FILES = [
  { fixture: 'photo-iptc.jpg', external_id: 'photo-with-iptc', content_type: 'image/jpeg' },
  { fixture: 'graphic.png', external_id: 'png-graphic', content_type: 'image/png' },
  { fixture: 'tone.wav', external_id: 'wav-tone', content_type: 'audio/wav' },
  { fixture: 'tagged.mp3', external_id: 'mp3-with-tags', content_type: 'audio/mpeg' },
];

async function runningStack(): Promise<LocalCredentials | undefined> {
  const file = resolve(process.env.METAHOOK_DATA_DIR ?? '.metahook', 'local.json');
  try {
    const saved = JSON.parse(await readFile(file, 'utf8')) as LocalCredentials;
    const probe = await fetch(`${saved.endpoint}/v1/jobs`, { method: 'POST', signal: AbortSignal.timeout(1000) });
    return probe.status === 401 ? saved : undefined; // the gateway answers missing_api_key
  } catch {
    return undefined;
  }
}

const existing = await runningStack();
const ownStack = existing ? undefined : await startLocalStack({ pollWaitSeconds: 1 });
const stack: LocalCredentials = existing ?? ownStack!;
console.log(existing ? `Using the running stack at ${stack.endpoint}` : `Started an in-memory stack at ${stack.endpoint}`);

const receiver = await startWebhookReceiver(stack.signingSecret);
const runId = Date.now().toString(36);
const files = [];
// The integrator's flow: POST /v1/uploads for a presigned PUT under the tenant's own prefix.
for (const { fixture, external_id, content_type } of FILES) {
  const bytes = await readFile(join(FIXTURES, fixture));
  const signed = await fetch(`${stack.endpoint}/v1/uploads`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-api-key': stack.apiKey },
    body: JSON.stringify({ filename: `${runId}-${fixture}`, content_type, size_bytes: bytes.byteLength }),
  });
  const staged = (await signed.json()) as { file_url: string; upload: { method: string; url: string; headers: Record<string, string> } };
  if (signed.status !== 201) throw new Error(`POST /v1/uploads -> ${signed.status}: ${JSON.stringify(staged)}`);
  const put = await fetch(staged.upload.url, { method: staged.upload.method, headers: staged.upload.headers, body: bytes });
  if (!put.ok) throw new Error(`PUT ${fixture} -> ${put.status}`);
  files.push({ url: staged.file_url, external_id });
}
console.log(`Staged ${files.length} fixtures with POST /v1/uploads under s3://${stack.mediaBucket}/tenants/${stack.tenantId}/uploads/`);

const response = await fetch(`${stack.endpoint}/v1/jobs`, {
  method: 'POST',
  headers: { 'content-type': 'application/json', 'x-api-key': stack.apiKey },
  body: JSON.stringify({ callback_url: `${receiver.url}/webhooks`, files, metadata: { demo_run: runId } }),
});
const submitted = (await response.json()) as { batch_id: string; jobs: { job_id: string }[] };
console.log(`POST /v1/jobs -> ${response.status}, batch ${submitted.batch_id}\n`);
if (response.status !== 202) {
  console.error(JSON.stringify(submitted, null, 2));
  process.exitCode = 1;
} else {
  try {
    await receiver.waitFor(
      (all) => all.some((r) => r.payload?.type === 'batch.completed' && r.payload.data.batch_id === submitted.batch_id),
      60_000,
    );
    for (const hook of receiver.received) {
      const event = hook.payload!;
      const mark = hook.signatureValid ? 'signature verified (standardwebhooks)' : 'SIGNATURE INVALID';
      console.log(`${event.type}  webhook-id ${hook.headers['webhook-id']}  ${mark}`);
      if (event.type === 'batch.completed') {
        console.log(`  ${JSON.stringify(event.data)}\n`);
        continue;
      }
      const { external_id, media_type, result, error } = event.data;
      console.log(`  ${external_id} (${media_type})`);
      if (error) console.log(`  error: ${error.code}: ${error.message}`);
      else console.log(`  ${JSON.stringify(result, null, 2).replace(/\n/g, '\n  ')}`);
      console.log('');
    }
    if (receiver.received.some((r) => !r.signatureValid)) process.exitCode = 1;
  } catch (error) {
    console.error(String(error));
    process.exitCode = 1;
  }
}
await receiver.stop();
await ownStack?.stop();
