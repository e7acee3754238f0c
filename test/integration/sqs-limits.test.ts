// The SQS limits wrapper (test/support/sqs-limits.ts) refuses what AWS refuses and fauxqs accepts:
// without these checks every other test could pass on code that breaks on AWS.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ChangeMessageVisibilityCommand,
  DeleteMessageBatchCommand,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  SendMessageCommand,
} from '@aws-sdk/client-sqs';
import { startHarness, type Harness } from '../support/local-harness';
import { enforceSqsLimits, type SqsLimits } from '../support/sqs-limits';

let h: Harness;
let limits: SqsLimits;
let queueUrl: string;

beforeAll(async () => {
  h = await startHarness({ concurrency: { extractor: 0, callback: 0 } });
  limits = enforceSqsLimits();
  queueUrl = h.stack.queueUrls.deliveriesDeadLetter;
});

afterAll(async () => {
  limits?.stop();
  await h?.stop();
});

async function receiveOne(): Promise<string> {
  await h.stack.sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: 'x' }));
  const { Messages } = await h.stack.sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, WaitTimeSeconds: 1 }));
  return Messages![0]!.ReceiptHandle!;
}

const visibility = (handle: string, seconds: number) =>
  h.stack.sqs.send(new ChangeMessageVisibilityCommand({ QueueUrl: queueUrl, ReceiptHandle: handle, VisibilityTimeout: seconds }));

describe('SQS limits fauxqs does not check', () => {
  it('caps total visibility at 12 hours since the receipt, not per call', async () => {
    const handle = await receiveOne();
    await visibility(handle, 600);
    limits.advance(3600);
    await expect(visibility(handle, 43_200 - 3600)).rejects.toThrow(/beyond the limit/);
    await expect(visibility(handle, 43_200 - 3600 - 5)).resolves.toBeDefined();
    await visibility(handle, 0);
  });

  it('refuses batches of more than 10 entries', async () => {
    const entries = Array.from({ length: 11 }, (_, i) => ({ Id: String(i), MessageBody: 'x' }));
    await expect(h.stack.sqs.send(new SendMessageBatchCommand({ QueueUrl: queueUrl, Entries: entries }))).rejects.toThrow(/at most 10/);
    const deletes = Array.from({ length: 11 }, (_, i) => ({ Id: String(i), ReceiptHandle: 'h' }));
    await expect(h.stack.sqs.send(new DeleteMessageBatchCommand({ QueueUrl: queueUrl, Entries: deletes }))).rejects.toThrow(/at most 10/);
  });

  it('refuses a message over 256 KiB, counting its attributes, and a batch over 256 KiB in total', async () => {
    const body = 'a'.repeat(262_144 - 10);
    await expect(
      h.stack.sqs.send(
        new SendMessageCommand({
          QueueUrl: queueUrl,
          MessageBody: body,
          MessageAttributes: { reason: { DataType: 'String', StringValue: 'x'.repeat(20) } },
        }),
      ),
    ).rejects.toThrow(/exceeds 262144/);
    const entries = Array.from({ length: 3 }, (_, i) => ({ Id: String(i), MessageBody: 'b'.repeat(100_000) }));
    await expect(h.stack.sqs.send(new SendMessageBatchCommand({ QueueUrl: queueUrl, Entries: entries }))).rejects.toThrow(/exceeds 262144/);
  });

  it('refuses DelaySeconds above 900', async () => {
    await expect(h.stack.sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: 'x', DelaySeconds: 901 }))).rejects.toThrow(
      /DelaySeconds/,
    );
    expect(limits.violations.length).toBeGreaterThanOrEqual(5);
  });
});
