// Local stack: everything behind `npm start`, in one process on 127.0.0.1. Emulators,
// resources created from the same designs as the CDK stack, the API Gateway stand-in and
// the SQS event sources, all invoking the real Lambda handlers (configured by env, as on AWS).
// One stack per process at a time: handler modules read their configuration once, at import.
import { existsSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { ChangeMessageVisibilityBatchCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { S3Client } from '@aws-sdk/client-s3';
import type { FauxqsServer } from 'fauxqs';
import { resolveSettings, type Settings } from '../lib/settings';
import type { QueueName } from '../lib/queue-design';
import { ENV } from '../lambdas/runtime-config';
import { createDocumentClient, createS3Client, createSqsClient } from '../lambdas/adapters/aws-clients';
import { createDynamoTenantDirectory } from '../lambdas/adapters/dynamo/tenant-directory';
import { createSecretSealerFromEnv } from '../lambdas/adapters/kms-secret-sealer';
import type { SecretSealer } from '../lambdas/core/ports';
import { createTenant, type CreatedTenant } from '../lambdas/core/manage-tenants';
import { newTenantId } from '../lambdas/core/ids';
import { JOBS_API_ROUTES, splitRoute, WEBHOOK_TEST_ROUTE } from '../lambdas/jobs-api/routes';
import { jsonResponse } from '../lambdas/adapters/api-gateway';
import { buildOpenApiDocument } from '../lib/openapi';
import { createLocalApiKeys, type LocalApiKeys } from './api-key-registry';
import { startEmulators } from './emulators';
import { startLocalKeyService } from './key-service';
import { startGateway, type Gateway, type ProxyHandler, type Route } from './gateway';
import { createBucket, createQueues, createTables, LOCAL_NAMES, type QueueUrls } from './resources';
import { restoreSnapshot } from './snapshot';
import { startPoller, type Poller, type SqsHandler } from './sqs-poller';
import { invokeWithTimeout } from './invocation-scope';
import { fakeLambdaContext } from './lambda-context';
import { startTraceCollector, type TraceCollector } from './xray-daemon';
import type { SweepRunResult } from '../lambdas/core/sweep-leases';

export interface LocalStackOptions {
  /** Port for the API; 0 picks a free one. */
  readonly port?: number;
  /** Where state persists between runs; undefined keeps everything in memory (tests). */
  readonly dataDir?: string;
  /** Wipe dataDir first. */
  readonly fresh?: boolean;
  /** Extra environment for the handlers (e.g. METAHOOK_RETRY_SCHEDULE=1,2,3). */
  readonly env?: Record<string, string>;
  /**
   * Local time compression for fault tests: function timeouts (ms) shorter than the deployed
   * ones, and how soon a timed-out invocation's records reappear. Defaults are the deployed values.
   */
  readonly timeouts?: {
    readonly intakeMs?: number;
    readonly extractorMs?: number;
    readonly callbackMs?: number;
    readonly visibilityAfterTimeoutSeconds?: number;
    /** The work queues' visibility timeout (deployed: 6 x the function timeout). */
    readonly queueVisibilitySeconds?: number;
  };
  /** Concurrent pollers per queue; Lambda's maxConcurrency is far more than 2 cores need. */
  readonly concurrency?: { readonly extractor?: number; readonly callback?: number };
  /** Long-poll wait of the pollers. */
  readonly pollWaitSeconds?: number;
  readonly throttle?: { readonly ratePerSecond: number; readonly burst: number };
  /**
   * Wraps each Lambda handler, given its handler name (lib/constructs/pipeline-function.ts), e.g.
   * so a test can attribute the AWS calls made during an invocation. @default the handler as is
   */
  readonly wrapHandler?: <H extends (...args: any[]) => Promise<unknown>>(handlerName: string, handler: H) => H;
}

export interface LocalCredentials {
  readonly endpoint: string;
  readonly apiKey: string;
  readonly signingSecret: string;
  readonly tenantId: string;
  /** S3 API of the emulator and the media bucket, so `npm run demo` can upload files. */
  readonly s3Endpoint: string;
  readonly mediaBucket: string;
  /** Emulator endpoints and handler environment, so CLI commands can reach a running stack. */
  readonly dynamoEndpoint: string;
  readonly sqsEndpoint: string;
  readonly handlerEnv: Record<string, string>;
}

export interface LocalStack extends LocalCredentials {
  readonly settings: Settings;
  readonly queueUrls: QueueUrls;
  readonly names: typeof LOCAL_NAMES;
  readonly fauxqs: FauxqsServer;
  readonly db: DynamoDBDocumentClient;
  readonly sqs: SQSClient;
  readonly s3: S3Client;
  readonly apiKeys: LocalApiKeys;
  /** Seals and opens with the local key service, as the handlers and CLI do. */
  readonly sealer: SecretSealer;
  /** Environment the handlers run with (endpoints, names), for CLI commands run in-process. */
  readonly env: Record<string, string>;
  /** The X-Ray daemon stand-in: every segment the handlers sent (also in <dataDir>/traces.jsonl). */
  readonly traces: TraceCollector;
  createTenant(name: string): Promise<CreatedTenant>;
  /** Runs the sweeper once now (it also runs on its schedule's timer), as EventBridge would. */
  sweep(): Promise<SweepRunResult>;
  stop(): Promise<void>;
}

const LOCAL_CREDENTIALS = { AWS_ACCESS_KEY_ID: 'local', AWS_SECRET_ACCESS_KEY: 'local' };

/** True when the SDK's default chain could find credentials of the user's own (needed for real Bedrock). */
const hasOwnCredentials = (env: NodeJS.ProcessEnv) =>
  Boolean(env.AWS_ACCESS_KEY_ID || env.AWS_PROFILE || env.AWS_WEB_IDENTITY_TOKEN_FILE || env.AWS_CONTAINER_CREDENTIALS_FULL_URI);

export async function startLocalStack(options: LocalStackOptions = {}): Promise<LocalStack> {
  const dataDir = options.dataDir;
  if (dataDir && options.fresh) await rm(dataDir, { recursive: true, force: true });
  if (dataDir) await mkdir(join(dataDir, 'dynamo'), { recursive: true });

  const emulators = await startEmulators(dataDir ? { dynamoPath: join(dataDir, 'dynamo'), fauxqsPath: join(dataDir, 'fauxqs') } : {});
  const queueUrls = createQueues(
    emulators.fauxqs,
    resolveSettings({ ...process.env, ...options.env }),
    options.timeouts?.queueVisibilitySeconds,
  );
  createBucket(emulators.fauxqs);
  // KMS for the SecretSealer: sealed values in a persisted table need the same key next run.
  const keyService = await startLocalKeyService({
    ...(dataDir ? { dataDir } : {}),
    region: process.env.AWS_REGION ?? 'us-east-1',
  });
  const traces = await startTraceCollector(dataDir ? join(dataDir, 'traces.jsonl') : undefined);

  const handlerEnv: Record<string, string> = {
    AWS_REGION: process.env.AWS_REGION ?? 'us-east-1',
    AWS_ENDPOINT_URL_DYNAMODB: emulators.dynamoEndpoint,
    AWS_ENDPOINT_URL_SQS: emulators.awsEndpoint,
    AWS_ENDPOINT_URL_S3: emulators.awsEndpoint,
    AWS_ENDPOINT_URL_KMS: keyService.endpoint,
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    ...(hasOwnCredentials(process.env) ? {} : LOCAL_CREDENTIALS),
    [ENV.tableName]: LOCAL_NAMES.table,
    [ENV.jobsQueueUrl]: queueUrls.jobs,
    [ENV.jobsDlqUrl]: queueUrls.jobsDeadLetter,
    [ENV.jobsHeldQueueUrl]: queueUrls.jobsHeld,
    [ENV.deliveriesQueueUrl]: queueUrls.deliveries,
    [ENV.deliveriesDlqUrl]: queueUrls.deliveriesDeadLetter,
    [ENV.mediaBucket]: LOCAL_NAMES.mediaBucket,
    [ENV.modelProvider]: process.env[ENV.modelProvider] ?? 'local',
    // Local only: lets a receiver or file server on 127.0.0.1 be used. Nothing else loosens.
    [ENV.allowLoopbackHttp]: 'true',
    [ENV.s3ForcePathStyle]: 'true',
    [ENV.secretsKeyId]: keyService.keyArn,
    POWERTOOLS_LOG_LEVEL: process.env.POWERTOOLS_LOG_LEVEL ?? 'WARN',
    POWERTOOLS_METRICS_DISABLED: process.env.POWERTOOLS_METRICS_DISABLED ?? 'true',
    // As on Lambda: the Tracer traces only there (AWS_EXECUTION_ENV), segments go to the daemon.
    AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs22.x',
    AWS_XRAY_DAEMON_ADDRESS: traces.address,
    _HANDLER: 'index.handler',
    ...options.env,
  };
  // The handlers read their configuration from process.env at import, exactly as on Lambda.
  Object.assign(process.env, handlerEnv);
  const settings = resolveSettings(process.env);

  // The stack's own clients are built like the handlers' (same env), so they see the same emulators.
  const dynamo = new DynamoDBClient({ endpoint: emulators.dynamoEndpoint });
  const db = createDocumentClient(process.env);
  const sqs = createSqsClient(process.env);
  const s3 = createS3Client(process.env);
  await createTables(dynamo);
  if (dataDir) {
    await restoreSnapshot(dataDir, sqs, s3, LOCAL_NAMES.mediaBucket, queueUrls);
    // Messages a previous run had received are held by pollers that no longer exist (it was
    // stopped or killed): hand them out again now rather than after their visibility timeout.
    await releaseInflightMessages(emulators.fauxqs, sqs, queueUrls);
  }

  const apiKeys = createLocalApiKeys(db);
  const tenantWriter = createDynamoTenantDirectory(db, { tableName: LOCAL_NAMES.table });
  const sealer = createSecretSealerFromEnv(process.env);
  const tenantDeps = { apiKeys, tenants: tenantWriter, sealer, now: () => new Date(), newTenantId };

  const wrap = options.wrapHandler ?? (<H>(_name: string, handler: H) => handler);
  const intake = wrap('intake', (await import('../lambdas/intake/handler')).handler as unknown as ProxyHandler);
  const extractor = wrap('extractor', (await import('../lambdas/extractor/handler')).handler as unknown as SqsHandler);
  const callback = wrap('callback', (await import('../lambdas/callback/handler')).handler as unknown as SqsHandler);

  const uploads = wrap('uploads', (await import('../lambdas/uploads/handler')).handler as unknown as ProxyHandler);
  const jobsApi = wrap('jobsApi', (await import('../lambdas/jobs-api/handler')).handler as unknown as ProxyHandler);
  const jobsApiRoutes = JOBS_API_ROUTES.map((route) => ({ ...splitRoute(route), functionName: 'metahook-jobs-api', handler: jobsApi }));
  const routes: Route[] = [
    { method: 'POST', resource: '/jobs', functionName: 'metahook-intake', handler: intake },
    { method: 'POST', resource: '/uploads', functionName: 'metahook-uploads', handler: uploads },
    ...jobsApiRoutes,
    // As on AWS: the callback function answers the webhook test (it alone opens signing secrets).
    { ...splitRoute(WEBHOOK_TEST_ROUTE), functionName: 'metahook-callback', handler: callback as unknown as ProxyHandler },
    // Local only, no key: the published contract (docs/openapi.json is the same document).
    {
      method: 'GET',
      resource: '/openapi.json',
      functionName: 'metahook-openapi',
      public: true,
      handler: async (event) => jsonResponse(200, buildOpenApiDocument(), event.requestContext.requestId),
    },
  ];
  const gateway: Gateway = await startGateway({
    port: options.port ?? 0,
    stage: 'v1',
    routes,
    apiKeys,
    ...(options.throttle ? { throttle: options.throttle } : {}),
    integrationTimeoutMs: options.timeouts?.intakeMs ?? 29_000,
  });

  const queueArn = (name: QueueName) => emulators.fauxqs.inspectQueue(LOCAL_NAMES.queues[name])!.arn;
  const afterTimeout =
    options.timeouts?.visibilityAfterTimeoutSeconds !== undefined
      ? { visibilityAfterTimeoutSeconds: options.timeouts.visibilityAfterTimeoutSeconds }
      : {};
  const pollers: Poller[] = [
    startPoller({
      sqs,
      queueUrl: queueUrls.jobs,
      queueArn: queueArn('jobs'),
      functionName: 'metahook-extractor',
      handler: extractor,
      batchSize: settings.extraction.batchSize,
      concurrency: options.concurrency?.extractor ?? 4,
      timeoutMs: options.timeouts?.extractorMs ?? settings.extraction.functionTimeoutSeconds * 1000,
      ...afterTimeout,
      ...(options.pollWaitSeconds !== undefined ? { waitTimeSeconds: options.pollWaitSeconds } : {}),
    }),
    startPoller({
      sqs,
      queueUrl: queueUrls.deliveries,
      queueArn: queueArn('deliveries'),
      functionName: 'metahook-callback',
      handler: callback,
      batchSize: settings.delivery.batchSize,
      concurrency: options.concurrency?.callback ?? 4,
      timeoutMs: options.timeouts?.callbackMs ?? settings.delivery.functionTimeoutSeconds * 1000,
      ...afterTimeout,
      ...(options.pollWaitSeconds !== undefined ? { waitTimeSeconds: options.pollWaitSeconds } : {}),
    }),
  ];

  // EventBridge's schedule, locally: the same handler on a timer, one run at a time.
  const sweeper = wrap(
    'sweeper',
    (await import('../lambdas/sweeper/handler')).handler as unknown as (
      event: unknown,
      context: ReturnType<typeof fakeLambdaContext>,
    ) => Promise<SweepRunResult>,
  );
  let sweepRuns = 0;
  let sweeping: Promise<SweepRunResult> | undefined;
  const sweep = (): Promise<SweepRunResult> => {
    if (sweeping) return sweeping;
    const requestId = `sweep-${++sweepRuns}`;
    const timeoutMs = settings.sweeper.functionTimeoutSeconds * 1000;
    sweeping = invokeWithTimeout({ functionName: 'metahook-sweeper', requestId }, timeoutMs, () =>
      sweeper({ source: 'aws.events' }, fakeLambdaContext('metahook-sweeper', requestId, timeoutMs)),
    ).finally(() => {
      sweeping = undefined;
    });
    return sweeping;
  };
  const sweepTimer = setInterval(() => void sweep().catch(() => undefined), settings.sweeper.intervalSeconds * 1000);
  sweepTimer.unref();

  const credentials = await devTenant(
    dataDir,
    {
      endpoint: gateway.url,
      s3Endpoint: emulators.awsEndpoint,
      mediaBucket: LOCAL_NAMES.mediaBucket,
      dynamoEndpoint: emulators.dynamoEndpoint,
      sqsEndpoint: emulators.awsEndpoint,
      handlerEnv,
    },
    () => createTenant(tenantDeps, { name: 'Local development' }),
    tenantWriter,
  );

  return {
    ...credentials,
    settings,
    queueUrls,
    names: LOCAL_NAMES,
    fauxqs: emulators.fauxqs,
    db,
    sqs,
    s3,
    apiKeys,
    sealer,
    env: handlerEnv,
    traces,
    createTenant: (name) => createTenant(tenantDeps, { name }),
    sweep,
    async stop() {
      clearInterval(sweepTimer);
      traces.stop();
      await sweeping?.catch(() => undefined);
      await gateway.stop();
      await Promise.all(pollers.map((poller) => poller.stop()));
      dynamo.destroy();
      db.destroy();
      sqs.destroy();
      s3.destroy();
      await emulators.stop();
      await keyService.stop();
    },
  };
}

/** Reuses the development tenant of an earlier run (from local.json) or creates one. */
async function devTenant(
  dataDir: string | undefined,
  where: Omit<LocalCredentials, 'apiKey' | 'signingSecret' | 'tenantId'>,
  create: () => Promise<CreatedTenant>,
  tenants: { getTenant(id: string): Promise<unknown> },
): Promise<LocalCredentials> {
  const file = dataDir ? join(dataDir, 'local.json') : undefined;
  if (file && existsSync(file)) {
    const saved = JSON.parse(await readFile(file, 'utf8')) as Partial<LocalCredentials>;
    if (saved.tenantId && saved.apiKey && saved.signingSecret && (await tenants.getTenant(saved.tenantId))) {
      const credentials = { ...where, apiKey: saved.apiKey, signingSecret: saved.signingSecret, tenantId: saved.tenantId };
      await writeFile(file, JSON.stringify(credentials, null, 2) + '\n', { mode: 0o600 });
      return credentials;
    }
  }
  const created = await create();
  const credentials = { ...where, apiKey: created.apiKey, signingSecret: created.signingSecret, tenantId: created.tenant.tenant_id };
  if (file) await writeFile(file, JSON.stringify(credentials, null, 2) + '\n', { mode: 0o600 });
  return credentials;
}

/** Makes every in-flight message of the queues visible again (ChangeMessageVisibility to 0). */
async function releaseInflightMessages(fauxqs: FauxqsServer, sqs: SQSClient, queueUrls: QueueUrls): Promise<void> {
  for (const name of Object.keys(queueUrls) as QueueName[]) {
    const inflight = fauxqs.inspectQueue(LOCAL_NAMES.queues[name])?.messages.inflight ?? [];
    for (let i = 0; i < inflight.length; i += 10) {
      const Entries = inflight.slice(i, i + 10).map((entry, n) => ({ Id: String(n), ReceiptHandle: entry.receiptHandle, VisibilityTimeout: 0 }));
      const { Failed } = await sqs.send(new ChangeMessageVisibilityBatchCommand({ QueueUrl: queueUrls[name], Entries }));
      if (Failed?.length) throw new Error(`could not release in-flight messages of ${name}: ${Failed.map((f) => f.Message ?? f.Code).join('; ')}`);
    }
  }
}
