// `npm start` keeps state under its data directory: the dev tenant, jobs, queued messages
// and bucket objects survive a clean restart; --fresh wipes them.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { SendMessageCommand, ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { startLocalStack, type LocalStack } from '../../local/stack';

const dataDir = await mkdtemp(join(tmpdir(), 'metahook-persist-'));
afterAll(() => rm(dataDir, { recursive: true, force: true }));

async function storedJob(stack: LocalStack, tenantId: string, jobId: string) {
  const { Item } = await stack.db.send(
    new GetCommand({ TableName: stack.names.table, Key: { pk: `TENANT#${tenantId}#JOB#${jobId}`, sk: 'JOB' } }),
  );
  return Item;
}

describe('local stack state', () => {
  it('survives a restart and is wiped by fresh', async () => {
    const env = { POWERTOOLS_LOG_LEVEL: 'SILENT' };
    const first = await startLocalStack({ dataDir, env, pollWaitSeconds: 1 });
    const saved = JSON.parse(await readFile(join(dataDir, 'local.json'), 'utf8'));
    expect(saved).toMatchObject({ endpoint: first.endpoint, apiKey: first.apiKey, signingSecret: first.signingSecret });
    await first.s3.send(new PutObjectCommand({ Bucket: first.names.mediaBucket, Key: 'kept.txt', Body: 'still here' }));
    // A message parked on a dead-letter queue (no poller consumes it) must come back too.
    await first.sqs.send(new SendMessageCommand({ QueueUrl: first.queueUrls.deliveriesDeadLetter, MessageBody: '{"parked":true}' }));
    const submitted = await fetch(`${first.endpoint}/v1/jobs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': first.apiKey },
      body: JSON.stringify({ callback_url: 'http://127.0.0.1:9/hook', files: [{ url: `s3://${first.names.mediaBucket}/tenants/${first.tenantId}/none.png` }] }),
    });
    const jobId = ((await submitted.json()) as any).jobs[0].job_id;
    await first.stop();

    const second = await startLocalStack({ dataDir, env, pollWaitSeconds: 1 });
    try {
      expect(second.apiKey).toBe(first.apiKey);
      expect(second.signingSecret).toBe(first.signingSecret);
      const object = await second.s3.send(new GetObjectCommand({ Bucket: second.names.mediaBucket, Key: 'kept.txt' }));
      expect(await object.Body!.transformToString()).toBe('still here');
      const { Messages } = await second.sqs.send(
        new ReceiveMessageCommand({ QueueUrl: second.queueUrls.deliveriesDeadLetter, WaitTimeSeconds: 1 }),
      );
      expect(Messages?.map((m) => m.Body)).toContain('{"parked":true}');
      // Read the table directly: handler modules keep the clients of the first start in this process.
      expect(await storedJob(second, first.tenantId, jobId)).toMatchObject({ job_id: jobId });
    } finally {
      await second.stop();
    }

    const fresh = await startLocalStack({ dataDir, env, fresh: true, pollWaitSeconds: 1 });
    try {
      expect(fresh.apiKey).not.toBe(first.apiKey);
      expect(await storedJob(fresh, first.tenantId, jobId)).toBeUndefined();
    } finally {
      await fresh.stop();
    }
  }, 60_000);
});
