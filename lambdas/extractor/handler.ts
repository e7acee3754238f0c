// Handler: jobs queue (SQS, partial batch failures) -> extractJob use case.
// Transient failures postpone the record by the extraction retry schedule; jobs whose
// retries ran out are failed by the use case and dead-lettered here with a reason.
import middy from '@middy/core';
import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import type { Context, SQSEvent, SQSRecord } from 'aws-lambda';
import { TransientJobError } from '../core/errors';
import { extractJob } from '../core/extract-job';
import { parseJobMessage } from '../core/queue-messages';
import { deadLetterMessage, postponeMessage } from '../adapters/sqs-queues';
import { buildExtractorDeps } from './wiring';

const logger = new Logger({ serviceName: 'metahook-extractor' });
// Top-level await: a bad configuration fails the cold start, not the first record.
const { deps, sqs, jobsQueueUrl, jobsDlqUrl, settings } = await buildExtractorDeps(process.env);
const processor = new BatchProcessor(EventType.SQS);

async function processRecord(record: SQSRecord): Promise<void> {
  const receiveCount = Number(record.attributes.ApproximateReceiveCount ?? '1');
  const message = parseJobMessage(record.body);
  if (!message) {
    logger.error('malformed job message dead-lettered', { messageId: record.messageId });
    await deadLetterMessage(sqs, jobsDlqUrl, record.body, 'malformed_message', 'not a job message');
    return;
  }
  try {
    const outcome = await extractJob(deps, message, { receiveCount });
    logger.info('job processed', { ...outcome, tenantId: message.tenant_id, receiveCount });
    if (outcome.outcome === 'failed' && outcome.exhausted) {
      await deadLetterMessage(sqs, jobsDlqUrl, record.body, 'attempts_exhausted', outcome.code);
    }
    if (outcome.outcome === 'held') {
      await deadLetterMessage(sqs, jobsDlqUrl, record.body, outcome.reason, 'tenant is disabled; redrive after enabling it');
    }
  } catch (error) {
    const schedule = settings.extraction.retryScheduleSeconds;
    const step = schedule[Math.min(receiveCount - 1, schedule.length - 1)] ?? 0;
    const delay = error instanceof TransientJobError && error.retryAfterSeconds !== undefined
      ? Math.max(step, error.retryAfterSeconds) : step;
    logger.warn('job will be retried', { jobId: message.job_id, receiveCount, delaySeconds: delay, error: error as Error });
    await postponeMessage(sqs, jobsQueueUrl, record.receiptHandle, delay).catch((cause: unknown) =>
      logger.error('could not postpone job message', { error: cause as Error }));
    throw error;
  }
}

export const handleJobMessages = (event: SQSEvent, context: Context) =>
  // A batch where every record failed is still a normal outcome (retries were scheduled):
  // report it item by item instead of throwing, so the Errors metric means real errors.
  processPartialResponse(event, processRecord, processor, { context, throwOnFullBatchFailure: false });

export const handler = middy(handleJobMessages).use(injectLambdaContext(logger));
