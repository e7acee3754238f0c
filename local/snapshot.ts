// Local stack: fauxqs keeps SQS and S3 in memory only, so on a clean stop the queues'
// messages and the bucket's objects are written under the data directory and put back on
// the next start. (DynamoDB persists by itself: dynalite writes LevelDB there.)
import { mkdir, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { SendMessageBatchCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { FauxqsServer } from 'fauxqs';

interface QueueSnapshot {
  readonly queueUrl: string;
  readonly bodies: string[];
}

export async function saveSnapshot(
  dir: string,
  fauxqs: FauxqsServer,
  s3: S3Client,
  queues: Record<string, { name: string; url: string }>,
  bucket: string,
): Promise<void> {
  await rm(join(dir, 'snapshot'), { recursive: true, force: true });
  await mkdir(join(dir, 'snapshot', 'objects'), { recursive: true });
  const snapshot: Record<string, QueueSnapshot> = {};
  for (const [logical, queue] of Object.entries(queues)) {
    const state = fauxqs.inspectQueue(queue.name);
    if (!state) continue;
    const messages = [...state.messages.ready, ...state.messages.delayed, ...state.messages.inflight.map((m) => m.message)];
    snapshot[logical] = { queueUrl: queue.url, bodies: messages.map((m) => (m as { body: string }).body) };
  }
  await writeFile(join(dir, 'snapshot', 'queues.json'), JSON.stringify(snapshot));
  const objects: { key: string; file: string; contentType?: string }[] = [];
  let token: string | undefined;
  do {
    const page = await s3.send(new ListObjectsV2Command({ Bucket: bucket, ContinuationToken: token }));
    for (const entry of page.Contents ?? []) {
      const object = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: entry.Key! }));
      const file = String(objects.length);
      await writeFile(join(dir, 'snapshot', 'objects', file), await object.Body!.transformToByteArray());
      objects.push({ key: entry.Key!, file, ...(object.ContentType ? { contentType: object.ContentType } : {}) });
    }
    token = page.NextContinuationToken;
  } while (token);
  await writeFile(join(dir, 'snapshot', 'objects.json'), JSON.stringify(objects));
}

export async function restoreSnapshot(
  dir: string,
  sqs: SQSClient,
  s3: S3Client,
  bucket: string,
  queueUrls: Record<string, string>,
): Promise<void> {
  const base = join(dir, 'snapshot');
  const entries = await readdir(base).catch(() => [] as string[]);
  if (!entries.includes('queues.json')) return;
  const queues = JSON.parse(await readFile(join(base, 'queues.json'), 'utf8')) as Record<string, QueueSnapshot>;
  for (const [logical, queue] of Object.entries(queues)) {
    // Emulator queue URLs carry the port, which changes between runs: restore by logical name.
    const queueUrl = queueUrls[logical];
    if (!queueUrl) continue;
    for (let i = 0; i < queue.bodies.length; i += 10) {
      const Entries = queue.bodies.slice(i, i + 10).map((MessageBody, n) => ({ Id: String(n), MessageBody }));
      await sqs.send(new SendMessageBatchCommand({ QueueUrl: queueUrl, Entries }));
    }
  }
  const objects = JSON.parse(await readFile(join(base, 'objects.json'), 'utf8').catch(() => '[]')) as {
    key: string;
    file: string;
    contentType?: string;
  }[];
  for (const object of objects) {
    await s3.send(
      new PutObjectCommand({
        Bucket: bucket,
        Key: object.key,
        Body: await readFile(join(base, 'objects', object.file)),
        ...(object.contentType ? { ContentType: object.contentType } : {}),
      }),
    );
  }
  await rm(base, { recursive: true, force: true });
}
