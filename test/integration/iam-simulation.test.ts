// IAM proven by simulation: a short pipeline session and a CLI session run against the local
// stack with every AWS SDK call recorded (who, operation, resource), then each call, and each
// call AWS itself makes on a role's behalf, is evaluated against the synthesized template's
// role policies and KMS key, queue, bucket and topic policies with @cloud-copilot/iam-simulate.
// A call that would be denied fails; so does a grant that no call needs (least privilege).
// Generic: nothing here lists the grants; new handlers' calls are checked as they appear.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CloudAssembly } from 'aws-cdk-lib/cx-api';
import { SendMessageBatchCommand, SendMessageCommand } from '@aws-sdk/client-sqs';
import { jobEventId } from '../../lambdas/core/ids';
import { GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { createDynamoEnqueueOutbox } from '../../lambdas/adapters/dynamo/enqueue-outbox';
import { createDynamoTenantDirectory } from '../../lambdas/adapters/dynamo/tenant-directory';
import { createDynamoJobStore } from '../../lambdas/adapters/dynamo/table-ports';
import type { BatchRecord, JobRecord } from '../../lambdas/core/records';
import { FIXTURES, startHarness, type Harness } from '../support/local-harness';
import { converseReplies, mediaKindOf, startConverseStub, type RunningConverseStub } from '../support/converse-stub';
import { startCallRecorder, type CallRecorder } from '../support/aws-call-recorder';
import {
  authorizationsFor,
  awsMadeRequests,
  deployedNames,
  evaluate,
  resolveStack,
  unusedGrants,
  type AuthorizationRequest,
  type ResolvedStack,
} from '../support/iam-simulation';
import { synthStack, TEST_ENV } from '../cdk/synth-stack';
import { OPERATOR_POLICY_END, OPERATOR_POLICY_START, operatorPolicy, renderForDocs } from '../support/operator-policy';
import { DEFAULT_AUDIO_MODEL_ID, DEFAULT_IMAGE_MODEL_ID } from '../../lib/deploy-config';
import { runCli } from '../../cli/run';
import { generateSigningSecret } from '../../lambdas/core/webhook-signature';
import { SEALING_PURPOSES, signingSecretContext } from '../../lambdas/core/secret-custody';
import { ENV } from '../../lambdas/runtime-config';
import { KMSClient } from '@aws-sdk/client-kms';
import { resolveAwsTarget, STACK_OUTPUTS } from '../../cli/target';
import { runTenantCommand, type TenantCommandInput } from '../../cli/commands/tenants';
import { startApiGatewayStandIn, type ApiGatewayStandIn } from '../support/api-gateway-stand-in';

/**
 * Grants a code path needs that this session does not reach, each with that path. The test fails
 * if one is no longer granted, or if the session starts to use it (then the entry goes).
 */
// Every grant is now reached by the session (the intake's DeleteItem closes its outbox entry).
const NOT_REACHED: readonly { handler: string; action: string; path: string }[] = [];

const HANDLER_NAME: Record<string, string> = {};
let recorder: CallRecorder;
let h: Harness;
let stub: RunningConverseStub;
let dataDir: string;
let stack: ResolvedStack;
let requests: AuthorizationRequest[];
let goneJob: string;
let heldTenant: string;
let templateJson: any;
let gateway: ApiGatewayStandIn;
/** The usage plan the stand-in knows; the operator policy names the stack's UsagePlanId instead. */
const LOCAL_USAGE_PLAN = 'local-usage-plan';

async function runPipelineSession(): Promise<void> {
  h.receiver.reply = (request, index) => {
    if (request.path.startsWith('/flaky')) return index === 0 ? { status: 500, body: 'later' } : { status: 200 };
    if (request.path.startsWith('/gone')) return { status: 410 };
    return { status: 200 };
  };
  // A tenant stages a file with POST /v1/uploads and PUTs it with the presigned URL: S3 authorises
  // that PUT as the uploads role that signed it, so it is recorded for that role.
  const bytes = await readFile(join(FIXTURES, 'photo-iptc.jpg'));
  const staged = await fetch(`${h.stack.endpoint}/v1/uploads`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-api-key': h.stack.apiKey },
    body: JSON.stringify({ filename: 'staged.jpg', content_type: 'image/jpeg', size_bytes: bytes.byteLength }),
  }).then(async (r) => ({ status: r.status, json: (await r.json()) as any }));
  expect(staged.status).toBe(201);
  expect((await fetch(staged.json.upload.url, { method: 'PUT', headers: staged.json.upload.headers, body: bytes })).status).toBe(200);
  const stagedKey = new URL(staged.json.file_url).pathname.slice(1);
  recorder.recordOnBehalfOf({ principal: 'uploads', service: 'S3', operation: 'PutObject', input: { Bucket: h.stack.names.mediaBucket, Key: stagedKey } });
  const photo = staged.json.file_url as string;
  const song = await h.upload('tagged.mp3', 'iam/song.mp3');
  const step = (what: string) => process.env.IAM_SIM_DEBUG && console.error(new Date().toISOString(), what);
  step('submit');
  const body = {
    callback_url: `${h.receiver.url}/flaky`,
    files: [{ url: photo, external_id: 'img' }, { url: song, external_id: 'aud' }, { url: photo, external_id: 'img2' }],
  };
  const submitted = await h.submit(body, { 'idempotency-key': 'iam-simulation-1' });
  expect(submitted.status).toBe(202);
  // The same key again: answered from the idempotency record.
  expect((await h.submit(body, { 'idempotency-key': 'iam-simulation-1' })).json.batch_id).toBe(submitted.json.batch_id);
  const batchId = submitted.json.batch_id as string;
  const jobId = submitted.json.jobs[0].job_id as string;
  await h.receiver.waitFor((r) => r.some((x) => x.payload?.type === 'batch.completed'), 30_000);

  step('completed');
  // The same files again without a key: duplicates, answered from their jobs (BatchGetItem).
  const again = await h.submit(body);
  expect(again.status).toBe(202);
  expect(again.json.jobs.every((job: { duplicate: boolean }) => job.duplicate)).toBe(true);
  // Two redeliveries sent together reach one callback invocation: its job reads go out as one
  // BatchGetItem (lambdas/adapters/dynamo/job-lifecycle.ts).
  const received = h.receiver.received.length;
  const redeliver = [jobId, submitted.json.jobs[1].job_id as string].map((id, i) => ({
    Id: String(i),
    MessageBody: JSON.stringify({ kind: 'job', tenant_id: h.stack.tenantId, job_id: id, event_id: jobEventId(id, 'completed'), redelivery: true }),
  }));
  await h.stack.sqs.send(new SendMessageBatchCommand({ QueueUrl: h.stack.queueUrls.deliveries, Entries: redeliver }));
  await h.receiver.waitFor((r) => r.length >= received + 2, 30_000);
  // Issue 14: callback_headers sealed by the intake and opened by the callback (KMS, purpose
  // callback-headers), and batch.completed alone, whose inline results the callback lists (Query).
  const inline = await h.submit({
    callback_url: `${h.receiver.url}/inline`,
    files: [{ url: photo, external_id: 'inline' }],
    events: ['batch.completed'],
    callback_headers: { authorization: 'Bearer iam' },
  });
  expect(inline.status).toBe(202);
  await h.receiver.waitFor((r) => r.some((x) => x.payload?.type === 'batch.completed' && x.payload.data.batch_id === inline.json.batch_id), 30_000);

  // A receiver that is gone: the delivery is dead-lettered by the callback.
  const gone = await h.submit({ callback_url: `${h.receiver.url}/gone`, files: [{ url: photo }] });
  goneJob = gone.json.jobs[0].job_id as string;
  await expect.poll(async () => (await h.job(goneJob))?.delivery?.status, { timeout: 20_000 }).toBe('failed');

  step('sweep');
  // An intake that died between its job writes and its messages: a job left `queued` with an
  // outbox entry older than the intake's lifetime. The sweeper queues it and closes the entry.
  const { Item: template } = await h.stack.db.send(
    new GetCommand({ TableName: h.stack.names.table, Key: { pk: `TENANT#${h.stack.tenantId}#JOB#${jobId}`, sk: 'JOB' } }),
  );
  const orphan = `${jobId}sw`;
  // A fresh job: none of the template's extraction bookkeeping (lease, attempt count) comes along.
  const { result: _result, lease_until: _lease, lease_owner: _owner, processing_attempts: _attempts, ...queuedCopy } = template!;
  await h.stack.db.send(
    new PutCommand({
      TableName: h.stack.names.table,
      Item: { ...queuedCopy, pk: `TENANT#${h.stack.tenantId}#JOB#${orphan}`, job_id: orphan, status: 'queued', gsi1sk: orphan },
    }),
  );
  const outbox = createDynamoEnqueueOutbox(h.stack.db, { tableName: h.stack.names.table, retentionDays: 1 });
  await outbox.openEnqueueOutbox({ tenantId: h.stack.tenantId, batchId, jobIds: [orphan], createdAt: new Date(Date.now() - 3_600_000).toISOString() });
  expect(await h.stack.sweep()).toMatchObject({ entries: 1, requeued: 1 });
  await expect.poll(async () => (await h.job(orphan))?.status, { timeout: 20_000 }).toBe('completed');

  step('stalled and half-written');
  // A job processing past its lease whose message was lost: the sweeper finds it in the lease index,
  // claims the requeue and queues it. And a batch whose second job was never written (its intake's
  // BatchWriteItem failed part-way) while the first has already finished: the sweeper drops the
  // missing job from the batch's total and announces batch.completed itself.
  const store = createDynamoJobStore(h.stack.db, { tableName: h.stack.names.table, retentionDays: 1 });
  const now = new Date();
  const stamp = now.getTime();
  const jobRecord = (id: string, batch: string, status: JobRecord['status']): JobRecord => ({
    job_id: id, tenant_id: h.stack.tenantId, batch_id: batch, url: photo, external_id: null, declared_media_type: null,
    callback_url: `${h.receiver.url}/recovered`, metadata: null, status, created_at: now.toISOString(), updated_at: now.toISOString(),
    delivery: { status: 'pending', attempts: 0, event_id: null, last_status_code: null, last_error: null, updated_at: null },
  });
  const batchRecord = (id: string, jobIds: string[]): BatchRecord => ({
    batch_id: id, tenant_id: h.stack.tenantId, callback_url: `${h.receiver.url}/recovered`, metadata: null, job_ids: jobIds,
    duplicate_job_ids: [], total: jobIds.length, counts: { completed: 0, failed: 0, cancelled: 0 }, created_at: now.toISOString(),
  });
  const stalled = `job_STALL${stamp}`;
  await store.jobs.createBatch(batchRecord(`bat_STALL${stamp}`, [stalled]), [jobRecord(stalled, `bat_STALL${stamp}`, 'queued')]);
  await store.jobs.startProcessing(h.stack.tenantId, stalled, now, { until: new Date(stamp - 3_600_000), owner: 'lost-message' });
  const half = `bat_HALF${stamp}`;
  const [written, missing] = [`job_HALFA${stamp}`, `job_HALFB${stamp}`];
  await store.jobs.createBatch(batchRecord(half, [written, missing]), [jobRecord(written, half, 'completed')]);
  await store.batches.recordBatchProgress(h.stack.tenantId, half, written, 'completed', 0);
  await outbox.openEnqueueOutbox({ tenantId: h.stack.tenantId, batchId: half, jobIds: [written, missing], createdAt: new Date(stamp - 3_600_000).toISOString() });
  expect(await h.stack.sweep()).toMatchObject({ batchesShrunk: 1, stalled: { requeued: 1 } });
  await expect.poll(async () => (await h.job(stalled))?.status, { timeout: 20_000 }).toBe('completed');
  await h.receiver.waitFor((r) => r.some((x) => x.payload?.type === 'batch.completed' && x.payload.data.batch_id === half), 20_000);
  step('held');
  // A disabled tenant's job: the extractor sends it to the held-jobs queue (the CLI session's
  // `tenants enable` releases it). Disabled outside the recording's roles: the operator's own
  // disable is not what this checks.
  const held = await h.stack.createTenant('IAM held tenant');
  heldTenant = held.tenant.tenant_id;
  await createDynamoTenantDirectory(h.stack.db, { tableName: h.stack.names.table }).setStatus(heldTenant, 'disabled');
  await h.stack.sqs.send(new SendMessageCommand({ QueueUrl: h.stack.queueUrls.jobs, MessageBody: JSON.stringify({ tenant_id: heldTenant, job_id: 'job_iamheld' }) }));
  for (let waited = 0; !recorder.calls.some((c) => c.operation.startsWith('SendMessage') && c.input.QueueUrl === h.stack.queueUrls.jobsHeld); waited += 100) {
    if (waited > 20_000) throw new Error('the disabled tenant\'s job was not held');
    await new Promise((resolve) => setTimeout(resolve, 100));
  }

  step('gone failed');
  // Messages no handler can read: each consumer dead-letters them itself.
  await h.stack.sqs.send(new SendMessageCommand({ QueueUrl: h.stack.queueUrls.jobs, MessageBody: '{"not":"a job"}' }));
  await h.stack.sqs.send(new SendMessageCommand({ QueueUrl: h.stack.queueUrls.deliveries, MessageBody: '{"not":"a delivery"}' }));

  step('api');
  // The jobs API, every route.
  const api = (method: string, path: string) =>
    fetch(`${h.stack.endpoint}/v1${path}`, { method, headers: { 'x-api-key': h.stack.apiKey } });
  expect((await api('GET', '/jobs')).status).toBe(200);
  expect((await api('GET', `/jobs/${jobId}`)).status).toBe(200);
  expect((await api('GET', `/jobs/${jobId}/deliveries`)).status).toBe(200);
  expect((await api('GET', `/batches/${batchId}`)).status).toBe(200);
  expect((await api('POST', `/jobs/${jobId}/redeliver`)).status).toBe(202);
  expect((await api('DELETE', `/jobs/${jobId}`)).status).toBe(409);
  // The callback's one API route: signs a webhook.test with the (sealed) signing secret.
  const probe = await fetch(`${h.stack.endpoint}/v1/webhooks/test`, {
    method: 'POST',
    headers: { 'x-api-key': h.stack.apiKey, 'content-type': 'application/json' },
    body: JSON.stringify({ callback_url: `${h.receiver.url}/probe` }),
  });
  expect(((await probe.json()) as { delivered: boolean }).delivered).toBe(true);
  step('dlq wait');
  const deadLettered = (queueUrl: string) =>
    recorder.calls.some((c) => c.operation.startsWith('SendMessage') && c.input.QueueUrl === queueUrl);
  for (let waited = 0; !(deadLettered(h.stack.queueUrls.jobsDeadLetter) && deadLettered(h.stack.queueUrls.deliveriesDeadLetter)); waited += 100) {
    if (waited > 20_000) throw new Error('the malformed messages were not dead-lettered');
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

async function runCliSession(): Promise<void> {
  const cli = async (...argv: string[]) => {
    if (process.env.IAM_SIM_DEBUG) console.error(new Date().toISOString(), argv.join(' '));
    let stdout = '';
    const code = await recorder.runAs('operator', () =>
      runCli(argv, { stdout: (t) => (stdout += `${t}\n`), stderr: () => {}, env: { METAHOOK_DATA_DIR: dataDir }, cwd: process.cwd() }),
    );
    expect(code, `metahook ${argv.join(' ')}`).toBe(0);
    return stdout;
  };
  const since = new Date(Date.now() - 3_600_000).toISOString();
  const until = new Date(Date.now() + 60_000).toISOString();
  const jobs = await fetch(`${h.stack.endpoint}/v1/jobs`, { headers: { 'x-api-key': h.stack.apiKey } }).then((r) => r.json() as any);
  await cli('audit', 'deliveries', '--tenant', h.stack.tenantId, '--since', since, '--until', until, '--format', 'json');
  await cli('audit', 'job', jobs.jobs[0].job_id, '--tenant', h.stack.tenantId, '--format', 'json');
  await cli('redrive', 'jobs', '--dry-run', '--format', 'json');
  await cli('redrive', 'jobs', '--max', '1');
  await cli('redrive', 'deliveries', '--job', goneJob, '--max', '1');
  // Secret custody: rotating seals a new secret; the migration seals a tenant item from before sealing.
  const rotated = await h.stack.createTenant('IAM rotation');
  await cli('tenants', 'rotate-secret', '--tenant', rotated.tenant.tenant_id, '--format', 'json');
  await h.stack.db.send(
    new UpdateCommand({
      TableName: h.stack.names.table,
      Key: { pk: `TENANT#${rotated.tenant.tenant_id}`, sk: 'TENANT' },
      UpdateExpression: 'SET signing_secrets = :plain',
      ExpressionAttributeValues: { ':plain': [{ secret: generateSigningSecret(), expires_at: null }] },
    }),
  );
  expect(await cli('tenants', 'seal-secrets', '--format', 'json')).toContain('"secretsSealed": 1');
  // A tenant's own audio limit: read and update of the tenant item (the extractor reads it with the GetItem it already makes).
  await cli('tenants', 'set-audio-limit', '--tenant', rotated.tenant.tenant_id, '--max-seconds', '600');
  await cli('tenants', 'set-audio-limit', '--tenant', rotated.tenant.tenant_id, '--clear');
  // What `tenants enable` does after enabling (test/integration/held-jobs.test.ts runs enable itself;
  // here its API-key half would hit the local key registry, which has no deployed counterpart).
  await createDynamoTenantDirectory(h.stack.db, { tableName: h.stack.names.table }).setStatus(heldTenant, 'active');
  await cli('redrive', 'jobs', '--held', '--tenant', heldTenant);
  await runGatewayTenantSession();
}

/**
 * tenants create/disable/enable as `--aws` runs them: the CLI's --aws target (cli/target.ts
 * resolveAwsTarget) with its real API-key adapter, which loads @aws-sdk/client-api-gateway and
 * talks to the API Gateway stand-in (AWS_ENDPOINT_URL_API_GATEWAY, the SDK's per-service endpoint
 * setting). Only the stack outputs are given (the local names; DescribeStacks is added in
 * operatorRequests) and the table, queues and key are the local stack's.
 */
async function runGatewayTenantSession(): Promise<void> {
  const env = h.stack.handlerEnv;
  const outputs = {
    [STACK_OUTPUTS.tableName]: env[ENV.tableName]!,
    [STACK_OUTPUTS.usagePlanId]: LOCAL_USAGE_PLAN,
    [STACK_OUTPUTS.secretsKeyArn]: env[ENV.secretsKeyId]!,
    [STACK_OUTPUTS.jobsQueueUrl]: env[ENV.jobsQueueUrl]!,
    [STACK_OUTPUTS.jobsDeadLetterQueueUrl]: env[ENV.jobsDlqUrl]!,
    [STACK_OUTPUTS.jobsHeldQueueUrl]: env[ENV.jobsHeldQueueUrl]!,
    [STACK_OUTPUTS.deliveriesQueueUrl]: env[ENV.deliveriesQueueUrl]!,
    [STACK_OUTPUTS.deliveriesDeadLetterQueueUrl]: env[ENV.deliveriesDlqUrl]!,
    [STACK_OUTPUTS.mediaBucketName]: env[ENV.mediaBucket]!,
    [STACK_OUTPUTS.allowedSourceBuckets]: '-',
  };
  const kms = new KMSClient({ region: env.AWS_REGION ?? 'us-east-1', endpoint: env.AWS_ENDPOINT_URL_KMS!, credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
  const previousEndpoint = process.env.AWS_ENDPOINT_URL_API_GATEWAY;
  process.env.AWS_ENDPOINT_URL_API_GATEWAY = gateway.endpoint;
  const tenants = (input: Omit<TenantCommandInput, 'format'>) =>
    recorder.runAs('operator', async () => {
      const target = await resolveAwsTarget({ stackName: 'Metahook-test', region: 'us-east-1', loadOutputs: async () => outputs, db: h.stack.db, sqs: h.stack.sqs, kms });
      let stdout = '';
      try {
        const code = await runTenantCommand(target, { ...input, format: 'json' }, { stdout: (t) => (stdout += t), stderr: () => {}, env: {}, cwd: process.cwd() });
        expect(code, `tenants ${input.command}`).toBe(0);
        return stdout;
      } finally {
        target.close();
      }
    });
  try {
    const created = JSON.parse(await tenants({ command: 'create', name: 'IAM gateway tenant' })) as { tenant_id: string; api_key_id: string };
    await tenants({ command: 'disable', tenant: created.tenant_id });
    await tenants({ command: 'enable', tenant: created.tenant_id });
    // A usage plan that refuses the key: the adapter deletes the key it just created.
    gateway.refuseNextUsagePlanKey();
    await expect(tenants({ command: 'create', name: 'IAM refused tenant' })).rejects.toMatchObject({ name: 'ConflictException' });
    expect(gateway.requests.map((r) => `${r.method} ${r.path.replace(/\/apikeys\/[^/]+$/, '/apikeys/{id}')}`)).toEqual([
      'POST /apikeys',
      `POST /usageplans/${LOCAL_USAGE_PLAN}/keys`,
      'PATCH /apikeys/{id}',
      'PATCH /apikeys/{id}',
      'POST /apikeys',
      `POST /usageplans/${LOCAL_USAGE_PLAN}/keys`,
      'DELETE /apikeys/{id}',
    ]);
  } finally {
    if (previousEndpoint === undefined) delete process.env.AWS_ENDPOINT_URL_API_GATEWAY;
    else process.env.AWS_ENDPOINT_URL_API_GATEWAY = previousEndpoint;
    kms.destroy();
  }
}

/** What the CLI session asked for, plus what only an --aws target does. */
function operatorRequests(): AuthorizationRequest[] {
  const { account, region, stackName } = stack.env;
  const names = new Map(deployedNames(stack, h.stack.env));
  // The stand-in's usage plan is the stack's UsagePlanId output.
  names.set(LOCAL_USAGE_PLAN, String(stack.resolve(templateJson.Outputs[STACK_OUTPUTS.usagePlanId].Value)));
  return [
    ...recorder.calls.filter((c) => c.principal === 'operator').flatMap((call) => authorizationsFor(call, stack, names)),
    // Only an --aws target: it reads the stack's outputs first (cli/target.ts loadStackOutputs).
    {
      principal: 'operator',
      action: 'cloudformation:DescribeStacks',
      resource: `arn:aws:cloudformation:${region}:${account}:stack/${stackName}/*`,
      context: {},
      because: 'the --aws target reading the stack outputs',
    },
  ];
}

beforeAll(async () => {
  recorder = startCallRecorder();
  gateway = await startApiGatewayStandIn({ usagePlanId: LOCAL_USAGE_PLAN });
  let imageCalls = 0;
  stub = await startConverseStub({
    // The first image is throttled past the SDK's own retries, so the extractor postpones its record.
    replies: (request) => (mediaKindOf(request) === 'image' && imageCalls++ < 4 ? converseReplies.throttling() : converseReplies.auto()),
  });
  h = await startHarness({
    env: {
      METAHOOK_MODEL_PROVIDER: 'bedrock',
      AWS_ENDPOINT_URL_BEDROCK_RUNTIME: stub.endpoint,
      METAHOOK_IMAGE_MODEL_ID: DEFAULT_IMAGE_MODEL_ID,
      METAHOOK_AUDIO_MODEL_ID: DEFAULT_AUDIO_MODEL_ID,
      METAHOOK_EXTRACTION_RETRY_SCHEDULE: '1,1',
      METAHOOK_RETRY_SCHEDULE: '1,1',
      // Every batch holding two files of one tenant sends the second to the back of the queue.
      METAHOOK_FAIRNESS_MAX_RECORDS_PER_TENANT: '1',
      METAHOOK_FAIRNESS_DWELL_SECONDS: '0',
    },
    wrapHandler: (name, handler) => {
      HANDLER_NAME[name] = name;
      return ((...args: unknown[]) => recorder.runAs(name, () => handler(...args))) as typeof handler;
    },
  });
  dataDir = await mkdtemp(join(tmpdir(), 'metahook-iam-'));
  const { endpoint, apiKey, signingSecret, tenantId, s3Endpoint, mediaBucket, dynamoEndpoint, sqsEndpoint, handlerEnv } = h.stack;
  await writeFile(join(dataDir, 'local.json'), JSON.stringify({ endpoint, apiKey, signingSecret, tenantId, s3Endpoint, mediaBucket, dynamoEndpoint, sqsEndpoint, handlerEnv }));
}, 60_000);

afterAll(async () => {
  recorder?.stop();
  await h?.stop();
  await stub?.stop();
  await gateway?.stop();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
  CloudAssembly.cleanupTemporaryDirectories();
});

describe('IAM simulation of the recorded calls against the synthesized template', () => {
  it('records the calls of every handler during a pipeline session and a CLI session', async () => {
    await runPipelineSession();
    await runCliSession();

    if (process.env.IAM_SIM_DEBUG) console.error(new Date().toISOString(), 'synth');
    const { template } = synthStack();
    templateJson = template.toJSON();
    stack = resolveStack(templateJson, { ...TEST_ENV, stackName: 'Metahook-test' });
    const names = deployedNames(stack, h.stack.env);
    const lambdaCalls = recorder.calls.filter((c) => c.principal !== 'operator');
    requests = [
      ...lambdaCalls.flatMap((call) =>
        authorizationsFor(call, stack, names).map((r) => ({ ...r, principal: stack.roleOfHandler[call.principal] ?? `no role for ${call.principal}` })),
      ),
      ...awsMadeRequests(stack),
    ];

    if (process.env.IAM_SIM_DEBUG) for (const c of recorder.calls) console.error('CALL', c.principal, c.service, c.operation, JSON.stringify(c.input));
    const principals = new Set(recorder.calls.map((c) => c.principal));
    for (const name of Object.keys(HANDLER_NAME)) expect(principals, `no AWS call recorded for ${name}`).toContain(name);
    expect(Object.keys(stack.roleOfHandler).sort()).toEqual(Object.keys(HANDLER_NAME).sort());
  }, 120_000);

  it('allows every call a handler made and every call AWS makes for a role or alarm', async () => {
    const decisions = await evaluate(stack, requests);
    const denied = decisions.filter((d) => d.result !== 'Allowed').map((d) => `${d.result}: ${d.principal} ${d.action} on ${d.resource} (${d.because})`);
    expect([...new Set(denied)]).toEqual([]);
  });

  it('lets CloudWatch alarms publish to the encrypted alarm topic', () => {
    const alarmRequests = requests.filter((r) => r.principal === 'cloudwatch.amazonaws.com');
    expect(alarmRequests.map((r) => r.action)).toEqual(expect.arrayContaining(['sns:Publish', 'kms:GenerateDataKey', 'kms:Decrypt']));
  });

  it('grants no role anything no call needed', () => {
    const unused = Object.fromEntries(
      Object.entries(stack.roleOfHandler).map(([name, role]) => [name, unusedGrants(stack.rolePolicies[role]!, role, requests)]),
    );
    for (const known of NOT_REACHED) {
      const entries = unused[known.handler] ?? [];
      expect(entries.some((e) => e.startsWith(`${known.action} on `)), `${known.handler} ${known.action}: ${known.path}`).toBe(true);
      unused[known.handler] = entries.filter((e) => !e.startsWith(`${known.action} on `));
    }
    expect(unused).toEqual(Object.fromEntries(Object.keys(stack.roleOfHandler).map((name) => [name, []])));
  });

  it('lets only the callback decrypt signing secrets, and only under their purpose', async () => {
    const callbackRole = stack.roleOfHandler.callback!;
    const secretsKey = String(
      stack.resolve(stack.resources[Object.keys(stack.resources).find((id) => stack.resources[id]!.Properties?.Role?.['Fn::GetAtt']?.[0] === callbackRole && stack.resources[id]!.Type === 'AWS::Lambda::Function')!]!.Properties.Environment.Variables[ENV.secretsKeyId]),
    );
    // The callback's recorded Decrypt calls opened signing secrets on this key and no other.
    const decrypts = requests.filter((r) => r.principal === callbackRole && r.action === 'kms:Decrypt' && !r.context['kms:ViaService']);
    expect(decrypts.length).toBeGreaterThan(0);
    expect(new Set(decrypts.map((r) => r.resource))).toEqual(new Set([secretsKey]));
    // Signing secrets, and a request's callback_headers (issue 14), sealed by the intake.
    expect(new Set(decrypts.map((r) => r.context['kms:EncryptionContext:purpose']))).toEqual(
      new Set([SEALING_PURPOSES.signingSecret, SEALING_PURPOSES.callbackHeaders]),
    );

    // Every role of the template (and the generated operator policy) asked to decrypt a signing
    // secret, directly and as DynamoDB or SQS would on its behalf: only the callback may.
    const operator = { arn: `arn:aws:iam::${stack.env.account}:role/metahook-operator`, policies: [operatorPolicy(operatorRequests())] };
    const context = Object.fromEntries(Object.entries(signingSecretContext('ten_any')).map(([k, v]) => [`kms:EncryptionContext:${k}`, v]));
    const principals = [...Object.keys(stack.rolePolicies), 'operator'];
    const vias: Record<string, string>[] = [
      {},
      { 'kms:ViaService': `dynamodb.${stack.env.region}.amazonaws.com` },
      { 'kms:ViaService': `sqs.${stack.env.region}.amazonaws.com` },
    ];
    const asks: AuthorizationRequest[] = principals.flatMap((principal) =>
      vias.map((via) => ({
        principal, action: 'kms:Decrypt', resource: secretsKey, context: { 'aws:SecureTransport': 'true', ...context, ...via }, because: 'who may decrypt',
      })),
    );
    const decisions = await evaluate(stack, asks, { extra: { operator } });
    const allowed = [...new Set(decisions.filter((d) => d.result === 'Allowed').map((d) => d.principal))];
    expect(allowed).toEqual([callbackRole]);
    // Receiver credentials too: the intake seals them but only the callback may open them.
    const headerAsks = asks.map((ask) => ({ ...ask, context: { ...ask.context, 'kms:EncryptionContext:purpose': SEALING_PURPOSES.callbackHeaders } }));
    const headerDecisions = await evaluate(stack, headerAsks, { extra: { operator } });
    expect([...new Set(headerDecisions.filter((d) => d.result === 'Allowed').map((d) => d.principal))]).toEqual([callbackRole]);

    // The callback's grant is bound to the purpose: another purpose on the same key is refused.
    const otherPurpose = await evaluate(stack, [{ ...asks.find((a) => a.principal === callbackRole)!, context: { ...context, 'kms:EncryptionContext:purpose': 'something-else' } }]);
    expect(otherPurpose[0]!.result).not.toBe('Allowed');
    // And the operator may seal (rotate, migrate) but not decrypt.
    expect(operator.policies[0]!.Statement.map((st) => st.Action)).toContain('kms:GenerateDataKey');
  });

  it('generates the operator policy in docs/deploy.md from the CLI calls, and that policy allows them', async () => {
    const { account } = stack.env;
    const requestsOfOperator = operatorRequests();
    expect(requestsOfOperator.map((r) => r.action)).toEqual(
      expect.arrayContaining(['dynamodb:Query', 'dynamodb:PutItem', 'sqs:ReceiveMessage', 'sqs:SendMessage', 'apigateway:POST', 'apigateway:PATCH', 'apigateway:DELETE']),
    );
    // Every request the API Gateway stand-in received went through a recorded SDK call, so each
    // is in the generated policy and simulated below: a new API Gateway call is either allowed
    // by the regenerated policy or fails here (unmapped resource, denied, or a stale docs block).
    const gatewayCalls = recorder.calls.filter((c) => c.principal === 'operator' && c.service === 'APIGateway');
    expect(gatewayCalls.map((c) => `${c.http?.method} ${c.http?.path}`)).toEqual(gateway.requests.map((r) => `${r.method} ${r.path}`));
    const policy = operatorPolicy(requestsOfOperator);
    const operator = { arn: `arn:aws:iam::${account}:role/metahook-operator`, policies: [policy] };
    const decisions = await evaluate(stack, requestsOfOperator, { extra: { operator } });
    expect(decisions.filter((d) => d.result !== 'Allowed').map((d) => `${d.action} on ${d.resource}`)).toEqual([]);
    // API Gateway calls the CLI does not make are refused by that policy: a new one fails above
    // until the policy (and docs/deploy.md, checked below) is regenerated to allow it.
    const { region } = stack.env;
    const plan = String(stack.resolve(templateJson.Outputs[STACK_OUTPUTS.usagePlanId].Value));
    const notMade = [
      ['apigateway:GET', `/apikeys/abc123`],
      ['apigateway:DELETE', `/usageplans/${plan}/keys/abc123`],
      ['apigateway:POST', '/usageplans/another-plan/keys'],
      ['apigateway:PATCH', `/usageplans/${plan}`],
    ].map(([action, path]) => ({ principal: 'operator', action: action!, resource: `arn:aws:apigateway:${region}::${path}`, context: {}, because: 'not a CLI call' }));
    const refused = await evaluate(stack, notMade, { extra: { operator } });
    expect(refused.map((d) => `${d.action} ${d.resource} ${d.result}`)).toEqual(notMade.map((r) => `${r.action} ${r.resource} ImplicitlyDenied`));

    const outputs = Object.fromEntries(
      Object.entries<any>(templateJson.Outputs ?? {}).map(([key, output]) => [key, String(stack.resolve(output.Value))]),
    );
    const block = `${OPERATOR_POLICY_START}\n\`\`\`json\n${renderForDocs(policy, stack, outputs)}\n\`\`\`\n${OPERATOR_POLICY_END}`;
    const docPath = new URL('../../docs/deploy.md', import.meta.url);
    const doc = await readFile(docPath, 'utf8');
    const start = doc.indexOf(OPERATOR_POLICY_START);
    const end = doc.indexOf(OPERATOR_POLICY_END);
    expect(start, 'docs/deploy.md has no operator-policy block').toBeGreaterThanOrEqual(0);
    const current = doc.slice(start, end + OPERATOR_POLICY_END.length);
    if (process.env.UPDATE_OPERATOR_POLICY === '1') {
      await writeFile(docPath, doc.replace(current, block));
    } else {
      expect(current, 'docs/deploy.md operator policy is stale: run npm run docs:operator-policy').toBe(block);
    }
  });
});
