// Adapter: JobLifecycle port on DynamoDB. Every state change is a conditional UpdateItem whose
// condition is the transition's guard from core/job-state.ts (job-conditions.ts translates it),
// so concurrent extractors cannot process a job twice at once and a cancel cannot race a start.
// Job items carry no metadata (it is stored once, on the batch item), no delivery summary (its
// own small item beside the job, keys.jobDelivery: the callback's updates never rewrite the
// result) and no listing attributes other than one KEYS_ONLY, write-sharded index key.
import { UpdateCommand, type DynamoDBDocumentClient, type UpdateCommandInput } from '@aws-sdk/lib-dynamodb';
import { resolveSettings } from '../../../lib/settings';
import { JOB_TRANSITIONS } from '../../core/job-state';
import type { JobLifecycle, JobOutcomeUpdate, StartProcessingResult } from '../../core/ports';
import type { BatchRecord, JobRecord } from '../../core/records';
import { createBatchMetadataReader } from './batch-metadata';
import { transitionCondition } from './job-conditions';
import { SLOT_CODES, withDeliverySummary } from './item-records';
import { readJobsWithDelivery } from './job-reads';
import { epochSeconds, isConditionalCheckFailed, jobListingSortKey, keys, LISTING_SHARDS, shardOf, conditionally } from './keys';
import { batchPutAll, getConsistent, type JobTableOptions } from './table-io';

/** Callers that do not pass the setting get its default (tests, tools writing batches directly). */
const DEFAULT_OPEN_BATCH_CHECK_SECONDS = resolveSettings().sweeper.openBatchCheckSeconds;

/** The items createBatch writes: the batch (write-once, holds the metadata), its progress, and the jobs. */
export function batchItems(
  batch: BatchRecord,
  jobs: readonly JobRecord[],
  retentionDays: number,
  openBatchCheckSeconds = DEFAULT_OPEN_BATCH_CHECK_SECONDS,
): Record<string, unknown>[] {
  const createdAt = new Date(batch.created_at);
  const expires_at = epochSeconds(createdAt) + retentionDays * 24 * 3600;
  // In the open-batch index until batch.completed is claimed: the sweeper's net for a batch whose
  // last job's progress write was lost (docs/data-model.md, "Recovery paths"). A batch of only
  // duplicates never completes, so it is not open.
  const open = batch.job_ids.length > 0
    ? keys.openBatchIndex(batch.tenant_id, batch.batch_id, new Date(createdAt.getTime() + openBatchCheckSeconds * 1000))
    : {};
  const { counts: _counts, ...batchFields } = batch;
  const slotOf = new Map(batch.job_ids.map((jobId, slot) => [jobId, slot]));
  return [
    { ...keys.batch(batch.tenant_id, batch.batch_id), entity: 'batch', ...batchFields, expires_at },
    {
      ...keys.batchProgress(batch.tenant_id, batch.batch_id),
      entity: 'batch_progress',
      total: batch.job_ids.length,
      slots: batch.job_ids.map(() => SLOT_CODES.pending),
      ...open,
      expires_at,
    },
    ...jobs.map((job) => {
      // The delivery summary is not stored with the job: its own item appears with the first attempt.
      const { metadata, delivery: _delivery, ...fields } = job;
      const slot = slotOf.get(job.job_id);
      return {
        ...keys.job(job.tenant_id, job.job_id),
        entity: 'job',
        ...fields,
        ...(metadata !== null && metadata !== undefined ? { metadata_in_batch: true } : {}),
        ...(slot !== undefined ? { batch_slot: slot } : {}),
        gsi2pk: keys.tenantJobsIndex(job.tenant_id, shardOf(job.job_id, LISTING_SHARDS)),
        gsi2sk: jobListingSortKey(job.created_at, job.job_id),
        expires_at,
      };
    }),
  ];
}

/** SET/REMOVE clauses and values for storing an outcome (completed or failed). */
function outcomeUpdate(outcome: JobOutcomeUpdate, now: Date): { sets: string[]; removes: string[]; names: Record<string, string>; values: Record<string, unknown> } {
  const values: Record<string, unknown> = { ':to': outcome.status, ':at': now.toISOString() };
  const names: Record<string, string> = { '#status': 'status' };
  const sets = ['#status = :to', 'updated_at = :at', 'finished_at = :at'];
  // JOB_TRANSITIONS.finish.deadline: out of the lease index, a terminal job is nobody's to sweep.
  // pending_announcements: a redriven job's earlier deferred webhooks (deferAnnouncement) are not this outcome's.
  const removes = ['lease_until', 'gsi3pk', 'gsi3sk', 'pending_announcements'];
  const assign = (attribute: string, value: unknown) => {
    if (value === undefined) return;
    values[`:${attribute}`] = value;
    names[`#${attribute}`] = attribute;
    sets.push(`#${attribute} = :${attribute}`);
  };
  if (outcome.status === 'completed') {
    assign('media_type', outcome.mediaType);
    assign('result', outcome.result);
    assign('model', outcome.model);
    assign('source', outcome.source);
    assign('usage', outcome.usage);
    assign('provenance', outcome.provenance);
    names['#error'] = 'error';
    removes.push('#error');
  } else {
    assign('error', outcome.error);
    assign('media_type', outcome.mediaType);
    assign('source', outcome.source);
    // Failed only for want of retries: a redrive starts a fresh attempt count.
    if (outcome.error.retryable === true) removes.push('processing_attempts');
  }
  return { sets, removes, names, values };
}

export function createDynamoJobLifecycle(db: DynamoDBDocumentClient, options: JobTableOptions): JobLifecycle {
  const TableName = options.tableName;
  const metadata = createBatchMetadataReader(db, TableName);
  const record = async (item: Record<string, unknown>) => (await metadata.jobRecords([item]))[0]!;

  // Single-job reads issued in the same turn of the event loop (the callback's records of one
  // SQS batch each load their job first) go out as one BatchGetItem; a lone read is one Query.
  // Either way each job comes with its delivery summary item (job-reads.ts).
  let pendingReads: Array<{ key: { pk: string; sk: string }; resolve(item: Record<string, unknown> | undefined): void; reject(error: unknown): void }> = [];
  function readJobItem(key: { pk: string; sk: string }): Promise<Record<string, unknown> | undefined> {
    return new Promise((resolve, reject) => {
      pendingReads.push({ key, resolve, reject });
      if (pendingReads.length > 1) return;
      setImmediate(() => {
        const reads = pendingReads;
        pendingReads = [];
        readJobsWithDelivery(db, TableName, reads.map((read) => read.key)).then(
          (found) => {
            const byPk = new Map(found.map((item) => [String(item.pk), item]));
            for (const read of reads) read.resolve(byPk.get(read.key.pk));
          },
          (error: unknown) => reads.forEach((read) => read.reject(error)),
        );
      });
    });
  }

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
      return { changed: true, job: await record(Attributes!), item: Attributes! };
    } catch (error) {
      if (!isConditionalCheckFailed(error)) throw error;
      const item = await getConsistent(db, TableName, Key);
      const leaseUntil = typeof item?.lease_until === 'string' ? item.lease_until : undefined;
      return { changed: false, job: item ? await record(item) : undefined, ...(leaseUntil ? { leaseUntil } : {}) };
    }
  }

  return {
    async createBatch(batch, jobs) {
      // The batch and progress items go first, in the first call: a job is never written before them.
      await batchPutAll(db, TableName, batchItems(batch, jobs, options.retentionDays, options.openBatchCheckSeconds));
    },

    async getJob(tenantId, jobId) {
      const item = await readJobItem(keys.job(tenantId, jobId));
      return item ? record(item) : undefined;
    },

    async getJobs(tenantId, jobIds) {
      return metadata.jobRecords(await readJobsWithDelivery(db, TableName, jobIds.map((id) => keys.job(tenantId, id))));
    },

    async startProcessing(tenantId, jobId, now, lease): Promise<StartProcessingResult> {
      const condition = transitionCondition('start', now, {
        leaseOwner: lease.owner,
        ...(lease.messageSentAt ? { messageSentAt: lease.messageSentAt.toISOString() } : {}),
      });
      // JOB_TRANSITIONS.start.deadline: in the lease index, due when the lease ends.
      const deadline = keys.leaseIndex(tenantId, jobId, lease.until);
      const { changed, job, leaseUntil: heldUntil, item } = await changeJobState(tenantId, jobId, {
        UpdateExpression:
          'SET #status = :to, lease_until = :lease, lease_owner = :leaseOwner, gsi3pk = :deadlinePk, gsi3sk = :deadlineSk, ' +
          'updated_at = :at, processing_attempts = if_not_exists(processing_attempts, :zero) + :one',
        ConditionExpression: condition.expression,
        ExpressionAttributeNames: { ...condition.names, '#status': 'status' },
        ExpressionAttributeValues: {
          ...condition.values,
          ':to': JOB_TRANSITIONS.start.to[0],
          ':lease': lease.until.toISOString(),
          ':leaseOwner': lease.owner,
          ':deadlinePk': deadline.gsi3pk,
          ':deadlineSk': deadline.gsi3sk,
          ':at': now.toISOString(),
          ':zero': 0,
          ':one': 1,
        },
      });
      if (changed) return { started: true, job: job!, attempt: Number(item!.processing_attempts) };
      return { started: false, job, ...(heldUntil ? { leaseUntil: heldUntil } : {}) };
    },

    async releaseLease(job, now, retryAt) {
      const condition = transitionCondition('release', now);
      // JOB_TRANSITIONS.release.deadline: still in flight, due when its retry is (the sweeper's deadline if the message is lost).
      const deadline = keys.leaseIndex(job.tenant_id, job.job_id, retryAt);
      await conditionally(() =>
        db.send(
          new UpdateCommand({
            TableName,
            Key: keys.job(job.tenant_id, job.job_id),
            UpdateExpression: 'SET #status = :to, updated_at = :at, gsi3pk = :deadlinePk, gsi3sk = :deadlineSk REMOVE lease_until',
            ConditionExpression: condition.expression,
            ExpressionAttributeNames: { ...condition.names, '#status': 'status' },
            ExpressionAttributeValues: {
              ...condition.values,
              ':to': JOB_TRANSITIONS.release.to[0],
              ':at': now.toISOString(),
              ':deadlinePk': deadline.gsi3pk,
              ':deadlineSk': deadline.gsi3sk,
            },
          }),
        ),
      );
    },

    async finish(job, outcome: JobOutcomeUpdate, now) {
      const condition = transitionCondition('finish', now);
      const update = outcomeUpdate(outcome, now);
      return conditionally(() =>
        db.send(
          new UpdateCommand({
            TableName,
            Key: keys.job(job.tenant_id, job.job_id),
            UpdateExpression: `SET ${update.sets.join(', ')} REMOVE ${update.removes.join(', ')}`,
            ConditionExpression: condition.expression,
            ExpressionAttributeNames: { ...condition.names, ...update.names },
            ExpressionAttributeValues: { ...condition.values, ...update.values },
          }),
        ),
      );
    },

    async cancel(tenantId, jobId, now) {
      const condition = transitionCondition('cancel', now);
      const { changed, job } = await changeJobState(tenantId, jobId, {
        // JOB_TRANSITIONS.cancel.deadline: out of the lease index (a job waiting for a retry may be cancelled).
        UpdateExpression: 'SET #status = :to, updated_at = :at, finished_at = :at REMOVE gsi3pk, gsi3sk',
        ConditionExpression: condition.expression,
        ExpressionAttributeNames: { ...condition.names, '#status': 'status' },
        ExpressionAttributeValues: { ...condition.values, ':to': JOB_TRANSITIONS.cancel.to[0], ':at': now.toISOString() },
      });
      if (!job) return { cancelled: changed, job };
      // The caller shows the job: with its real delivery summary (a redriven job may have delivered before).
      const delivery = await getConsistent(db, TableName, keys.jobDelivery(tenantId, jobId));
      return { cancelled: changed, job: { ...job, delivery: withDeliverySummary({}, delivery).delivery as JobRecord['delivery'] } };
    },

    async deferAnnouncement(tenantId, jobId, messages, now) {
      // Back in the lease index, due now: the sweeper finds it after the lease grace (sweep-leases.ts).
      const due = keys.leaseIndex(tenantId, jobId, now);
      return conditionally(() =>
        db.send(
          new UpdateCommand({
            TableName,
            Key: keys.job(tenantId, jobId),
            UpdateExpression: 'SET gsi3pk = :pk, gsi3sk = :sk, pending_announcements = :messages, updated_at = :at',
            // Only a finished job: one in flight is in the index already, under its own lease.
            ConditionExpression: '#status IN (:completed, :failed, :cancelled)',
            ExpressionAttributeNames: { '#status': 'status' },
            ExpressionAttributeValues: {
              ':pk': due.gsi3pk,
              ':sk': due.gsi3sk,
              ':messages': messages,
              ':at': now.toISOString(),
              ':completed': 'completed',
              ':failed': 'failed',
              ':cancelled': 'cancelled',
            },
          }),
        ),
      );
    },
  };
}
