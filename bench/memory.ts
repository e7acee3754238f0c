// Bench phase, run as a child process by bench/run.ts: extractor peak memory. Boots the local
// stack with its pollers off, uploads a ~20 MB image and a ~50 MB WAV generated at bench time,
// queues one job per case, takes the job message off the queue itself, and hands it to the
// extractor's CDK-style bundle in a fresh Node process (as one Lambda invocation) that samples
// its own memory. Peak RSS comes from the kernel (getrusage maxrss), not from sampling alone.
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs, promisify } from 'node:util';
import {
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  UploadPartCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import type { SQSEvent } from 'aws-lambda';
import { startLocalStack } from '../local/stack';
import { startConverseStub } from '../test/support/converse-stub';
import { bundleHandler } from './cold-start';
import { largeJpeg, writeLargeWav } from './lib/media';

const run = promisify(execFile);
const { values: args } = parseArgs({ options: { quick: { type: 'boolean', default: false }, out: { type: 'string' } } });
const MiB = 1024 * 1024;

/** One Lambda-like invocation in a fresh process: idle memory after init, then peaks during the handler. */
const INVOKE_PROBE = `
import { readFileSync } from 'node:fs';
const event = JSON.parse(readFileSync(process.env.BENCH_EVENT, 'utf8'));
const mod = await import(process.env.BENCH_BUNDLE);
const idle = process.memoryUsage();
const idleMaxRss = process.resourceUsage().maxRSS * 1024;
const peak = { rss: 0, heapUsed: 0, external: 0, arrayBuffers: 0 };
const sample = () => { const m = process.memoryUsage(); for (const k of Object.keys(peak)) peak[k] = Math.max(peak[k], m[k]); };
const timer = setInterval(sample, 2);
const context = {
  functionName: 'metahook-extractor', functionVersion: '$LATEST', memoryLimitInMB: '1024', awsRequestId: 'bench-memory',
  invokedFunctionArn: 'arn:aws:lambda:us-east-1:000000000000:function:metahook-extractor', logGroupName: 'bench', logStreamName: 'bench',
  callbackWaitsForEmptyEventLoop: true, getRemainingTimeInMillis: () => 120000, done() {}, fail() {}, succeed() {},
};
const started = performance.now();
const response = await mod.handler(event, context);
const handlerMs = performance.now() - started;
clearInterval(timer);
sample();
process.stdout.write(JSON.stringify({ idleRss: idle.rss, idleMaxRss, peak, maxRss: process.resourceUsage().maxRSS * 1024, handlerMs, response }));
`;

/** Multipart upload in 8 MiB parts: the S3 emulator caps a single request body at 11 MiB. */
async function uploadLarge(s3: S3Client, bucket: string, key: string, body: Buffer): Promise<void> {
  const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: key }));
  const parts: Array<{ ETag: string; PartNumber: number }> = [];
  for (let offset = 0, part = 1; offset < body.length; offset += 8 * MiB, part++) {
    const { ETag } = await s3.send(
      new UploadPartCommand({ Bucket: bucket, Key: key, UploadId, PartNumber: part, Body: body.subarray(offset, offset + 8 * MiB) }),
    );
    parts.push({ ETag: ETag!, PartNumber: part });
  }
  await s3.send(new CompleteMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId, MultipartUpload: { Parts: parts } }));
}

interface Case {
  readonly label: string;
  readonly file: 'image' | 'audio';
  readonly env: Record<string, string>;
}

async function main(): Promise<void> {
  const quick = args.quick;
  const work = await mkdtemp(join(tmpdir(), 'metahook-bench-'));
  const bundle = await bundleHandler('extractor', { dir: 'extractor-memory' });
  const imageTarget = quick ? 3 * MiB : 20 * MiB - 64 * 1024;
  const audioTarget = quick ? 8 * MiB : 50 * MiB - 64 * 1024;
  const image = await largeJpeg(imageTarget);
  const wavPath = join(work, 'large.wav');
  const wavBytes = await writeLargeWav(wavPath, audioTarget - 44);

  // Audio goes as uploaded until an AudioNormaliser is wired into the extractor.
  const stub = await startConverseStub({ requireNormalisedAudio: false });
  const stack = await startLocalStack({ port: 0, concurrency: { extractor: 0, callback: 0 }, env: { POWERTOOLS_LOG_LEVEL: 'WARN' } });
  const results: unknown[] = [];
  try {
    const bucket = stack.names.mediaBucket;
    await uploadLarge(stack.s3, bucket, `tenants/${stack.tenantId}/bench/large.jpg`, image.bytes);
    await uploadLarge(stack.s3, bucket, `tenants/${stack.tenantId}/bench/large.wav`, await readFile(wavPath));
    const urls = { image: `s3://${bucket}/tenants/${stack.tenantId}/bench/large.jpg`, audio: `s3://${bucket}/tenants/${stack.tenantId}/bench/large.wav` };
    const bedrock = { METAHOOK_MODEL_PROVIDER: 'bedrock', AWS_ENDPOINT_URL_BEDROCK_RUNTIME: stub.endpoint };
    const cases: Case[] = [
      { label: 'local analyzer', file: 'image', env: { METAHOOK_MODEL_PROVIDER: 'local' } },
      { label: 'local analyzer', file: 'audio', env: { METAHOOK_MODEL_PROVIDER: 'local' } },
      { label: 'bedrock (Nova Lite, downscale + inline bytes)', file: 'image', env: bedrock },
      { label: 'bedrock (Voxtral default: inline bytes, <= 25 MB)', file: 'audio', env: bedrock },
      { label: 'bedrock (Nova 2 Lite: s3Location)', file: 'audio', env: { ...bedrock, METAHOOK_AUDIO_MODEL_ID: 'us.amazon.nova-2-lite-v1:0' } },
    ];
    let n = 0;
    for (const testCase of cases) {
      const submitted = await fetch(`${stack.endpoint}/v1/jobs`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-api-key': stack.apiKey },
        body: JSON.stringify({ callback_url: `http://127.0.0.1:9/memory/${n++}`, files: [{ url: urls[testCase.file] }] }),
      });
      const accepted = (await submitted.json()) as { jobs: Array<{ job_id: string }> };
      if (submitted.status !== 202) throw new Error(`memory submit answered ${submitted.status}: ${JSON.stringify(accepted)}`);
      const { Messages } = await stack.sqs.send(
        new ReceiveMessageCommand({ QueueUrl: stack.queueUrls.jobs, MaxNumberOfMessages: 1, WaitTimeSeconds: 5, MessageSystemAttributeNames: ['All'] }),
      );
      const message = Messages?.[0];
      if (!message) throw new Error('no job message to hand to the extractor');
      const event: SQSEvent = {
        Records: [
          {
            messageId: message.MessageId!,
            receiptHandle: message.ReceiptHandle!,
            body: message.Body!,
            attributes: { ApproximateReceiveCount: '1', SentTimestamp: String(Date.now()), SenderId: 'bench', ApproximateFirstReceiveTimestamp: String(Date.now()) },
            messageAttributes: {},
            md5OfBody: message.MD5OfBody ?? '',
            eventSource: 'aws:sqs',
            eventSourceARN: 'arn:aws:sqs:us-east-1:000000000000:metahook-jobs',
            awsRegion: 'us-east-1',
          },
        ],
      };
      const eventPath = join(work, `event-${n}.json`);
      await writeFile(eventPath, JSON.stringify(event));
      const { stdout } = await run(process.execPath, ['--enable-source-maps', '--input-type=module', '-e', INVOKE_PROBE], {
        env: { PATH: process.env.PATH ?? '', ...stack.handlerEnv, ...testCase.env, BENCH_BUNDLE: bundle.file, BENCH_EVENT: eventPath },
        maxBuffer: 1 << 20,
      });
      const probe = JSON.parse(stdout) as Record<string, any>;
      const jobId = accepted.jobs[0]!.job_id;
      const { Item } = await stack.db.send(
        new GetCommand({ TableName: stack.names.table, Key: { pk: `TENANT#${stack.tenantId}#JOB#${jobId}`, sk: 'JOB' }, ConsistentRead: true }),
      );
      results.push({
        provider: testCase.label,
        file: testCase.file,
        fileBytes: testCase.file === 'image' ? image.bytes.length : wavBytes,
        fileDetail: testCase.file === 'image' ? `JPEG ${image.width}x${image.height}` : 'WAV 16-bit stereo 44.1 kHz',
        outcome: Item?.status === 'completed' ? 'completed' : `${Item?.status}: ${Item?.error?.code ?? '?'}`,
        idleRssMb: probe.idleRss / MiB,
        peakRssMb: probe.maxRss / MiB,
        deltaMb: (probe.maxRss - probe.idleMaxRss) / MiB,
        sampledPeak: Object.fromEntries(Object.entries(probe.peak as Record<string, number>).map(([k, v]) => [`${k}Mb`, v / MiB])),
        handlerMs: probe.handlerMs,
        batchItemFailures: probe.response?.batchItemFailures?.length ?? 0,
      });
    }
  } finally {
    await stack.stop();
    await stub.stop();
    await rm(work, { recursive: true, force: true });
  }
  const out = JSON.stringify({ lambdaMemoryMb: stack.settings.extraction.memoryMb, cases: results }, null, 2);
  if (args.out) await writeFile(args.out, out);
  else console.log(out);
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
