// Adapter: JobRepository port on DynamoDB (single table). State changes are conditional
// writes, so concurrent intakes and extractors cannot create two jobs for one claim,
// process a job twice at once, or emit batch.completed twice.
import {
  BatchGetCommand,
  BatchWriteCommand,
  DeleteCommand,
  GetCommand,
  PutCommand,
  QueryCommand,
  UpdateCommand,
  type DynamoDBDocumentClient,
  type UpdateCommandInput,
} from '@aws-sdk/lib-dynamodb';
import type {
  BatchProgress,
  DedupeReservation,
  DeliverySummaryUpdate,
  JobOutcomeUpdate,
  JobRepository,
  ReservationResult,
  StartProcessingResult,
} from '../../core/ports';
import { deliverySummaryOf, type BatchRecord, type DeliveryAttemptRecord, type JobRecord } from '../../core/records';
import { decodeListCursor } from '../../core/list-cursor';
import { chunk, conditionally, epochSeconds, isConditionalCheckFailed, keys, mapWithConcurrency, OUTBOX_SHARDS, stripStorage } from './keys';

export interface JobRepositoryOptions {
  readonly tableName: string;
  /** Jobs, batches and their attempts expire this long after creation. */
  readonly retentionDays: number;
}

const BATCH_SETS = { completed: 'completed_jobs', failed: 'failed_jobs', cancelled: 'cancelled_jobs' } as const;

export function toJobRecord(item: Record<string, unknown>): JobRecord {
  const { lease_until: _lease, processing_attempts: _attempts, ...rest } = stripStorage<Record<string, unknown>>(item);
  return rest as unknown as JobRecord;
}

export function toBatchRecord(item: Record<string, unknown>): BatchRecord {
  const stored = stripStorage<Record<string, unknown>>(item);
  const size = (name: string) => (stored[name] instanceof Set ? (stored[name] as Set<string>).size : 0);
  const { completed_jobs: _c, failed_jobs: _f, cancelled_jobs: _x, completed_event_by: _by, ...rest } = stored;
  return {
    ...(rest as unknown as BatchRecord),
    counts: { completed: size(BATCH_SETS.completed), failed: size(BATCH_SETS.failed), cancelled: size(BATCH_SETS.cancelled) },
  };
}

export function createDynamoJobRepository(db: DynamoDBDocumentClient, options: JobRepositoryOptions): JobRepository {
  const TableName = options.tableName;
  const retentionSeconds = options.retentionDays * 24 * 3600;

  async function getConsistent(key: Record<string, string>): Promise<Record<string, unknown> | undefined> {
    const { Item } = await db.send(new GetCommand({ TableName, Key: key, ConsistentRead: true }));
    return Item;
  }

  /**
   * A conditional state change of a job that returns the job either way: as changed, or as it
   * stands when the condition did not hold (dynalite ignores ReturnValuesOnConditionCheckFailure).
   */
  async function changeJobState(
    tenantId: string,
    jobId: string,
    update: Omit<UpdateCommandInput, 'TableName' | 'Key' | 'ReturnValues'>,
  ): Promise<{ changed: boolean; job: JobRecord | undefined; leaseUntil?: string }> {
    const Key = keys.job(tenantId, jobId);
    try {
      const { Attributes } = await db.send(new UpdateCommand({ TableName, Key, ...update, ReturnValues: 'ALL_NEW' }));
      return { changed: true, job: toJobRecord(Attributes!) };
    } catch (error) {
      if (!isConditionalCheckFailed(error)) throw error;
      const item = await getConsistent(Key);
      const leaseUntil = typeof item?.lease_until === 'string' ? item.lease_until : undefined;
      return { changed: false, job: item ? toJobRecord(item) : undefined, ...(leaseUntil ? { leaseUntil } : {}) };
    }
  }

  async function reserveOne(reservation: DedupeReservation): Promise<ReservationResult> {
    const key = keys.dedupe(reservation.tenantId, reservation.dedupeKey);
    try {
      await db.send(
        new PutCommand({
          TableName,
          Item: {
            ...key,
            entity: 'dedupe',
            job_id: reservation.jobId,
            reserved_at: reservation.now.toISOString(),
            expires_at: epochSeconds(reservation.expiresAt),
          },
          // An expired claim (TTL deletion lags by up to days) counts as absent.
          ConditionExpression: 'attribute_not_exists(pk) OR expires_at < :now',
          ExpressionAttributeValues: { ':now': epochSeconds(reservation.now) },
        }),
      );
      return { reserved: true, jobId: reservation.jobId };
    } catch (error) {
      if (!isConditionalCheckFailed(error)) throw error;
      const existing = await getConsistent(key);
      if (!existing) return reserveOne(reservation); // deleted in between: try again
      return { reserved: false, jobId: String(existing.job_id), reservedAt: String(existing.reserved_at) };
    }
  }

  async function releaseClaims(reservations: readonly DedupeReservation[]): Promise<void> {
    await mapWithConcurrency(reservations, 16, async (reservation) => {
      await conditionally(() =>
        db.send(
          new DeleteCommand({
            TableName,
            Key: keys.dedupe(reservation.tenantId, reservation.dedupeKey),
            ConditionExpression: 'job_id = :job',
            ExpressionAttributeValues: { ':job': reservation.jobId },
          }),
        ),
      );
    });
  }

  async function batchWrite(items: Record<string, unknown>[]): Promise<void> {
    for (const group of chunk(items, 25)) {
      let requests = group.map((Item) => ({ PutRequest: { Item } }));
      for (let round = 0; requests.length > 0; round++) {
        if (round === 5) throw new Error(`BatchWriteItem left ${requests.length} items unprocessed after retries`);
        const { UnprocessedItems } = await db.send(new BatchWriteCommand({ RequestItems: { [TableName]: requests } }));
        requests = (UnprocessedItems?.[TableName] ?? []) as typeof requests;
        if (requests.length > 0) await new Promise((resolve) => setTimeout(resolve, 50 * 2 ** round));
      }
    }
  }

  return {
    async reserve(reservations) {
      // Every claim runs to its end before anything is decided: a fail-fast Promise.all would
      // leave the claims that succeeded behind, answered later as duplicates of jobs that never exist.
      const settled = await mapWithConcurrency(reservations, 16, (reservation) =>
        reserveOne(reservation).then(
          (result) => ({ ok: true as const, result }),
          (error: unknown) => ({ ok: false as const, error }),
        ),
      );
      const failure = settled.find((outcome) => !outcome.ok);
      if (failure && !failure.ok) {
        const made = reservations.filter((_, i) => {
          const outcome = settled[i]!;
          return outcome.ok && outcome.result.reserved;
        });
        await releaseClaims(made).catch(() => undefined); // a leftover claim goes stale and is taken over
        throw failure.error;
      }
      return settled.map((outcome) => (outcome as { ok: true; result: ReservationResult }).result);
    },

    async takeOverReservation(reservation, staleJobId) {
      return conditionally(() =>
        db.send(
          new UpdateCommand({
            TableName,
            Key: keys.dedupe(reservation.tenantId, reservation.dedupeKey),
            UpdateExpression: 'SET job_id = :job, reserved_at = :now, expires_at = :expires',
            ConditionExpression: 'job_id = :stale',
            ExpressionAttributeValues: {
              ':job': reservation.jobId,
              ':now': reservation.now.toISOString(),
              ':expires': epochSeconds(reservation.expiresAt),
              ':stale': staleJobId,
            },
          }),
        ),
      );
    },

    releaseReservations: releaseClaims,

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
      await batchWrite(items);
    },

    async openEnqueueOutbox(entry) {
      await db.send(
        new PutCommand({
          TableName,
          Item: {
            ...keys.enqueueOutbox(entry.batchId, entry.createdAt),
            entity: 'outbox',
            tenant_id: entry.tenantId,
            batch_id: entry.batchId,
            job_ids: [...entry.jobIds],
            created_at: entry.createdAt,
            // Long after any sweep: only a stack whose sweeper never ran keeps one this long.
            expires_at: epochSeconds(new Date(entry.createdAt)) + retentionSeconds,
          },
        }),
      );
    },

    async closeEnqueueOutbox(entry) {
      await db.send(new DeleteCommand({ TableName, Key: keys.enqueueOutbox(entry.batchId, entry.createdAt) }));
    },

    async listStaleEnqueueOutbox(before, limit) {
      const shards = Array.from({ length: OUTBOX_SHARDS }, (_, shard) => shard);
      const perShard = await mapWithConcurrency(shards, OUTBOX_SHARDS, async (shard) => {
        const { Items } = await db.send(
          new QueryCommand({
            TableName,
            KeyConditionExpression: 'pk = :pk AND sk < :before',
            ExpressionAttributeValues: { ':pk': keys.enqueueOutboxShard(shard), ':before': before.toISOString() },
            Limit: limit,
            ConsistentRead: true,
          }),
        );
        return Items ?? [];
      });
      return perShard
        .flat()
        .map((item) => ({
          tenantId: String(item.tenant_id),
          batchId: String(item.batch_id),
          jobIds: (item.job_ids as string[] | undefined) ?? [],
          createdAt: String(item.created_at),
        }))
        .sort((a, b) => (a.createdAt < b.createdAt ? -1 : a.createdAt > b.createdAt ? 1 : 0))
        .slice(0, limit);
    },

    async getJob(tenantId, jobId) {
      const item = await getConsistent(keys.job(tenantId, jobId));
      return item ? toJobRecord(item) : undefined;
    },

    async getJobs(tenantId, jobIds) {
      const found: JobRecord[] = [];
      for (const group of chunk([...new Set(jobIds)], 100)) {
        let requestKeys: Record<string, unknown>[] = group.map((id) => keys.job(tenantId, id));
        for (let round = 0; requestKeys.length > 0 && round < 5; round++) {
          const { Responses, UnprocessedKeys } = await db.send(
            new BatchGetCommand({ RequestItems: { [TableName]: { Keys: requestKeys, ConsistentRead: true } } }),
          );
          found.push(...(Responses?.[TableName] ?? []).map(toJobRecord));
          requestKeys = (UnprocessedKeys?.[TableName]?.Keys ?? []) as Record<string, unknown>[];
        }
      }
      return found;
    },

    async getBatch(tenantId, batchId) {
      const item = await getConsistent(keys.batch(tenantId, batchId));
      return item ? toBatchRecord(item) : undefined;
    },

    async startProcessing(tenantId, jobId, now, leaseUntil): Promise<StartProcessingResult> {
      const { changed, job, leaseUntil: heldUntil } = await changeJobState(tenantId, jobId, {
        UpdateExpression:
          'SET #status = :processing, lease_until = :lease, updated_at = :now, ' +
          'processing_attempts = if_not_exists(processing_attempts, :zero) + :one',
        // queued; or processing under a lease that ran out (its worker died);
        // or failed only because retries ran out (an operator redrove it).
        ConditionExpression:
          'attribute_exists(pk) AND (#status = :queued OR (#status = :processing AND lease_until < :now) ' +
          'OR (#status = :failed AND #error.retryable = :true))',
        ExpressionAttributeNames: { '#status': 'status', '#error': 'error' },
        ExpressionAttributeValues: {
          ':processing': 'processing',
          ':queued': 'queued',
          ':failed': 'failed',
          ':true': true,
          ':lease': leaseUntil.toISOString(),
          ':now': now.toISOString(),
          ':zero': 0,
          ':one': 1,
        },
      });
      return changed ? { started: true, job: job! } : { started: false, job, ...(heldUntil ? { leaseUntil: heldUntil } : {}) };
    },

    async releaseLease(job, now) {
      await conditionally(() =>
        db.send(
          new UpdateCommand({
            TableName,
            Key: keys.job(job.tenant_id, job.job_id),
            UpdateExpression: 'SET #status = :queued, updated_at = :now REMOVE lease_until',
            ConditionExpression: '#status = :processing',
            ExpressionAttributeNames: { '#status': 'status' },
            ExpressionAttributeValues: { ':queued': 'queued', ':processing': 'processing', ':now': now.toISOString() },
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
      const removes = ['lease_until'];
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
        assign('provenance', outcome.provenance);
        removes.push('#error');
      } else {
        assign('error', outcome.error);
        assign('media_type', outcome.mediaType);
        assign('source', outcome.source);
      }
      const names: Record<string, string> = { '#status': 'status', '#error': 'error' };
      for (const attribute of ['media_type', 'result', 'model', 'source', 'usage', 'provenance']) names[`#${attribute}`] = attribute;
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

    async recordBatchProgress(tenantId, batchId, jobId, status): Promise<BatchProgress> {
      const { Attributes } = await db.send(
        new UpdateCommand({
          TableName,
          Key: keys.batch(tenantId, batchId),
          // A set makes this idempotent: recording the same job twice counts it once.
          UpdateExpression: `ADD ${BATCH_SETS[status]} :job`,
          ConditionExpression: 'attribute_exists(pk)',
          ExpressionAttributeValues: { ':job': new Set([jobId]) },
          ReturnValues: 'ALL_NEW',
        }),
      );
      const batch = toBatchRecord(Attributes!);
      return { total: batch.total, ...batch.counts };
    },

    async claimBatchCompletion(tenantId, batchId, jobId, now) {
      return conditionally(() =>
        db.send(
          new UpdateCommand({
            TableName,
            Key: keys.batch(tenantId, batchId),
            UpdateExpression: 'SET completed_event_at = if_not_exists(completed_event_at, :now), completed_event_by = :job',
            ConditionExpression: 'attribute_not_exists(completed_event_at) OR completed_event_by = :job',
            ExpressionAttributeValues: { ':now': now.toISOString(), ':job': jobId },
          }),
        ),
      );
    },

    async recordDeliveryOutcome(update: DeliverySummaryUpdate) {
      const key = update.jobId ? keys.job(update.tenantId, update.jobId) : keys.batch(update.tenantId, update.batchId!);
      const delivery = deliverySummaryOf(update);
      // A success always lands; a failure never overwrites a success of the same event, nor the
      // outcome of a later attempt (two receipts of one message racing).
      const guard =
        update.status === 'delivered'
          ? { ConditionExpression: 'attribute_exists(pk)' }
          : {
              ConditionExpression:
                'attribute_exists(pk) AND (attribute_not_exists(delivery.event_id) OR delivery.event_id <> :event ' +
                'OR (delivery.#status <> :delivered AND (attribute_not_exists(delivery.attempts) OR delivery.attempts <= :attempt)))',
              ExpressionAttributeNames: { '#status': 'status' },
            };
      await conditionally(() =>
        db.send(
          new UpdateCommand({
            TableName,
            Key: key,
            UpdateExpression: 'SET delivery = :delivery',
            ...guard,
            ExpressionAttributeValues: {
              ':delivery': delivery,
              ...(update.status === 'delivered'
                ? {}
                : { ':event': update.eventId, ':delivered': 'delivered', ':attempt': update.attempt }),
            },
          }),
        ),
      );
    },

    async cancel(tenantId, jobId, now) {
      const { changed, job } = await changeJobState(tenantId, jobId, {
        UpdateExpression: 'SET #status = :cancelled, updated_at = :now, finished_at = :now',
        ConditionExpression: 'attribute_exists(pk) AND #status = :queued',
        ExpressionAttributeNames: { '#status': 'status' },
        ExpressionAttributeValues: { ':cancelled': 'cancelled', ':queued': 'queued', ':now': now.toISOString() },
      });
      return { cancelled: changed, job };
    },

    async listJobs(tenantId, query) {
      const byBatch = query.batchId !== undefined;
      const partition = byBatch ? keys.batchJobsIndex(tenantId, query.batchId!) : keys.tenantJobsIndex(tenantId);
      const [index, pkName, skName] = byBatch ? ['gsi1', 'gsi1pk', 'gsi1sk'] : ['gsi2', 'gsi2pk', 'gsi2sk'];
      const startKey = query.cursor
        ? decodeListCursor(query.cursor, {
            attributes: ['pk', 'sk', pkName, skName],
            partitionAttribute: pkName,
            partition,
            pkPrefix: `${partition.split('#').slice(0, 2).join('#')}#`,
          })
        : undefined;
      const names: Record<string, string> = {};
      const values: Record<string, unknown> = { ':pk': partition, ':job': 'job' };
      const filters = ['entity = :job'];
      if (query.status) {
        names['#status'] = 'status';
        values[':status'] = query.status;
        filters.push('#status = :status');
      }
      if (query.since) {
        values[':since'] = query.since;
        filters.push('created_at >= :since');
      }
      // Tenant listings read newest first; the since bound can then go into the key condition.
      const keyCondition = !byBatch && query.since ? `${pkName} = :pk AND ${skName} >= :since` : `${pkName} = :pk`;
      const jobs: JobRecord[] = [];
      let ExclusiveStartKey = startKey;
      do {
        const page = await db.send(
          new QueryCommand({
            TableName,
            IndexName: index,
            KeyConditionExpression: keyCondition,
            FilterExpression: filters.join(' AND '),
            ...(Object.keys(names).length > 0 ? { ExpressionAttributeNames: names } : {}),
            ExpressionAttributeValues: values,
            ScanIndexForward: byBatch,
            Limit: query.limit,
            ExclusiveStartKey,
          }),
        );
        jobs.push(...(page.Items ?? []).map(toJobRecord));
        ExclusiveStartKey = page.LastEvaluatedKey;
      } while (ExclusiveStartKey && jobs.length < query.limit);
      const page = jobs.slice(0, query.limit);
      const last = page.at(-1);
      const more = jobs.length > query.limit || ExclusiveStartKey !== undefined;
      const cursor =
        more && last
          ? encodeCursor(
              byBatch
                ? { ...keys.job(tenantId, last.job_id), gsi1pk: partition, gsi1sk: last.job_id }
                : { ...keys.job(tenantId, last.job_id), gsi2pk: partition, gsi2sk: `${last.created_at}#${last.job_id}` },
            )
          : null;
      return { jobs: page, cursor };
    },

    async listAttempts(tenantId, jobId) {
      const attempts: DeliveryAttemptRecord[] = [];
      let ExclusiveStartKey: Record<string, unknown> | undefined;
      do {
        const page = await db.send(
          new QueryCommand({
            TableName,
            KeyConditionExpression: 'pk = :pk AND begins_with(sk, :attempt)',
            ExpressionAttributeValues: { ':pk': keys.job(tenantId, jobId).pk, ':attempt': 'ATTEMPT#' },
            ExclusiveStartKey,
          }),
        );
        attempts.push(...(page.Items ?? []).map((item) => stripStorage<DeliveryAttemptRecord>(item)));
        ExclusiveStartKey = page.LastEvaluatedKey;
      } while (ExclusiveStartKey);
      return attempts.sort((a, b) => a.started_at.localeCompare(b.started_at) || a.attempt - b.attempt);
    },
  };
}

/** Opaque to callers; checked on the way back in so a cursor cannot leave the caller's partition. */
function encodeCursor(key: Record<string, string>): string {
  return Buffer.from(JSON.stringify(key)).toString('base64url');
}
