// Tenant fairness: the batch rule (lambdas/core/fair-share.ts), the queue age it reads from each
// record (also the backlog-age metric), and the tenant key the SQS adapter puts on every job and
// delivery message (MessageGroupId, the key of SQS fair queues).
import { describe, expect, it } from 'vitest';
import { mockClient } from 'aws-sdk-client-mock';
import { SendMessageBatchCommand, SQSClient } from '@aws-sdk/client-sqs';
import { fairShare } from '../../lambdas/core/fair-share';
import { createSqsDeliveryQueue, createSqsJobQueue, queueAgeSeconds, recordSentAt } from '../../lambdas/adapters/sqs-queues';

const limits = { maxRecordsPerTenantPerBatch: 2, requeueAfterDwellSeconds: 60 };
const rec = (tenantId: string | undefined, dwellSeconds = 120, id = Math.random().toString(36)) => ({ id, tenantId, dwellSeconds });

describe('fairShare', () => {
  it('runs at most N records of a backlogged tenant and requeues the rest', () => {
    const batch = [rec('big'), rec('big'), rec('big'), rec('small'), rec('big')];
    const { run, requeue } = fairShare(batch, limits);
    expect(run.map((r) => r.tenantId)).toEqual(['big', 'big', 'small']);
    expect(requeue).toEqual([batch[2], batch[4]]);
  });

  it('holds nothing back while the queue keeps up (records younger than the dwell threshold)', () => {
    const batch = Array.from({ length: 10 }, () => rec('solo', 5));
    expect(fairShare(batch, limits)).toEqual({ run: batch, requeue: [] });
  });

  it('always runs records that are not job messages, so the handler can dead-letter them', () => {
    const batch = [rec('t'), rec('t'), rec(undefined), rec(undefined)];
    expect(fairShare(batch, limits).run).toHaveLength(4);
  });
});

describe('queueAgeSeconds (fair-share dwell and backlog-age metric)', () => {
  const now = Date.parse('2026-12-01T12:00:00.000Z');
  const sent = (SentTimestamp?: string) => ({ attributes: SentTimestamp === undefined ? {} : { SentTimestamp } });

  it('is the seconds since the last send', () => {
    expect(queueAgeSeconds(sent(String(now - 61_500)), now)).toBe(61.5);
    expect(recordSentAt(sent(String(now - 61_500)))).toEqual(new Date(now - 61_500));
  });

  it('is 0, never negative, for a send time after this clock (clock skew)', () => {
    expect(queueAgeSeconds(sent(String(now + 2_000)), now)).toBe(0);
  });

  it('is 0, not NaN, when SQS gave no usable send time', () => {
    for (const record of [sent(), sent(''), sent('not-a-number'), sent('0')]) {
      expect(queueAgeSeconds(record, now)).toBe(0);
      expect(recordSentAt(record)).toBeUndefined();
    }
  });
});

describe('SQS queues: MessageGroupId = tenant', () => {
  it('tags every job and delivery message with its tenant, across SendMessageBatch chunks', async () => {
    const sqs = mockClient(SQSClient);
    sqs.on(SendMessageBatchCommand).resolves({ Successful: [], Failed: [] });
    const client = new SQSClient({ region: 'us-east-1' });
    const jobs = Array.from({ length: 12 }, (_, i) => ({ tenant_id: i < 11 ? 'tenant-a' : 'tenant-b', job_id: `job-${i}` }));
    await createSqsJobQueue(client, 'https://sqs/jobs').enqueueJobs(jobs);
    await createSqsDeliveryQueue(client, 'https://sqs/deliveries').enqueueDeliveries([
      { kind: 'batch', tenant_id: 'tenant-c', batch_id: 'b1', event_id: 'e1' },
    ]);
    const calls = sqs.commandCalls(SendMessageBatchCommand).map((call) => call.args[0].input);
    expect(calls.map((input) => input.Entries!.map((e) => e.MessageGroupId))).toEqual([
      Array(10).fill('tenant-a'),
      ['tenant-a', 'tenant-b'],
      ['tenant-c'],
    ]);
    expect(JSON.parse(calls[1]!.Entries![1]!.MessageBody!)).toEqual(jobs[11]);
    sqs.restore();
  });
});
