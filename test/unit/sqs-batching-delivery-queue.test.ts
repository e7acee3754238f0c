// The extractor's batching delivery queue: the webhooks of one SQS batch go out in one
// SendMessageBatch per 10 (job events before batch events), and a message SQS refuses, or a send
// that throws, becomes a failure of the record that queued it, so that record is retried.
import { describe, expect, it } from 'vitest';
import { mockClient } from 'aws-sdk-client-mock';
import { SendMessageBatchCommand, SQSClient } from '@aws-sdk/client-sqs';
import { createBatchingDeliveryQueue } from '../../lambdas/adapters/sqs-batching-delivery-queue';

const job = (n: number, tenant = 't1') => ({ kind: 'job' as const, tenant_id: tenant, job_id: `job-${n}`, event_id: `evt-${n}` });

describe('createBatchingDeliveryQueue', () => {
  it('sends nothing until flush, then one call for the jobs and one for the batch event', async () => {
    const sqs = mockClient(SQSClient);
    sqs.on(SendMessageBatchCommand).resolves({ Successful: [], Failed: [] });
    const buffer = createBatchingDeliveryQueue(new SQSClient({ region: 'us-east-1' }), 'https://sqs/deliveries');
    await Promise.all([1, 2, 3].map((n) => buffer.run(`rec-${n}`, async () => {
      await buffer.queue.enqueueDeliveries([job(n)]);
      if (n === 3) await buffer.queue.enqueueDeliveries([{ kind: 'batch', tenant_id: 't1', batch_id: 'b1', event_id: 'evt-b1' }]);
    })));
    expect(sqs.commandCalls(SendMessageBatchCommand)).toHaveLength(0);
    expect(await buffer.flush()).toEqual([]);
    const calls = sqs.commandCalls(SendMessageBatchCommand).map((c) => c.args[0].input.Entries!.map((e) => [JSON.parse(e.MessageBody!).event_id, e.MessageGroupId]));
    expect(calls).toEqual([[['evt-1', 't1'], ['evt-2', 't1'], ['evt-3', 't1']], [['evt-b1', 't1']]]);
    expect(await buffer.flush()).toEqual([]); // emptied
    expect(sqs.commandCalls(SendMessageBatchCommand)).toHaveLength(2);
    sqs.restore();
  });

  it('reports the records whose messages SQS kept refusing, or all of a chunk whose send threw', async () => {
    const sqs = mockClient(SQSClient);
    sqs.on(SendMessageBatchCommand)
      .resolves({ Successful: [], Failed: [{ Id: '1', Code: 'InternalError', SenderFault: false }] });
    const buffer = createBatchingDeliveryQueue(new SQSClient({ region: 'us-east-1' }), 'https://sqs/deliveries');
    for (const n of [1, 2]) await buffer.run(`rec-${n}`, () => buffer.queue.enqueueDeliveries([job(n)]));
    expect((await buffer.flush()).map((u) => u.owner)).toEqual(['rec-2']);

    sqs.reset();
    sqs.on(SendMessageBatchCommand).rejects(new Error('network'));
    for (const n of [3, 4]) await buffer.run(`rec-${n}`, () => buffer.queue.enqueueDeliveries([job(n)]));
    expect((await buffer.flush()).map((u) => u.owner).sort()).toEqual(['rec-3', 'rec-4']);
    sqs.restore();
  });

  it('stops waiting for a hung send after withinMs and reports every record of the flush, with its messages', async () => {
    const sqs = mockClient(SQSClient);
    sqs.on(SendMessageBatchCommand).callsFake(() => new Promise(() => undefined));
    const buffer = createBatchingDeliveryQueue(new SQSClient({ region: 'us-east-1' }), 'https://sqs/deliveries');
    await buffer.run('rec-1', async () => {
      await buffer.queue.enqueueDeliveries([job(1)]);
      await buffer.queue.enqueueDeliveries([{ kind: 'batch', tenant_id: 't1', batch_id: 'b1', event_id: 'evt-b1' }]);
    });
    await buffer.run('rec-2', () => buffer.queue.enqueueDeliveries([job(2)]));
    const undelivered = await buffer.flush(50);
    expect(undelivered.map((u) => [u.owner, u.messages.map((m) => m.event_id)])).toEqual([
      ['rec-1', ['evt-1', 'evt-b1']],
      ['rec-2', ['evt-2']],
    ]);
    sqs.restore();
  });

  it('sends at once when called outside a record, and throws if SQS refuses', async () => {
    const sqs = mockClient(SQSClient);
    sqs.on(SendMessageBatchCommand).resolves({ Successful: [], Failed: [] });
    const buffer = createBatchingDeliveryQueue(new SQSClient({ region: 'us-east-1' }), 'https://sqs/deliveries');
    await buffer.queue.enqueueDeliveries([job(9)]);
    expect(sqs.commandCalls(SendMessageBatchCommand)).toHaveLength(1);
    sqs.reset();
    sqs.on(SendMessageBatchCommand).rejects(new Error('network'));
    await expect(buffer.queue.enqueueDeliveries([job(10)])).rejects.toThrow(/refused/);
    sqs.restore();
  });
});
