// Delivery recovery on the embedded stack, with the SQS limits AWS enforces (test/support/sqs-limits.ts)
// and the default (deployed) retry schedule. The callback handler is invoked directly on records we
// receive ourselves, so a test can stand at any point of the schedule:
// - the last step of the schedule (43,200 s +- jitter) must not ask SQS for more visibility than is
//   left of the 12 h since the receipt (issue 11, item 3);
// - a receive before the attempt is due postpones again, with no attempt and no retry used up;
// - an error thrown in the handler is postponed by its schedule step, not left to the 360 s timeout;
// - two concurrent receipts of one message each keep their own audit row (conditional writes).
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { ChangeMessageVisibilityCommand, ReceiveMessageCommand, type Message } from '@aws-sdk/client-sqs';
import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { startHarness, type Harness } from '../support/local-harness';
import { enforceSqsLimits, type SqsLimits } from '../support/sqs-limits';
import { injectFault, recordCalls } from '../support/aws-intercept';
import { invocationScope } from '../../local/invocation-scope';
import { fakeLambdaContext } from '../../local/lambda-context';
import { deliverEvent } from '../../lambdas/core/deliver-event';
import type { DeliveryMessage } from '../../lambdas/core/ports';

let h: Harness;
let limits: SqsLimits;
let handle: (event: SQSEvent, context: Context) => Promise<SQSBatchResponse>;
// Spied before the stack imports the handlers, so the jitter is ours to set whatever the wiring captured.
const realRandom = Math.random.bind(Math);
const random = vi.spyOn(Math, 'random').mockImplementation(realRandom);

beforeAll(async () => {
  // No callback poller: this file hands the deliveries queue's records to the handler itself.
  h = await startHarness({ concurrency: { callback: 0 } });
  limits = enforceSqsLimits();
  handle = (await import('../../lambdas/callback/handler')).handleDeliveryMessages as typeof handle;
  h.receiver.reply = () => ({ status: 500, body: 'down' });
});

afterAll(async () => {
  vi.restoreAllMocks();
  limits?.stop();
  await h?.stop();
});

async function completedJob(): Promise<{ jobId: string; message: Message }> {
  const url = await h.upload('graphic.png', `recovery/${Date.now()}-${Math.random()}.png`);
  const { status, json } = await h.submit({ callback_url: `${h.receiver.url}/down`, files: [{ url }] });
  expect(status).toBe(202);
  const jobId: string = json.jobs[0].job_id;
  for (let i = 0; i < 40; i++) {
    const message = await receiveDelivery(jobId);
    if (message) return { jobId, message };
  }
  throw new Error(`no delivery message for ${jobId}`);
}

async function receiveDelivery(jobId: string): Promise<Message | undefined> {
  const { Messages } = await h.stack.sqs.send(
    new ReceiveMessageCommand({ QueueUrl: h.stack.queueUrls.deliveries, MaxNumberOfMessages: 10, WaitTimeSeconds: 1, MessageSystemAttributeNames: ['All'] }),
  );
  let mine: Message | undefined;
  for (const message of Messages ?? []) {
    if (JSON.parse(message.Body!).job_id === jobId) mine = message;
    else await makeVisible(message); // another test's message: leave it
  }
  return mine;
}

const makeVisible = (message: Message) =>
  h.stack.sqs.send(
    new ChangeMessageVisibilityCommand({ QueueUrl: h.stack.queueUrls.deliveries, ReceiptHandle: message.ReceiptHandle!, VisibilityTimeout: 0 }),
  );

const toRecord = (message: Message, receiveCount: number): SQSRecord => ({
  messageId: message.MessageId!,
  receiptHandle: message.ReceiptHandle!,
  body: message.Body!,
  attributes: {
    ApproximateReceiveCount: String(receiveCount),
    SentTimestamp: String(Date.now()),
    SenderId: 'local',
    ApproximateFirstReceiveTimestamp: String(Date.now()),
  },
  messageAttributes: {},
  md5OfBody: '',
  eventSource: 'aws:sqs',
  eventSourceARN: 'arn:aws:sqs:us-east-1:000000000000:deliveries',
  awsRegion: 'us-east-1',
});

const invoke = (records: SQSRecord[]) =>
  invocationScope.run({ functionName: 'metahook-callback', requestId: 'test' }, () =>
    handle({ Records: records }, fakeLambdaContext('metahook-callback', 'test')),
  );

async function setDelivery(jobId: string, delivery: Record<string, unknown>): Promise<void> {
  await h.stack.db.send(
    new UpdateCommand({
      TableName: h.stack.names.table,
      // The job's delivery summary item, beside the job (docs/data-model.md).
      Key: { pk: `TENANT#${h.stack.tenantId}#JOB#${jobId}`, sk: 'DELIVERY' },
      UpdateExpression: 'SET delivery = :d',
      ExpressionAttributeValues: { ':d': delivery },
    }),
  );
}

const visibilityCalls = (calls: { operation: string; input: Record<string, any> }[]) =>
  calls.filter((c) => c.operation === 'ChangeMessageVisibility').map((c) => c.input.VisibilityTimeout as number);

describe('the last step of the default schedule', () => {
  it('postpones within what is left of the 12 h since the receipt, then waits again without an attempt', async () => {
    const schedule = h.stack.settings.delivery.retryScheduleSeconds;
    expect(schedule.at(-1)).toBe(43_200); // the default schedule, as deployed
    const { jobId, message } = await completedJob();
    const eventId = JSON.parse(message.Body!).event_id;
    // Attempt 9 is due: 8 attempts failed so far, the last step (43,200 s) comes next.
    await setDelivery(jobId, {
      status: 'pending', attempts: 8, failures: 8, event_id: eventId, last_status_code: 500, last_error: 'HTTP 500',
      updated_at: new Date().toISOString(), next_attempt_at: new Date(Date.now() - 1000).toISOString(),
    });
    random.mockImplementation(() => 0.99); // jitter at its top: 43,200 * 1.2
    const recording = recordCalls();
    const before = h.receiver.received.length;
    await new Promise((r) => setTimeout(r, 1100)); // time passes between receipt and attempt, as it does
    const first = await invoke([toRecord(message, 9)]);
    recording.stop();
    random.mockImplementation(realRandom);

    expect(limits.violations).toEqual([]);
    expect(first.batchItemFailures).toEqual([{ itemIdentifier: message.MessageId }]);
    expect(h.receiver.received.length).toBe(before + 1);
    const [hidden] = visibilityCalls(recording.calls);
    expect(hidden).toBeLessThanOrEqual(43_200 - 1);
    const job = await h.job(jobId);
    expect(job!.delivery).toMatchObject({ status: 'pending', attempts: 9, failures: 9 });
    // Due later than SQS could hide it: the next receive comes early.
    expect(Date.parse(job!.delivery.next_attempt_at) - Date.now()).toBeGreaterThan(hidden! * 1000);

    // That early receive (simulated now) postpones again: no POST, no attempt, no retry used.
    await makeVisible(message);
    const again = (await receiveDelivery(jobId))!;
    const recording2 = recordCalls();
    const second = await invoke([toRecord(again, 10)]);
    recording2.stop();
    expect(limits.violations).toEqual([]);
    expect(second.batchItemFailures).toHaveLength(1);
    expect(h.receiver.received.length).toBe(before + 1);
    expect((await h.job(jobId))!.delivery).toMatchObject({ status: 'pending', attempts: 9, failures: 9 });
    const [rehidden] = visibilityCalls(recording2.calls);
    expect(rehidden).toBeGreaterThan(0);
    expect(rehidden).toBeLessThanOrEqual(43_200);
    expect((await h.attempts(jobId)).map((a) => a.attempt)).toEqual([9]);
    await makeVisible(again);
    await setDelivery(jobId, { status: 'failed', attempts: 9, event_id: eventId, last_status_code: 500, last_error: 'x', updated_at: null });
  }, 30_000);
});

describe('errors in the callback handler', () => {
  it('postpones a record whose DynamoDB read failed by its schedule step, not the queue visibility timeout', async () => {
    const { message } = await completedJob();
    const recording = recordCalls();
    // A lone record's job read is one Query of the job's partition (job + delivery summary item).
    const fault = injectFault({ functionName: 'metahook-callback', service: 'DynamoDB', operation: 'Query', occurrence: 1, mode: 'before' });
    const response = await invoke([toRecord(message, 1)]);
    fault.disarm();
    recording.stop();
    expect(fault.fired()).toBe(true);
    expect(response.batchItemFailures).toEqual([{ itemIdentifier: message.MessageId }]);
    const first = h.stack.settings.delivery.retryScheduleSeconds[0]!;
    const [hidden] = visibilityCalls(recording.calls);
    expect(hidden).toBeGreaterThanOrEqual(Math.floor(first * 0.8));
    expect(hidden).toBeLessThanOrEqual(Math.ceil(first * 1.2));
    await makeVisible(message);
  }, 30_000);
});

describe('two concurrent receipts of one message', () => {
  it('both POSTs under the one webhook-id are recorded, neither audit row overwritten', async () => {
    const { jobId, message } = await completedJob();
    await makeVisible(message);
    const { buildCallbackDeps } = await import('../../lambdas/callback/wiring');
    const { deps } = buildCallbackDeps(process.env);
    // Both receipts read the state before either records its outcome.
    let arrived = 0;
    let release!: () => void;
    const bothSent = new Promise<void>((resolve) => (release = resolve));
    const sender = {
      async post(request: Parameters<typeof deps.sender.post>[0]) {
        const response = await deps.sender.post(request);
        if (++arrived === 2) release();
        await bothSent;
        return response;
      },
    };
    const delivery = JSON.parse(message.Body!) as DeliveryMessage;
    const racing = { ...deps, sender };
    const decisions = await Promise.all([
      deliverEvent(racing, delivery, { receiveCount: 1 }),
      deliverEvent(racing, delivery, { receiveCount: 2 }),
    ]);
    expect(decisions.map((d) => d.outcome)).toEqual(['retry', 'retry']);
    const posts = h.receiver.received.filter((r) => r.payload?.data.job_id === jobId);
    expect(posts).toHaveLength(2);
    expect(new Set(posts.map((p) => p.headers['webhook-id'])).size).toBe(1);
    const rows = await h.attempts(jobId);
    expect(rows.map((r) => r.attempt).sort((x, y) => x - y)).toEqual([1, 2]);
    expect((await h.job(jobId))!.delivery).toMatchObject({ attempts: 2, status: 'pending' });
  }, 30_000);
});
