// `npm start`: runs the whole pipeline locally on 127.0.0.1 with embedded defaults.
// State lives under .metahook/ between runs; `npm start -- --fresh` starts clean.
import { resolve } from 'node:path';
import { startLocalStack } from './stack';

const args = new Set(process.argv.slice(2));
if (args.has('--help') || args.has('-h')) {
  console.log('Usage: npm start [-- --fresh]\n  PORT=3000            API port\n  METAHOOK_DATA_DIR    state directory (default .metahook)');
  process.exit(0);
}

const dataDir = resolve(process.env.METAHOOK_DATA_DIR ?? '.metahook');
const port = Number(process.env.PORT ?? 3000);
if (!Number.isInteger(port) || port < 0 || port > 65_535) {
  console.error(`PORT must be a port number, got "${process.env.PORT}"`);
  process.exit(1);
}

const stack = await startLocalStack({ port, dataDir, fresh: args.has('--fresh') });
const example = JSON.stringify({
  callback_url: 'http://127.0.0.1:4000/webhooks',
  files: [{ url: `s3://${stack.names.mediaBucket}/tenants/${stack.tenantId}/uploads/<id>/photo.jpg`, external_id: 'photo-1' }],
});
console.log(`
Metahook local stack is running (model provider: ${process.env.METAHOOK_MODEL_PROVIDER}, Node ${process.version}).

  endpoint        ${stack.endpoint}/v1/jobs
  API key         ${stack.apiKey}
  signing secret  ${stack.signingSecret}
  media bucket    s3://${stack.names.mediaBucket}  (S3 API at ${stack.env.AWS_ENDPOINT_URL_S3})
  saved to        ${resolve(dataDir, 'local.json')}

Try it: stage a file (the answer has a presigned PUT URL and the file_url to submit) ...
  curl -sS -X POST ${stack.endpoint}/v1/uploads \\
    -H 'content-type: application/json' -H 'x-api-key: ${stack.apiKey}' \\
    -d '{"filename": "photo.jpg", "content_type": "image/jpeg", "size_bytes": <bytes>}'
... PUT it (curl -X PUT "<upload.url>" -H 'content-type: image/jpeg' --data-binary @photo.jpg), then submit:
  curl -sS -X POST ${stack.endpoint}/v1/jobs \\
    -H 'content-type: application/json' -H 'x-api-key: ${stack.apiKey}' \\
    -d '${example}'

Or run the demo in another terminal:  npm run demo
Stop with Ctrl+C (state is kept under ${dataDir}, written as it changes, so even a killed run keeps\nwhat it acknowledged; npm start -- --fresh wipes it).
`);

let stopping = false;
async function shutdown(signal: string): Promise<void> {
  if (stopping) return;
  stopping = true;
  console.log(`\n${signal}: stopping...`);
  await stack.stop();
  process.exit(0);
}
process.on('SIGINT', () => void shutdown('SIGINT'));
process.on('SIGTERM', () => void shutdown('SIGTERM'));
