// Adapter: JobLifecycle port on DynamoDB. Every state change is a conditional UpdateItem, so
// concurrent extractors cannot process a job twice at once and a cancel cannot race a start.
import { UpdateCommand, type DynamoDBDocumentClient, type UpdateCommandInput } from '@aws-sdk/lib-dynamodb';
import type { JobLifecycle, JobOutcomeUpdate, StartProcessingResult } from '../../core/ports';
import type { JobRecord } from '../../core/records';
import { toJobRecord } from './item-records';
import { conditionally, epochSeconds, isConditionalCheckFailed, keys } from './keys';
import { batchGetAll, batchPutAll, getConsistent, type JobTableOptions } from './table-io';

export function createDynamoJobLifecycle(db: DynamoDBDocumentClient, options: JobTableOptions): JobLifecycle {
  const TableName = options.tableName;
  const retentionSeconds = options.retentionDays * 24 * 3600;

  /**
   * A conditional state change of a job that returns the job either way: as changed, or as it
   * stands when the condition did not hold (dynalite ignores ReturnValuesOnConditionCheckFailure).
   */
  async function changeJobState(
    tenantId: string,
    jobId: string,
    update: Omit<UpdateCommandInput, 'TableName' | 'Key' | 'ReturnValues'>,
  ): Promise<{ changed: boolean; job: JobRecord | undefined; leaseUntil?: string; item?: Record<string, unknown> }> {
    const Key = keys.job(tenantId, jobId);
    try {
      const { Attributes } = await db.send(new UpdateCommand({ TableName, Key, ...update, ReturnValues: 'ALL_NEW' }));
      return { changed: true, job: toJobRecord(Attributes!), item: Attributes! };
    } catch (error) {
      if (!isConditionalCheckFailed(error)) throw error;
      const item = await getConsistent(db, TableName, Key);
      const leaseUntil = typeof item?.lease_until === 'string' ? item.lease_until : undefined;
      return { changed: false, job: item ? toJobRecord(item) : undefined, ...(leaseUntil ? { leaseUntil } : {}) };
    }
  }

  return {
    async createBatch(batch, jobs) {
      const expires_at = epochSeconds(new Date(batch.created_at)) + retentionSeconds;
      const { counts: _counts, ...batchFields } = batch;
      const items: Record<string, unknown>[] = [
        { ...keys.batch(batch.tenant_id, batch.batch_id), entity: 'batch', ...batchFields, expires_at },
        ...jobs.map((job) => ({
          ...keys.job(job.tenant_id, job.job_id),
          entity: 'job',
          ...job,
          gsi1pk: keys.batchJobsIndex(job.tenant_id, job.batch_id),
          gsi1sk: job.job_id,
          gsi2pk: keys.tenantJobsIndex(job.tenant_id),
          gsi2sk: `${job.created_at}#${job.job_id}`,
          expires_at,
        })),
      ];
      await batchPutAll(db, TableName, items);
    },

    async getJob(tenantId, jobId) {
      const item = await getConsistent(db, TableName, keys.job(tenantId, jobId));
      return item ? toJobRecord(item) : undefined;
    },

    async getJobs(tenantId, jobIds) {
      const items = await batchGetAll(db, TableName, [...new Set(jobIds)].map((id) => keys.job(tenantId, id)));
      return items.map(toJobRecord);
    },

    async startProcessing(tenantId, jobId, now, lease): Promise<StartProcessingResult> {
      const leaseIndex = keys.leaseIndex(tenantId, jobId, lease.until);
      const { changed, job, leaseUntil: heldUntil, item } = await changeJobState(tenantId, jobId, {
        UpdateExpression:
          'SET #status = :processing, lease_until = :lease, lease_owner = :owner, gsi3pk = :leasePk, gsi3sk = :leaseSk, ' +
          'updated_at = :now, processing_attempts = if_not_exists(processing_attempts, :zero) + :one',
        // queued; or processing under a lease that ran out (its worker died) or that this same
        // message took on an earlier receive (that receive is over: SQS shows a message to one
        // receiver at a time); or failed only because retries ran out, redriven by another message.
        ConditionExpression:
          'attribute_exists(pk) AND (#status = :queued ' +
          'OR (#status = :processing AND (lease_until < :now OR lease_owner = :owner)) ' +
          'OR (#status = :failed AND #error.retryable = :true AND (attribute_not_exists(lease_owner) OR lease_owner <> :owner)))',
        ExpressionAttributeNames: { '#status': 'status', '#error': 'error' },
        ExpressionAttributeValues: {
          ':processing': 'processing',
          ':queued': 'queued',
          ':failed': 'failed',
          ':true': true,
          ':lease': lease.until.toISOString(),
          ':owner': lease.owner,
          ':leasePk': leaseIndex.gsi3pk,
          ':leaseSk': leaseIndex.gsi3sk,
          ':now': now.toISOString(),
          ':zero': 0,
          ':one': 1,
        },
      });
      if (changed) return { started: true, job: job!, attempt: Number(item!.processing_attempts) };
      return { started: false, job, ...(heldUntil ? { leaseUntil: heldUntil } : {}) };
    },

    async releaseLease(job, now, retryAt) {
      await conditionally(() =>
        db.send(
          new UpdateCommand({
            TableName,
            Key: keys.job(job.tenant_id, job.job_id),
            // Stays in the lease index, due when its retry is: the sweeper's deadline if the message is lost.
            UpdateExpression: 'SET #status = :queued, updated_at = :now, gsi3pk = :leasePk, gsi3sk = :leaseSk REMOVE lease_until',
            ConditionExpression: '#status = :processing',
            ExpressionAttributeNames: { '#status': 'status' },
            ExpressionAttributeValues: {
              ':queued': 'queued',
              ':processing': 'processing',
              ':now': now.toISOString(),
              ':leasePk': keys.leaseIndex(job.tenant_id, job.job_id, retryAt).gsi3pk,
              ':leaseSk': keys.leaseIndex(job.tenant_id, job.job_id, retryAt).gsi3sk,
            },
          }),
        ),
      );
    },

    async finish(job, outcome: JobOutcomeUpdate, now) {
      const values: Record<string, unknown> = {
        ':status': outcome.status,
        ':now': now.toISOString(),
        ':processing': 'processing',
      };
      const sets = ['#status = :status', 'updated_at = :now', 'finished_at = :now'];
      // Out of the lease index: a terminal job is nobody's to sweep.
      const removes = ['lease_until', 'gsi3pk', 'gsi3sk'];
      const assign = (attribute: string, value: unknown) => {
        if (value === undefined) return;
        values[`:${attribute}`] = value;
        sets.push(`#${attribute} = :${attribute}`);
      };
      if (outcome.status === 'completed') {
        assign('media_type', outcome.mediaType);
        assign('result', outcome.result);
        assign('model', outcome.model);
        assign('source', outcome.source);
        assign('usage', outcome.usage);
        removes.push('#error');
      } else {
        assign('error', outcome.error);
        assign('media_type', outcome.mediaType);
        assign('source', outcome.source);
        // Failed only for want of retries: a redrive starts a fresh count.
        if (outcome.error.retryable === true) removes.push('processing_attempts');
      }
      const names: Record<string, string> = { '#status': 'status', '#error': 'error' };
      for (const attribute of ['media_type', 'result', 'model', 'source', 'usage']) names[`#${attribute}`] = attribute;
      const usedNames = Object.fromEntries(
        Object.entries(names).filter(([name]) => sets.some((s) => s.includes(name)) || removes.includes(name)),
      );
      return conditionally(() =>
        db.send(
          new UpdateCommand({
            TableName,
            Key: keys.job(job.tenant_id, job.job_id),
            UpdateExpression: `SET ${sets.join(', ')} REMOVE ${removes.join(', ')}`,
            ConditionExpression: '#status = :processing',
            ExpressionAttributeNames: usedNames,
            ExpressionAttributeValues: values,
          }),
        ),
      );
    },

    async cancel(tenantId, jobId, now) {
      const { changed, job } = await changeJobState(tenantId, jobId, {
        UpdateExpression: 'SET #status = :cancelled, updated_at = :now, finished_at = :now REMOVE gsi3pk, gsi3sk',
        ConditionExpression: 'attribute_exists(pk) AND #status = :queued',
        ExpressionAttributeNames: { '#status': 'status' },
        ExpressionAttributeValues: { ':cancelled': 'cancelled', ':queued': 'queued', ':now': now.toISOString() },
      });
      return { cancelled: changed, job };
    },

  };
}
