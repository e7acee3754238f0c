// Handler: jobs queue (SQS, partial batch failures) -> extractJob use case, then
// job-message-actions.ts decides what becomes of the message and this file carries it out.
// The use case decides retries from the job's stored attempt counter; a retry postpones the record
// by its step (or until another message's lease ends). Jobs whose retries ran out are failed by the
// use case and dead-lettered with a reason, also on the last receive the queue's
// maxReceiveCount allows, so SQS's own move by count stays a net that normally never fires. Before a
// batch runs, fairShare holds back a backlogged tenant's excess records: they are sent again to
// the back of the queue (a fresh message, no receive spent) so other tenants' files go first.
// The records' webhooks go out together after the batch; a record whose webhooks SQS did not take
// is retried, except on its last receive, where they are handed to the sweeper (deferAnnouncement).
import middy from '@middy/core';
import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { captureLambdaHandler } from '@aws-lambda-powertools/tracer/middleware';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import type { Context, SQSEvent, SQSRecord } from 'aws-lambda';
import { extractJob, type ExtractJobOutcome } from '../core/extract-job';
import { actionForError, actionForOutcome, actionForUnsentWebhooks, countedOutcome, isLastReceive, type JobMessageAction } from '../core/job-message-actions';
import { fairShare } from '../core/fair-share';
import { METRIC } from '../core/metric-names';
import type { DeliveryMessage } from '../core/ports';
import { parseJobMessage } from '../core/queue-messages';
import { deadLetterMessage, postponeMessage, queueAgeSeconds, recordSentAt, sendJobMessages } from '../adapters/sqs-queues';
import { BatchLog } from '../adapters/batch-log';
import { emitPoints } from '../adapters/observed-ports';
import { inRecordTrace, recordTraceHeader, processTracer } from '../adapters/tracing';
import { buildExtractorDeps } from './wiring';

const logger = new Logger({ serviceName: 'metahook-extractor' });
// Top-level await: a bad configuration fails the cold start, not the first record.
const { deps, sqs, jobsQueueUrl, jobsDlqUrl, jobsHeldQueueUrl, settings, deliveryBuffer, batchProgress, announcements, metrics } = await buildExtractorDeps(process.env);
const countJob = (outcome: string) => emitPoints(metrics, { outcome }, [[METRIC.jobsProcessed, MetricUnit.Count, 1]]);

async function processRecord(record: SQSRecord, batchLog: BatchLog): Promise<void> {
  const receiveCount = Number(record.attributes.ApproximateReceiveCount ?? '1');
  metrics.addMetric(METRIC.backlogAge, MetricUnit.Seconds, queueAgeSeconds(record, Date.now()));
  const message = parseJobMessage(record.body);
  if (!message) {
    logger.error('malformed job message dead-lettered', { messageId: record.messageId });
    await deadLetterMessage(sqs, jobsDlqUrl, record.body, 'malformed_message', 'not a job message');
    return;
  }
  let outcome: ExtractJobOutcome;
  try {
    const sentAt = recordSentAt(record);
    outcome = await extractJob(deps, message, { messageId: record.messageId, receiveCount, ...(sentAt ? { sentAt } : {}) });
  } catch (error) {
    const action = actionForError(settings, receiveCount, error);
    if (action.kind === 'dead_letter') logger.error('job message dead-lettered on its last receive', { jobId: message.job_id, receiveCount, error: error as Error });
    else logger.warn('job message will be received again', { jobId: message.job_id, receiveCount, error: error as Error, ...action });
    countJob(action.kind === 'dead_letter' ? 'dead_lettered' : 'retried');
    await carryOut(record, action, error);
    return;
  }
  const counted = countedOutcome(outcome);
  countJob(counted);
  batchLog.add(counted, outcome.jobId);
  // The batch's line names every job; only the ones that did not simply complete get a line of their own.
  if (outcome.outcome === 'completed') logger.debug('job processed', { ...outcome, tenantId: message.tenant_id, receiveCount });
  else logger.info('job processed', { ...outcome, tenantId: message.tenant_id, receiveCount });
  const action = actionForOutcome(outcome);
  await carryOut(record, action, outcome.outcome === 'retry' ? new RetryScheduled(`job ${outcome.jobId} retried in ${outcome.delaySeconds}s: ${outcome.reason}`) : undefined);
}

/** Does what job-message-actions.ts decided; a postponed record is reported failed with `failure`. */
async function carryOut(record: SQSRecord, action: JobMessageAction, failure: unknown): Promise<void> {
  if (action.kind === 'dead_letter') {
    await deadLetterMessage(sqs, action.queue === 'held' ? jobsHeldQueueUrl : jobsDlqUrl, record.body, action.reason, action.detail);
  } else if (action.kind === 'postpone') {
    await postpone(record, action.seconds);
    throw failure;
  }
}

/** Time kept back from the webhook flush for what follows it (deferring an announcement: one UpdateItem). */
const FLUSH_RESERVE_MS = 1000;

/**
 * A finished job's webhooks SQS did not take on its message's last receive: SQS would dead-letter
 * the message by count with no reason, and nothing else would announce the job (it is out of the
 * lease index). Hands them to the sweeper instead (JobLifecycle.deferAnnouncement) and lets the
 * message go. Only on this failure path: one UpdateItem. If that write fails too (a second fault),
 * the record fails as before and the DLQ alarm is the only trace (docs/data-model.md).
 */
async function deferAnnouncement(record: SQSRecord, messages: readonly DeliveryMessage[]): Promise<boolean> {
  const message = parseJobMessage(record.body)!;
  try {
    const deferred = await announcements.deferAnnouncement(message.tenant_id, message.job_id, messages, new Date());
    if (deferred) {
      logger.warn('webhooks of a finished job handed to the sweeper on its last receive', { jobId: message.job_id, events: messages.map((m) => m.event_id) });
      countJob('announcement_deferred');
    }
    return deferred;
  } catch (error) {
    logger.error('could not hand a finished job\'s webhooks to the sweeper', { jobId: message.job_id, error: error as Error });
    return false;
  }
}

/**
 * How long a record on its last receive still gets once its batch-mates stop waiting for its
 * progress (and it for theirs): enough for the one gathered write and its webhook being queued.
 */
const PROGRESS_RELEASE_GRACE_MS = 500;

/** Time kept back from a record on its last receive for that grace, dead-lettering it and the flush after. */
const LAST_RECEIVE_RESERVE_MS = PROGRESS_RELEASE_GRACE_MS + 2 * FLUSH_RESERVE_MS;

/** What a record's work is told when the handler stops waiting for it (see onLastReceiveInTime). */
interface GivingUp {
  /** Aborts at the budget: the record's progress is no longer gathered with its batch-mates'. */
  readonly progressReleased?: AbortSignal;
  /** Aborts when it is dead-lettered: from then on what it queues is sent at once. */
  readonly abandoned?: AbortSignal;
}

/**
 * On the last receive SQS allows, a record that would outlast the invocation (a hung DynamoDB or S3
 * call) is dead-lettered with a reason in time, instead of the timeout leaving SQS to move it by
 * count without one. What it already queued (a finished job's webhooks) is still flushed; a job
 * left in flight is the stalled-job sweep's, a missed progress slot the open-batch sweep's.
 * Earlier receives are left to the timeout: the message comes back and takes its lease back.
 * At the budget, the record's progress stops being gathered with its batch-mates' first: a
 * batch-mate that finished in time but waits on the stalled record's progress is then written and
 * gets PROGRESS_RELEASE_GRACE_MS to end, instead of being dead-lettered with it. The work given up
 * on is abandoned, not stopped: if its call answers, it carries on, also in a later invocation of
 * this environment, and what it writes or queues then goes out at once, not into this batch's
 * buffers (a redrive of the dead letter finds the job finished and announces it again, under the
 * same webhook-ids).
 */
async function onLastReceiveInTime(record: SQSRecord, context: Context, work: (givingUp: GivingUp) => Promise<void>): Promise<void> {
  const receiveCount = Number(record.attributes.ApproximateReceiveCount ?? '1');
  const budget = context.getRemainingTimeInMillis() - LAST_RECEIVE_RESERVE_MS;
  if (!isLastReceive(settings, receiveCount) || budget <= 0) return work({});
  const release = new AbortController();
  const abandon = new AbortController();
  const done = work({ progressReleased: release.signal, abandoned: abandon.signal }).then(() => 'done' as const);
  if ((await doneWithin(done, budget)) === 'done') return;
  release.abort();
  if ((await doneWithin(done, PROGRESS_RELEASE_GRACE_MS)) === 'done') return;
  abandon.abort();
  logger.error('job message dead-lettered on its last receive: out of time', { messageId: record.messageId, receiveCount });
  countJob('dead_lettered');
  await deadLetterMessage(sqs, jobsDlqUrl, record.body, 'handler_timeout', 'the last receive would have outlasted the function timeout');
}

/** `done` if `work` settles within `ms` (its rejection is the caller's), else `late`. */
async function doneWithin(work: Promise<'done'>, ms: number): Promise<'done' | 'late'> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([work, new Promise<'late'>((resolve) => { timer = setTimeout(() => resolve('late'), ms); })]).finally(() => clearTimeout(timer));
}

/** Marks a record failed for the batch response; its visibility already says when it comes back. */
class RetryScheduled extends Error {
  override readonly name = 'RetryScheduled';
}

const postpone = (record: SQSRecord, seconds: number) =>
  postponeMessage(sqs, jobsQueueUrl, record.receiptHandle, seconds).catch((cause: unknown) =>
    logger.error('could not postpone job message', { error: cause as Error }));

/** Each record in its job's own trace (see adapters/tracing.ts: a batch mixes many traces). */
function traceRecord(record: SQSRecord, batchLog: BatchLog): Promise<void> {
  const message = parseJobMessage(record.body);
  const annotations = { tenant_id: message?.tenant_id, job_id: message?.job_id };
  return inRecordTrace('metahook-extractor', recordTraceHeader(record), annotations, () => processRecord(record, batchLog));
}

/** Requeues the held-back records; the ones whose send failed are reported failed (SQS retries them). */
async function requeue(records: readonly SQSRecord[]): Promise<string[]> {
  if (records.length === 0) return [];
  try {
    await sendJobMessages(sqs, jobsQueueUrl, records.map((record) => parseJobMessage(record.body)!), records.map(recordTraceHeader));
    logger.info('records requeued for tenant fairness', { count: records.length, tenantId: parseJobMessage(records[0]!.body)?.tenant_id });
    return [];
  } catch (error) {
    logger.warn('could not requeue records held back for fairness', { error: error as Error });
    return records.map((record) => record.messageId);
  }
}

export async function handleJobMessages(event: SQSEvent, context: Context) {
  const now = Date.now();
  const { run, requeue: heldBack } = fairShare(
    event.Records.map((record) => ({
      record,
      tenantId: parseJobMessage(record.body)?.tenant_id,
      dwellSeconds: queueAgeSeconds(record, now),
    })),
    settings.fairness,
  );
  const requeueFailures = await requeue(heldBack.map((entry) => entry.record));
  // Both per invocation: invocations that overlap in one process (the local stack's concurrent
  // pollers, an abandoned timed-out one) must neither flush each other's webhooks nor report each
  // other's records (BatchProcessor keeps them as state); either let a record be deleted while its
  // webhook was unsent or its retry was due.
  const deliveries = deliveryBuffer.begin();
  const processor = new BatchProcessor(EventType.SQS);
  const batchLog = new BatchLog();
  // A batch where every record failed is still a normal outcome (retries were scheduled):
  // report it item by item instead of throwing, so the Errors metric means real errors.
  const response = run.length > 0
    ? await processPartialResponse(
      { Records: run.map((entry) => entry.record) },
      (record: SQSRecord) => onLastReceiveInTime(record, context, ({ progressReleased, abandoned }) =>
        batchProgress.run(() => deliveries.run(record.messageId, () => traceRecord(record, batchLog), abandoned), progressReleased)),
      processor,
      { context, throwOnFullBatchFailure: false },
    )
    : { batchItemFailures: [] };
  // The batch's webhooks in one SendMessageBatch per 10; a record whose webhook SQS refused is retried.
  // A hung send is given up in time to act on it (FLUSH_RESERVE_MS), not left to the function's timeout.
  const undelivered = await deliveries.flush(context.getRemainingTimeInMillis() - FLUSH_RESERVE_MS);
  if (undelivered.length > 0) {
    logger.warn('webhook messages not queued; their records will be retried (or, on the last receive, handed to the sweeper)', { count: undelivered.length });
  }
  const retried = await Promise.all(undelivered.map(async ({ owner, messages }) => {
    const record = run.find((entry) => entry.record.messageId === owner)!.record;
    const receiveCount = Number(record.attributes.ApproximateReceiveCount ?? '1');
    const action = actionForUnsentWebhooks(settings, receiveCount);
    if (action.kind === 'defer_to_sweeper' && (await deferAnnouncement(record, messages))) return undefined;
    // Not deferred (or the deferral failed too): retried on the extraction schedule.
    await postpone(record, (action.kind === 'postpone' ? action : action.otherwise).seconds);
    return owner;
  }));
  batchLog.write(logger, 'job messages processed');
  const failed = new Set([...response.batchItemFailures.map((f) => f.itemIdentifier), ...requeueFailures, ...retried.filter((id) => id !== undefined)]);
  return { batchItemFailures: [...failed].map((itemIdentifier) => ({ itemIdentifier })) };
}

export const handler = middy(handleJobMessages).use(injectLambdaContext(logger)).use(captureLambdaHandler(processTracer(), { captureResponse: false }))
  .use(logMetrics(metrics));
