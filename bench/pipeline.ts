// Bench phase, run as a child process by bench/run.ts (one stack per process: the handlers read
// their configuration at import). Boots the embedded local stack in memory, drives it over HTTP
// like an integrator, and writes its measurements as JSON to --out.
//   --mode intake     pollers off: intake latency only (1 and 100 files, sequential and 16 clients)
//   --mode pipeline   full pipeline: end-to-end latency vs a direct baseline, throughput, AWS calls, CPU profile
//   --provider bedrock|local   bedrock = the real Bedrock adapter against the instant Converse stub
import { parseArgs } from 'node:util';
import { createHash } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import { startLocalStack, type LocalStack } from '../local/stack';
import { startWebhookReceiver, type WebhookReceiver } from '../local/webhook-receiver';
import { startConverseStub, type RunningConverseStub } from '../test/support/converse-stub';
import { createS3Client } from '../lambdas/adapters/aws-clients';
import { createMetadataProvider } from '../lambdas/adapters/model-provider';
import { createS3MediaSource } from '../lambdas/adapters/s3-media-source';
import { createSafeHttpClient } from '../lambdas/adapters/safe-http';
import { buildJobEvent, serializeEvent } from '../lambdas/core/events';
import { newBatchId, newJobId } from '../lambdas/core/ids';
import { sniffMedia } from '../lambdas/core/media-type';
import type { JobRecord } from '../lambdas/core/records';
import { signWebhook } from '../lambdas/core/webhook-signature';
import { readOutboundPolicy, readSourcePolicy } from '../lambdas/runtime-config';
import { installAwsCallCounter, entityOf, type CallStat } from './lib/aws-calls';
import { indexCallbacks, type CallbackIndex } from './lib/callback-index';
import { profileWhile, type CpuBreakdown } from './lib/cpu-profile';
import { timeHandlers, type HandlerName, type HandlerTimer } from './lib/handler-timing';
import { typicalJpeg } from './lib/media';
import { meterStdout } from './lib/stdout-meter';
import { summarize, type Summary } from './lib/stats';

const { values: args } = parseArgs({
  options: {
    mode: { type: 'string', default: 'pipeline' },
    provider: { type: 'string', default: 'bedrock' },
    quick: { type: 'boolean', default: false },
    out: { type: 'string' },
    'extractor-concurrency': { type: 'string', default: '4' },
    'callback-concurrency': { type: 'string', default: '4' },
  },
});
const mode = args.mode as 'intake' | 'pipeline';
const provider = args.provider as 'bedrock' | 'local';
const quick = args.quick;
const FIXTURES = join(import.meta.dirname, '..', 'test', 'fixtures');

/** Sizes of each measurement: full run vs --quick smoke run. */
const SIZES = quick
  ? { noop: 30, oneSeq: 40, oneClients: 16, onePerClient: 4, hundredSeq: 5, hundredPerClient: 1, e2e: 10, throughput: 200, profile: 0, submitters: 2 }
  : { noop: 200, oneSeq: 400, oneClients: 16, onePerClient: 40, hundredSeq: 40, hundredPerClient: 3, e2e: 100, throughput: 2000, profile: 600, submitters: 4 };

const stdout = meterStdout();
const counter = installAwsCallCounter();

interface Context {
  readonly stack: LocalStack;
  readonly receiver: WebhookReceiver;
  readonly callbacks: CallbackIndex;
  readonly timer: HandlerTimer;
}

async function submit(stack: LocalStack, body: unknown): Promise<{ status: number; json: any; clientMs: number; at202: number }> {
  const started = performance.now();
  const response = await fetch(`${stack.endpoint}/v1/jobs`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-api-key': stack.apiKey },
    body: JSON.stringify(body),
  });
  const json = await response.json();
  return { status: response.status, json, clientMs: performance.now() - started, at202: Date.now() };
}

async function clients<T>(count: number, perClient: number, work: (client: number, i: number) => Promise<T>): Promise<T[]> {
  const results: T[] = [];
  await Promise.all(
    Array.from({ length: count }, async (_, client) => {
      for (let i = 0; i < perClient; i++) results.push(await work(client, i));
    }),
  );
  return results;
}

const serverDurations = (timer: HandlerTimer, handler: HandlerName) =>
  timer.invocations.filter((invocation) => invocation.handler === handler).map((invocation) => invocation.durationMs);

// ---------------------------------------------------------------- intake

interface IntakePhase {
  readonly name: string;
  readonly filesPerRequest: number;
  readonly clients: number;
  readonly requests: number;
  readonly client: Summary;
  readonly server: Summary;
  readonly statuses: Record<string, number>;
  readonly awsCallsPerRequest: Record<string, number>;
}

async function intakeBench(ctx: Context) {
  const { stack, timer } = ctx;
  let fileNumber = 0;
  const body = (files: number) => ({
    callback_url: `${ctx.receiver.url}/intake`,
    files: Array.from({ length: files }, () => ({ url: `s3://${stack.names.mediaBucket}/tenants/${stack.tenantId}/bench/intake/${fileNumber++}.jpg` })),
  });

  // Warm the handler, the tenant cache and the connections first.
  for (let i = 0; i < 20; i++) await submit(stack, body(1));
  await submit(stack, body(100));

  // The HTTP floor: an unknown path is answered by the gateway before any key lookup or handler.
  const noop: number[] = [];
  for (let i = 0; i < SIZES.noop; i++) {
    const started = performance.now();
    const response = await fetch(`${stack.endpoint}/bench-noop`);
    await response.arrayBuffer();
    noop.push(performance.now() - started);
  }

  const phases: IntakePhase[] = [];
  const run = async (name: string, filesPerRequest: number, clientCount: number, perClient: number) => {
    timer.reset();
    counter.reset();
    const results = await clients(clientCount, perClient, () => submit(stack, body(filesPerRequest)));
    const statuses: Record<string, number> = {};
    for (const result of results) statuses[result.status] = (statuses[result.status] ?? 0) + 1;
    const calls: Record<string, number> = {};
    for (const stat of counter.snapshot().filter((s) => s.origin === 'intake')) {
      calls[`${stat.service}.${stat.operation}`] = stat.count / results.length;
    }
    phases.push({
      name,
      filesPerRequest,
      clients: clientCount,
      requests: results.length,
      client: summarize(results.map((r) => r.clientMs)),
      server: summarize(serverDurations(timer, 'intake')),
      statuses,
      awsCallsPerRequest: calls,
    });
  };
  await run('1 file, sequential', 1, 1, SIZES.oneSeq);
  await run('1 file, 16 clients', 1, SIZES.oneClients, SIZES.onePerClient);
  await run('100 files, sequential', 100, 1, SIZES.hundredSeq);
  await run('100 files, 16 clients', 100, 16, SIZES.hundredPerClient);
  return { noop: summarize(noop), phases };
}

// ---------------------------------------------------------------- pipeline

async function uploadMedia(stack: LocalStack): Promise<string[]> {
  const jpeg = await typicalJpeg();
  const mp3 = await readFile(join(FIXTURES, 'tagged.mp3'));
  const urls: string[] = [];
  // 100 distinct keys: a 100-file request needs 100 distinct URLs (duplicates collapse into one job).
  for (let i = 0; i < 100; i++) {
    const audio = i % 4 === 3;
    const key = `tenants/${stack.tenantId}/bench/media/${i}.${audio ? 'mp3' : 'jpg'}`;
    await stack.s3.send(new PutObjectCommand({ Bucket: stack.names.mediaBucket, Key: key, Body: audio ? mp3 : jpeg }));
    urls.push(`s3://${stack.names.mediaBucket}/${key}`);
  }
  return urls;
}

/** The same work as the pipeline with no queue or database: fetch -> sniff -> model -> sign -> POST. */
async function directPath(stack: LocalStack) {
  const settings = stack.settings.extraction;
  const media = createS3MediaSource(createS3Client(process.env), readSourcePolicy(process.env));
  const model = await createMetadataProvider(process.env);
  const http = createSafeHttpClient({ policy: readOutboundPolicy(process.env) });
  return async (fileUrl: string, callbackUrl: string): Promise<string> => {
    const fetched = await media.fetch(fileUrl, { maxBytes: Math.max(settings.maxImageBytes, settings.maxAudioBytes), scope: { tenantId: stack.tenantId, grants: [] } });
    const sniffed = await sniffMedia(fetched.bytes);
    if (sniffed.kind === 'unsupported') throw new Error(`unsupported bench file ${fileUrl}`);
    const extracted = await model.extract({
      kind: sniffed.kind,
      format: sniffed.format,
      mime: sniffed.mime,
      bytes: fetched.bytes,
      ...(fetched.s3Location ? { s3Location: fetched.s3Location } : {}),
    });
    const now = new Date();
    const job: JobRecord = {
      job_id: newJobId(),
      tenant_id: stack.tenantId,
      batch_id: newBatchId(),
      url: fileUrl,
      external_id: null,
      declared_media_type: null,
      callback_url: callbackUrl,
      metadata: null,
      status: 'completed',
      created_at: now.toISOString(),
      updated_at: now.toISOString(),
      finished_at: now.toISOString(),
      media_type: sniffed.kind,
      result: extracted.result,
      model: extracted.model,
      source: { sha256: createHash('sha256').update(fetched.bytes).digest('hex'), bytes: fetched.bytes.byteLength, content_type: sniffed.mime },
      delivery: { status: 'pending', attempts: 0, event_id: null, last_status_code: null, last_error: null, updated_at: null },
    };
    const event = buildJobEvent(job);
    const body = serializeEvent(event);
    const headers = { 'content-type': 'application/json', ...signWebhook({ id: event.id, timestamp: now, body, secrets: [stack.signingSecret] }) };
    const response = await http.post({ url: callbackUrl, headers, body, timeoutMs: 15_000, maxResponseBytes: 1024 });
    if (response.kind !== 'response' || response.status !== 200) throw new Error('direct POST failed');
    return job.job_id;
  };
}

async function e2eBench(ctx: Context, urls: string[]) {
  const { stack, callbacks } = ctx;
  const direct = await directPath(stack);
  const fromPost: number[] = [];
  const from202: number[] = [];
  const baseline: number[] = [];
  const ratios: number[] = [];
  const warmups = 5;
  ctx.timer.reset();
  // Interleaved (pipeline sample, baseline sample) so drift hits both alike.
  for (let i = 0; i < SIZES.e2e + warmups; i++) {
    const url = urls[i % urls.length]!;
    const startedAt = Date.now();
    const accepted = await submit(stack, { callback_url: `${ctx.receiver.url}/e2e/${i}`, files: [{ url }] });
    if (accepted.status !== 202) throw new Error(`e2e submit answered ${accepted.status}: ${JSON.stringify(accepted.json)}`);
    const jobId = accepted.json.jobs[0].job_id as string;
    await callbacks.waitForJobs([jobId], 30_000);
    await callbacks.waitForBatches([accepted.json.batch_id], 30_000); // drain before the next sample
    const arrived = callbacks.jobs.get(jobId)!.receivedAt;

    const directStart = Date.now();
    const directJob = await direct(url, `${ctx.receiver.url}/direct/${i}`);
    await callbacks.waitForJobs([directJob], 30_000);
    const directMs = callbacks.jobs.get(directJob)!.receivedAt - directStart;
    if (i < warmups) continue;
    fromPost.push(arrived - startedAt);
    from202.push(arrived - accepted.at202);
    baseline.push(directMs);
    ratios.push((arrived - startedAt) / Math.max(1, directMs));
  }
  const post = summarize(fromPost);
  const base = summarize(baseline);
  // Unloaded handler durations (one record per invocation): the basis of the Lambda cost estimate.
  const unloaded = Object.fromEntries(
    (['intake', 'extractor', 'callback'] as const).map((handler) => [handler, summarize(serverDurations(ctx.timer, handler))]),
  );
  return {
    unloadedHandlerMs: unloaded,
    samples: fromPost.length,
    pipelineFromPost: post,
    pipelineFrom202: summarize(from202),
    baseline: base,
    overheadRatioP50: post.p50 / Math.max(1, base.p50),
    perSampleRatio: summarize(ratios),
  };
}

function handlerReport(timer: HandlerTimer, files: number) {
  const report: Record<string, { invocations: number; meanRecords: number; duration: Summary; busyMsPerFile: number }> = {};
  for (const handler of ['intake', 'extractor', 'callback'] as const) {
    const invocations = timer.invocations.filter((i) => i.handler === handler);
    const durations = invocations.map((i) => i.durationMs);
    report[handler] = {
      invocations: invocations.length,
      meanRecords: invocations.reduce((sum, i) => sum + i.records, 0) / Math.max(1, invocations.length),
      duration: summarize(durations),
      busyMsPerFile: durations.reduce((a, b) => a + b, 0) / files,
    };
  }
  return report;
}

async function runBatches(ctx: Context, urls: string[], files: number, tag: string) {
  const { stack, callbacks } = ctx;
  const requests = Math.ceil(files / 100);
  const accepted: Array<{ jobIds: string[]; batchId: string; at202: number; clientMs: number }> = [];
  let next = 0;
  const started = Date.now();
  await clients(SIZES.submitters, Math.ceil(requests / SIZES.submitters), async () => {
    const n = next++;
    if (n >= requests) return;
    const count = Math.min(100, files - n * 100);
    const response = await submit(stack, {
      callback_url: `${ctx.receiver.url}/${tag}/${n}`,
      files: urls.slice(0, count).map((url) => ({ url })),
    });
    if (response.status !== 202) throw new Error(`${tag} submit answered ${response.status}: ${JSON.stringify(response.json)}`);
    accepted.push({ jobIds: response.json.jobs.map((j: { job_id: string }) => j.job_id), batchId: response.json.batch_id, at202: response.at202, clientMs: response.clientMs });
  });
  const jobIds = accepted.flatMap((a) => a.jobIds);
  await callbacks.waitForJobs(jobIds, quick ? 120_000 : 400_000);
  await callbacks.waitForBatches(accepted.map((a) => a.batchId), 60_000);
  const lastJob = Math.max(...jobIds.map((id) => callbacks.jobs.get(id)!.receivedAt));
  const e2e = accepted.flatMap((a) => a.jobIds.map((id) => callbacks.jobs.get(id)!.receivedAt - a.at202));
  const failed = jobIds.filter((id) => callbacks.jobs.get(id)!.type !== 'job.completed').length;
  return { files: jobIds.length, requests, seconds: (lastJob - started) / 1000, e2e, failed, intakeClientMs: accepted.map((a) => a.clientMs) };
}

async function throughputBench(ctx: Context, urls: string[]) {
  ctx.timer.reset();
  counter.reset();
  stdout.reset();
  const cpuBefore = process.cpuUsage();
  const eluBefore = performance.eventLoopUtilization();
  const wallStart = performance.now();
  const run = await runBatches(ctx, urls, SIZES.throughput, 'tp');
  const wallMs = performance.now() - wallStart;
  const cpu = process.cpuUsage(cpuBefore);
  const elu = performance.eventLoopUtilization(eluBefore);
  const calls = counter.snapshot();
  const bedrock = calls.filter((c) => c.service === 'Bedrock').reduce((sum, c) => sum + c.count, 0);
  return {
    files: run.files,
    requests: run.requests,
    submitters: SIZES.submitters,
    seconds: run.seconds,
    filesPerSecond: run.files / run.seconds,
    failedJobs: run.failed,
    e2eUnderLoad: summarize(run.e2e),
    intakeClientUnderLoad: summarize(run.intakeClientMs),
    process: {
      cpuCoresUsed: (cpu.user + cpu.system) / 1000 / wallMs,
      eventLoopUtilization: elu.utilization,
    },
    handlers: handlerReport(ctx.timer, run.files),
    calls,
    bedrockCallsPerFile: bedrock / run.files,
    logBytesPerFile: stdout.bytes / run.files,
    invalidSignatures: ctx.callbacks.invalidSignatures,
  };
}

/** Per entity: items, how many GSIs an item is written to, mean size (for the cost model). */
async function tableShape(stack: LocalStack) {
  const shape: Record<string, { items: number; gsiCount: number; meanJsonBytes: number }> = {};
  let ExclusiveStartKey: Record<string, unknown> | undefined;
  do {
    const page = await stack.db.send(new ScanCommand({ TableName: stack.names.table, ExclusiveStartKey }));
    for (const item of page.Items ?? []) {
      const entity = entityOf(item);
      const gsis = ['gsi1pk', 'gsi2pk'].filter((name) => typeof item[name] === 'string').length;
      const entry = (shape[entity] ??= { items: 0, gsiCount: 0, meanJsonBytes: 0 });
      entry.meanJsonBytes = (entry.meanJsonBytes * entry.items + JSON.stringify(item, (_k, v) => (v instanceof Set ? [...v] : v)).length) / (entry.items + 1);
      entry.items += 1;
      entry.gsiCount = Math.max(entry.gsiCount, gsis);
    }
    ExclusiveStartKey = page.LastEvaluatedKey;
  } while (ExclusiveStartKey);
  return shape;
}

async function main(): Promise<void> {
  let stub: RunningConverseStub | undefined;
  // These phases measure the pipeline around an instant model, as before issue 12: audio goes as
  // uploaded (METAHOOK_AUDIO_NORMALISATION=false). Normalisation has its own phase (bench:audio).
  if (provider === 'bedrock') stub = await startConverseStub({ requireNormalisedAudio: false });
  const stack = await startLocalStack({
    port: 0,
    env: {
      METAHOOK_MODEL_PROVIDER: provider,
      METAHOOK_AUDIO_NORMALISATION: 'false',
      // As deployed (lib/constructs/pipeline-function.ts): logging costs CPU and CloudWatch bytes.
      POWERTOOLS_LOG_LEVEL: 'INFO',
      ...(stub ? { AWS_ENDPOINT_URL_BEDROCK_RUNTIME: stub.endpoint } : {}),
    },
    concurrency:
      mode === 'intake'
        ? { extractor: 0, callback: 0 }
        : { extractor: Number(args['extractor-concurrency']), callback: Number(args['callback-concurrency']) },
  });
  counter.label(stack.sqs, 'event-source');
  counter.label(stack.db, 'gateway-emulation');
  counter.label(stack.s3, 'bench');
  const receiver = await startWebhookReceiver(stack.signingSecret);
  const ctx: Context = { stack, receiver, callbacks: indexCallbacks(receiver), timer: await timeHandlers() };
  const results: Record<string, unknown> = {
    mode,
    provider,
    quick,
    pollers: mode === 'intake' ? { extractor: 0, callback: 0 } : { extractor: Number(args['extractor-concurrency']), callback: Number(args['callback-concurrency']) },
  };
  try {
    if (mode === 'intake') {
      results.intake = await intakeBench(ctx);
    } else {
      const urls = await uploadMedia(stack);
      results.e2e = await e2eBench(ctx, urls);
      results.throughput = await throughputBench(ctx, urls);
      if (SIZES.profile > 0) {
        const { result, breakdown } = await profileWhile(() => runBatches(ctx, urls, SIZES.profile, 'prof'));
        results.profile = { files: result.files, filesPerSecondWhileProfiling: result.files / result.seconds, ...breakdown } satisfies Record<string, unknown> & CpuBreakdown;
      }
      counter.reset();
      results.table = await tableShape(stack);
    }
  } finally {
    await receiver.stop();
    await stack.stop();
    await stub?.stop();
    stdout.restore();
    counter.uninstall();
  }
  if (args.out) await writeFile(args.out, JSON.stringify(results, null, 2));
  else console.log(JSON.stringify(results, null, 2));
}

export type { CallStat };

main().then(
  () => process.exit(0),
  (error: unknown) => {
    stdout.restore();
    console.error(error);
    process.exit(1);
  },
);
