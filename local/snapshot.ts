// Local stack: data directories written before fauxqs 2 kept SQS and S3 state as a snapshot
// saved on a clean stop (<dataDir>/snapshot). Now fauxqs persists by itself (emulators.ts); a
// snapshot left by an older version is loaded into it once and removed, so no queued message
// or uploaded object is lost by the upgrade.
import { readFile, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { SendMessageBatchCommand, type SQSClient } from '@aws-sdk/client-sqs';

interface QueueSnapshot {
  readonly queueUrl: string;
  readonly bodies: string[];
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
