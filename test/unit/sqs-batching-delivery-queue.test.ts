// The extractor's batching delivery queue: the webhooks of one SQS batch go out in one
// SendMessageBatch per 10 (job events before batch events), and a message SQS refuses, or a send
// that throws, becomes a failure of the record that queued it, so that record is retried. An
// invocation's flush waits for its own records' webhooks, whoever sends them, and reports only its own.
import { describe, expect, it } from 'vitest';
import { mockClient } from 'aws-sdk-client-mock';
import { SendMessageBatchCommand, SQSClient } from '@aws-sdk/client-sqs';
import { createBatchingDeliveryQueue } from '../../lambdas/adapters/sqs-batching-delivery-queue';

const job = (n: number, tenant = 't1') => ({ kind: 'job' as const, tenant_id: tenant, job_id: `job-${n}`, event_id: `evt-${n}` });

describe('createBatchingDeliveryQueue', () => {
  it('sends nothing until flush, then one call for the jobs and one for the batch event', async () => {
    const sqs = mockClient(SQSClient);
    sqs.on(SendMessageBatchCommand).resolves({ Successful: [], Failed: [] });
    const { queue, begin } = createBatchingDeliveryQueue(new SQSClient({ region: 'us-east-1' }), 'https://sqs/deliveries');
    const buffer = begin();
    await Promise.all([1, 2, 3].map((n) => buffer.run(`rec-${n}`, async () => {
      await queue.enqueueDeliveries([job(n)]);
      if (n === 3) await queue.enqueueDeliveries([{ kind: 'batch', tenant_id: 't1', batch_id: 'b1', event_id: 'evt-b1' }]);
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
    const { queue, begin } = createBatchingDeliveryQueue(new SQSClient({ region: 'us-east-1' }), 'https://sqs/deliveries');
    const buffer = begin();
    for (const n of [1, 2]) await buffer.run(`rec-${n}`, () => queue.enqueueDeliveries([job(n)]));
    expect((await buffer.flush()).map((u) => u.owner)).toEqual(['rec-2']);

    sqs.reset();
    sqs.on(SendMessageBatchCommand).rejects(new Error('network'));
    for (const n of [3, 4]) await buffer.run(`rec-${n}`, () => queue.enqueueDeliveries([job(n)]));
    expect((await buffer.flush()).map((u) => u.owner).sort()).toEqual(['rec-3', 'rec-4']);
    sqs.restore();
  });

  it('stops waiting for a hung send after withinMs and reports every record of the flush, with its messages', async () => {
    const sqs = mockClient(SQSClient);
    sqs.on(SendMessageBatchCommand).callsFake(() => new Promise(() => undefined));
    const { queue, begin } = createBatchingDeliveryQueue(new SQSClient({ region: 'us-east-1' }), 'https://sqs/deliveries');
    const buffer = begin();
    await buffer.run('rec-1', async () => {
      await queue.enqueueDeliveries([job(1)]);
      await queue.enqueueDeliveries([{ kind: 'batch', tenant_id: 't1', batch_id: 'b1', event_id: 'evt-b1' }]);
    });
    await buffer.run('rec-2', () => queue.enqueueDeliveries([job(2)]));
    const undelivered = await buffer.flush(50);
    expect(undelivered.map((u) => [u.owner, u.messages.map((m) => m.event_id)])).toEqual([
      ['rec-1', ['evt-1', 'evt-b1']],
      ['rec-2', ['evt-2']],
    ]);
    sqs.restore();
  });

  it('overlapping invocations: a flush resolves only once its own webhooks are in SQS, and reports only its own refusals', async () => {
    // Two extractor invocations in one process (the local stack runs 4 pollers). B's flush sends
    // A's webhooks too. Before, A then found nothing to send, returned, and SQS deleted A's records
    // while their webhooks were still on the way: a kill -9 there lost them for good.
    const sqs = mockClient(SQSClient);
    let releaseSend!: () => void;
    const sendHeld = new Promise<void>((resolve) => (releaseSend = resolve));
    sqs.on(SendMessageBatchCommand).callsFake(async (input: { Entries: { Id: string; MessageBody: string }[] }) => {
      await sendHeld;
      // SQS keeps refusing B's second webhook: the failure is B's to report, not A's.
      const refused = input.Entries.filter((e) => JSON.parse(e.MessageBody).event_id === 'evt-4');
      return { Successful: [], Failed: refused.map((e) => ({ Id: e.Id, Code: 'InternalError', SenderFault: false })) };
    });
    const { queue, begin } = createBatchingDeliveryQueue(new SQSClient({ region: 'us-east-1' }), 'https://sqs/deliveries');
    const a = begin();
    const b = begin();
    await Promise.all([
      a.run('rec-1', () => queue.enqueueDeliveries([job(1)])),
      b.run('rec-3', () => queue.enqueueDeliveries([job(3)])),
      a.run('rec-2', () => queue.enqueueDeliveries([job(2)])),
      b.run('rec-4', () => queue.enqueueDeliveries([job(4)])),
    ]);
    const flushedB = b.flush();
    let aDone = false;
    const flushedA = a.flush().then((failed) => {
      aDone = true;
      return failed;
    });
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(aDone, 'A must not return while its webhooks are unsent').toBe(false);
    releaseSend();
    expect(await flushedA).toEqual([]);
    expect((await flushedB).map((u) => u.owner)).toEqual(['rec-4']);
    const sent = sqs.commandCalls(SendMessageBatchCommand).map((c) => c.args[0].input.Entries!.map((e) => JSON.parse(e.MessageBody!).event_id as string));
    // One call, in the order queued; the refused one retried on its own (MAX_ROUNDS), nothing sent twice otherwise.
    expect(sent[0]).toEqual(['evt-1', 'evt-3', 'evt-2', 'evt-4']);
    expect(sent.slice(1).flat().every((id) => id === 'evt-4')).toBe(true);
    sqs.restore();
  });

  it('sends at once when called outside a record, and throws if SQS refuses', async () => {
    const sqs = mockClient(SQSClient);
    sqs.on(SendMessageBatchCommand).resolves({ Successful: [], Failed: [] });
    const { queue } = createBatchingDeliveryQueue(new SQSClient({ region: 'us-east-1' }), 'https://sqs/deliveries');
    await queue.enqueueDeliveries([job(9)]);
    expect(sqs.commandCalls(SendMessageBatchCommand)).toHaveLength(1);
    sqs.reset();
    sqs.on(SendMessageBatchCommand).rejects(new Error('network'));
    await expect(queue.enqueueDeliveries([job(10)])).rejects.toThrow(/refused/);
    sqs.restore();
  });

  it('sends at once what an abandoned record queues after its batch was flushed, and keeps what it queued before in the batch', async () => {
    // The extractor abandons a record on its last receive when it runs out of time; its work may
    // still finish the job after the flush. A flush that never comes must not hold its webhooks.
    const sqs = mockClient(SQSClient);
    sqs.on(SendMessageBatchCommand).resolves({ Successful: [], Failed: [] });
    const { queue, begin } = createBatchingDeliveryQueue(new SQSClient({ region: 'us-east-1' }), 'https://sqs/deliveries');
    const buffer = begin();
    const abandon = new AbortController();
    let finishLate!: () => void;
    const late = new Promise<void>((resolve) => (finishLate = resolve));
    const work = buffer.run('rec-1', async () => {
      await queue.enqueueDeliveries([job(1)]);
      await late;
      await queue.enqueueDeliveries([job(2)]);
    }, abandon.signal);
    await new Promise((resolve) => setImmediate(resolve));
    abandon.abort();
    expect(await buffer.flush()).toEqual([]);
    const sentIds = () => sqs.commandCalls(SendMessageBatchCommand).flatMap((c) => c.args[0].input.Entries!.map((e) => JSON.parse(e.MessageBody!).event_id));
    expect(sentIds()).toEqual(['evt-1']);
    finishLate();
    await work;
    expect(sentIds()).toEqual(['evt-1', 'evt-2']);
    // Not left behind for the next invocation's flush either.
    const next = begin();
    await next.run('rec-3', () => queue.enqueueDeliveries([job(3)]));
    await next.flush();
    expect(sentIds()).toEqual(['evt-1', 'evt-2', 'evt-3']);
    sqs.restore();
  });
});
