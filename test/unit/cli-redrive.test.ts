// Redrive mechanics with a scripted SQS: send before delete, filters and --max leave messages
// in place and visible again, a dry run changes nothing, a long run stops at messages it has seen.
import { afterEach, describe, expect, it } from 'vitest';
import { mockClient } from 'aws-sdk-client-mock';
import {
  ChangeMessageVisibilityBatchCommand,
  DeleteMessageCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
  SQSClient,
  type Message,
} from '@aws-sdk/client-sqs';
import { describeDeadLetter, redriveDeadLetters } from '../../lambdas/adapters/sqs-redrive';

const sqs = new SQSClient({ region: 'us-east-1' });
const mock = mockClient(sqs);
afterEach(() => mock.reset());

/** Inputs of every call of one command, in order (aws-sdk-client-mock's own call log). */
const inputsOf = (command: any): any[] => mock.commandCalls(command).map((call) => call.args[0].input);

const urls = { deadLetterQueueUrl: 'https://sqs/dlq', sourceQueueUrl: 'https://sqs/source' };

const delivery = (id: string, tenant: string, job: string): Message => ({
  MessageId: id,
  ReceiptHandle: `rh-${id}`,
  Body: JSON.stringify({ kind: 'job', tenant_id: tenant, job_id: job, event_id: `msg_${job}_completed` }),
  MessageAttributes: {
    reason: { DataType: 'String', StringValue: 'attempts_exhausted' },
    detail: { DataType: 'String', StringValue: 'HTTP 500' },
    trace: { DataType: 'String', StringValue: 'keep-me' },
  },
  Attributes: { SentTimestamp: '1767225600000' },
});

describe('redriveDeadLetters', () => {
  it('sends each matching message to the source queue before deleting it, and releases the rest', async () => {
    mock
      .on(ReceiveMessageCommand)
      .resolvesOnce({ Messages: [delivery('1', 'ten_A', 'job_1'), delivery('2', 'ten_B', 'job_2'), delivery('3', 'ten_A', 'job_3')] })
      .resolves({ Messages: [] });
    const report = await redriveDeadLetters(sqs, { kind: 'deliveries', ...urls, filter: { tenantId: 'ten_A' } });

    expect(report.matched.map((m) => m.jobId)).toEqual(['job_1', 'job_3']);
    expect(report.leftInPlace).toBe(1);
    const calls = mock.calls().map((call) => call.args[0].constructor.name);
    expect(calls.filter((name) => name !== 'ReceiveMessageCommand')).toEqual([
      'SendMessageCommand',
      'DeleteMessageCommand',
      'SendMessageCommand',
      'DeleteMessageCommand',
      'ChangeMessageVisibilityBatchCommand',
    ]);
    expect(inputsOf(SendMessageCommand)).toContainEqual(expect.objectContaining({
      QueueUrl: urls.sourceQueueUrl,
      MessageBody: delivery('1', 'ten_A', 'job_1').Body,
      // The dead-letter reason does not travel back; other attributes do.
      MessageAttributes: { trace: { DataType: 'String', StringValue: 'keep-me' } },
    }));
    expect(inputsOf(DeleteMessageCommand)).toContainEqual(expect.objectContaining({ QueueUrl: urls.deadLetterQueueUrl, ReceiptHandle: 'rh-1' }));
    expect(inputsOf(ChangeMessageVisibilityBatchCommand)).toContainEqual(expect.objectContaining({
      QueueUrl: urls.deadLetterQueueUrl,
      Entries: [{ Id: '0', ReceiptHandle: 'rh-2', VisibilityTimeout: 0 }],
    }));
  });

  it('dry run lists what would move and only releases', async () => {
    mock.on(ReceiveMessageCommand).resolvesOnce({ Messages: [delivery('1', 'ten_A', 'job_1')] }).resolves({});
    const report = await redriveDeadLetters(sqs, { kind: 'deliveries', ...urls, dryRun: true });
    expect(report).toMatchObject({ dryRun: true, leftInPlace: 1 });
    expect(report.matched).toEqual([
      {
        messageId: '1',
        tenantId: 'ten_A',
        jobId: 'job_1',
        batchId: null,
        eventId: 'msg_job_1_completed',
        reason: 'attempts_exhausted',
        detail: 'HTTP 500',
        sentAt: '2026-01-01T00:00:00.000Z',
      },
    ]);
    expect(inputsOf(SendMessageCommand)).toHaveLength(0);
    expect(inputsOf(DeleteMessageCommand)).toHaveLength(0);
    expect(inputsOf(ChangeMessageVisibilityBatchCommand)).toHaveLength(1);
  });

  it('stops at --max and leaves everything else visible', async () => {
    mock.on(ReceiveMessageCommand).resolves({ Messages: [delivery('1', 'ten_A', 'job_1'), delivery('2', 'ten_A', 'job_2')] });
    const report = await redriveDeadLetters(sqs, { kind: 'deliveries', ...urls, max: 1 });
    expect(report.matched.map((m) => m.jobId)).toEqual(['job_1']);
    expect(inputsOf(ReceiveMessageCommand)).toHaveLength(1);
    expect(inputsOf(SendMessageCommand)).toHaveLength(1);
    expect(inputsOf(ChangeMessageVisibilityBatchCommand)).toContainEqual(expect.objectContaining({
      Entries: [{ Id: '0', ReceiptHandle: 'rh-2', VisibilityTimeout: 0 }],
    }));
  });

  it('ends when the queue only returns messages it has already looked at', async () => {
    // Every receive returns the same held message again (its hold ran out): no endless loop.
    mock.on(ReceiveMessageCommand).resolves({ Messages: [delivery('1', 'ten_B', 'job_1')] });
    const report = await redriveDeadLetters(sqs, { kind: 'deliveries', ...urls, filter: { jobId: 'job_other' } });
    expect(report.matched).toEqual([]);
    expect(inputsOf(ReceiveMessageCommand)).toHaveLength(2);
  });

  it('releases what it holds even when a send fails', async () => {
    mock.on(ReceiveMessageCommand).resolvesOnce({ Messages: [delivery('1', 'ten_B', 'job_9'), delivery('2', 'ten_A', 'job_1')] });
    mock.on(SendMessageCommand).rejects(new Error('throttled'));
    await expect(redriveDeadLetters(sqs, { kind: 'deliveries', ...urls, filter: { tenantId: 'ten_A' } })).rejects.toThrow('throttled');
    expect(inputsOf(DeleteMessageCommand)).toHaveLength(0);
    expect(inputsOf(ChangeMessageVisibilityBatchCommand)).toContainEqual(expect.objectContaining({
      Entries: [{ Id: '0', ReceiptHandle: 'rh-1', VisibilityTimeout: 0 }],
    }));
  });
});

describe('describeDeadLetter', () => {
  it('reads job messages, batch deliveries and malformed bodies', () => {
    expect(describeDeadLetter('jobs', { MessageId: 'm', Body: '{"tenant_id":"t","job_id":"j"}' })).toMatchObject({
      tenantId: 't',
      jobId: 'j',
      eventId: null,
      reason: null,
    });
    expect(
      describeDeadLetter('deliveries', { MessageId: 'm', Body: '{"kind":"batch","tenant_id":"t","batch_id":"b","event_id":"e"}' }),
    ).toMatchObject({ tenantId: 't', jobId: null, batchId: 'b', eventId: 'e' });
    expect(describeDeadLetter('deliveries', { MessageId: 'm', Body: 'not json' })).toMatchObject({ tenantId: null, jobId: null });
  });
});
