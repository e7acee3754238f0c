// Every AWS client the functions build gives up on a connection that accepts and then never
// answers, and retries it, instead of holding the call until the function times out. The server is
// a real TCP listener on 127.0.0.1 that reads the request and stays silent. The timeouts are
// shortened here; AWS_CALL_TIMEOUTS and the Bedrock tuning hold the deployed values. Without
// throwOnRequestTimeout the Bedrock client's requestTimeout only logged a warning and the Converse
// call hung (the regression this file was written for).
import { createServer, type Server, type Socket } from 'node:net';
import { ConverseCommand } from '@aws-sdk/client-bedrock-runtime';
import { EncryptCommand } from '@aws-sdk/client-kms';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { SendMessageCommand } from '@aws-sdk/client-sqs';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AWS_CALL_TIMEOUTS, createDocumentClient, createKmsClient, createS3Client, createSqsClient } from '../../lambdas/adapters/aws-clients';
import { createBedrockRuntimeClient } from '../../lambdas/adapters/model-provider';

const SHORT = { connectionTimeoutMs: 1_000, socketTimeoutMs: 200 };
const CREDENTIALS = { AWS_ACCESS_KEY_ID: 'AKIDSILENT', AWS_SECRET_ACCESS_KEY: 'secret', AWS_REGION: 'us-east-1' };

let server: Server;
let endpoint: string;
const sockets = new Set<Socket>();
let connections = 0;
const saved = Object.fromEntries(Object.keys(CREDENTIALS).map((name) => [name, process.env[name]]));

beforeAll(async () => {
  Object.assign(process.env, CREDENTIALS);
  server = createServer((socket) => {
    connections++;
    sockets.add(socket);
    socket.on('data', () => undefined); // read the request, never answer
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address() as { port: number };
  endpoint = `http://127.0.0.1:${address.port}`;
});

afterAll(async () => {
  for (const socket of sockets) socket.destroy();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  for (const [name, value] of Object.entries(saved)) {
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  }
});

/** The call's rejection, how many connections its attempts opened, and how long it took. */
async function silentCall(call: () => Promise<unknown>) {
  const before = connections;
  const started = Date.now();
  const error = (await call().then(
    () => undefined,
    (failure: unknown) => failure,
  )) as Error | undefined;
  return { error, attempts: connections - before, elapsedMs: Date.now() - started };
}

describe('a call to a server that never answers', () => {
  it('keeps the deployed limits short against the function timeouts', () => {
    expect(AWS_CALL_TIMEOUTS.connectionTimeoutMs).toBeLessThanOrEqual(5_000);
    expect(AWS_CALL_TIMEOUTS.socketTimeoutMs).toBeLessThanOrEqual(15_000);
  });

  it.each([
    ['DynamoDB', () => ({ client: createDocumentClient({ AWS_ENDPOINT_URL_DYNAMODB: endpoint }, SHORT), command: new GetCommand({ TableName: 'jobs', Key: { pk: 'a', sk: 'b' } }) })],
    ['SQS', () => ({ client: createSqsClient({ AWS_ENDPOINT_URL_SQS: endpoint }, SHORT), command: new SendMessageCommand({ QueueUrl: `${endpoint}/123456789012/jobs`, MessageBody: '{}' }) })],
    ['S3', () => ({ client: createS3Client({ AWS_ENDPOINT_URL_S3: endpoint, METAHOOK_S3_FORCE_PATH_STYLE: 'true' }, SHORT), command: new GetObjectCommand({ Bucket: 'media', Key: 'a.png' }) })],
    ['KMS', () => ({ client: createKmsClient({ AWS_ENDPOINT_URL_KMS: endpoint }, SHORT), command: new EncryptCommand({ KeyId: 'alias/metahook', Plaintext: new Uint8Array([1]) }) })],
  ] as const)('%s fails with TimeoutError after the SDK retried it, not at the function timeout', async (_service, build) => {
    const { client, command } = build();
    const { error, attempts, elapsedMs } = await silentCall(() => (client.send as (command: unknown) => Promise<unknown>)(command));
    expect(error?.name).toBe('TimeoutError');
    // Every attempt the client's retry strategy allows, each on a fresh connection.
    expect(attempts).toBe(await client.config.maxAttempts());
    expect(attempts).toBeGreaterThan(1);
    expect(elapsedMs).toBeLessThan(8_000);
  }, 15_000);

  it('Bedrock Converse fails with TimeoutError at its request timeout, once per attempt', async () => {
    const bedrock = createBedrockRuntimeClient({ AWS_ENDPOINT_URL_BEDROCK_RUNTIME: endpoint, AWS_REGION: 'us-east-1' }, { requestTimeoutMs: 300, maxAttempts: 2 });
    const { error, attempts, elapsedMs } = await silentCall(() =>
      bedrock.send(new ConverseCommand({ modelId: 'us.amazon.nova-lite-v1:0', messages: [{ role: 'user', content: [{ text: 'hello' }] }] })),
    );
    expect(error?.name).toBe('TimeoutError');
    expect(attempts).toBe(2);
    expect(elapsedMs).toBeLessThan(5_000);
  }, 15_000);
});
