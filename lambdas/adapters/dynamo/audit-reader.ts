// Adapter: the auditors' read side (cli/ audit ...) on DynamoDB. Reads only through the
// documented access patterns (docs/data-model.md): Queries on a partition or on an index key
// range, never a Scan, so an audit costs what it returns, not the size of the table.
import { QueryCommand, type DynamoDBDocumentClient, type QueryCommandInput } from '@aws-sdk/lib-dynamodb';
import type { BatchRecord, DeliveryAttemptRecord, JobRecord } from '../../core/records';
import { toBatchRecord, toJobRecord, withDeliverySummary } from './item-records';
import { JOB_DELIVERY_SK, keys, listingShards, stripStorage } from './keys';
import { mergeShards, take } from './sharded-listing';
import { batchGetAll } from './table-io';

export type AttemptOutcomeFilter = 'delivered' | 'failed';

export interface AttemptWindow {
  /** Inclusive ISO timestamp. */
  readonly since: Date;
  /** Exclusive ISO timestamp. */
  readonly until: Date;
  /** `failed` covers every attempt that did not deliver (retrying, failed, dead_lettered). */
  readonly outcome?: AttemptOutcomeFilter;
  /** Stop after this many attempts. @default no limit */
  readonly limit?: number;
}

/** A job as stored, with the extraction bookkeeping an auditor may want (not shown to integrators). */
export interface AuditedJob extends JobRecord {
  readonly processing_attempts?: number;
  readonly lease_until?: string;
}

export interface JobStory {
  readonly job: AuditedJob;
  /** The job's delivery attempts, oldest first. */
  readonly attempts: DeliveryAttemptRecord[];
  /** The batch the job was submitted in; undefined when it has expired. */
  readonly batch: BatchRecord | undefined;
  /** The batch's own (batch.completed) delivery attempts, oldest first. */
  readonly batchAttempts: DeliveryAttemptRecord[];
}

export interface AuditReader {
  /** Delivery attempts of a tenant that started in [since, until), oldest first. */
  listAttempts(tenantId: string, window: AttemptWindow): Promise<DeliveryAttemptRecord[]>;
  /** Everything stored about one job: undefined when the tenant has no such job. */
  readJobStory(tenantId: string, jobId: string): Promise<JobStory | undefined>;
}

const byStart = (a: DeliveryAttemptRecord, b: DeliveryAttemptRecord) =>
  a.started_at.localeCompare(b.started_at) || a.attempt - b.attempt;

export function createDynamoAuditReader(db: DynamoDBDocumentClient, options: { readonly tableName: string }): AuditReader {
  const TableName = options.tableName;

  async function queryAll(input: Omit<QueryCommandInput, 'TableName' | 'ExclusiveStartKey'>, limit = Infinity) {
    const items: Record<string, unknown>[] = [];
    let ExclusiveStartKey: Record<string, unknown> | undefined;
    do {
      const page = await db.send(new QueryCommand({ TableName, ...input, ExclusiveStartKey }));
      items.push(...(page.Items ?? []));
      ExclusiveStartKey = page.LastEvaluatedKey;
    } while (ExclusiveStartKey && items.length < limit);
    return items.slice(0, limit);
  }

  /** A subject's partition: its own item(s) (JOB + DELIVERY, or BATCH + PROGRESS) and its ATTEMPT# items, in one Query. */
  async function readPartition(pk: string) {
    const items = await queryAll({ KeyConditionExpression: 'pk = :pk', ExpressionAttributeValues: { ':pk': pk }, ConsistentRead: true });
    const attempts = items
      .filter((item) => String(item.sk).startsWith('ATTEMPT#'))
      .map((item) => stripStorage<DeliveryAttemptRecord>(item))
      .sort(byStart);
    const job = items.find((item) => item.sk === 'JOB');
    const subject = job ? withDeliverySummary(job, items.find((item) => item.sk === JOB_DELIVERY_SK)) : items.find((item) => item.sk === 'BATCH');
    const progress = items.find((item) => item.sk === 'PROGRESS');
    return { subject, progress, attempts };
  }

  return {
    async listAttempts(tenantId, window) {
      if (!(window.since.getTime() < window.until.getTime())) throw new RangeError('since must be before until');
      // Sort keys are `<started_at ISO>#<event>#<attempt>`: [since, until) on the bare timestamps
      // covers started_at >= since and < until (same-length ISO strings). The indexes are
      // KEYS_ONLY and write-sharded: merge the shards oldest first, then read the rows. Failed
      // attempts have their own (sparse) listing; delivered ones are the time listing's rest.
      const failedOnly = window.outcome === 'failed';
      const merged = mergeShards(db, TableName, {
        ...(failedOnly
          ? { indexName: 'gsi2', partitionAttribute: 'gsi2pk', sortAttribute: 'gsi2sk' }
          : { indexName: 'gsi1', partitionAttribute: 'gsi1pk', sortAttribute: 'gsi1sk' }),
        partitions: listingShards().map((shard) =>
          failedOnly ? keys.tenantAttemptsByOutcomeIndex(tenantId, 'failed', shard) : keys.tenantAttemptsIndex(tenantId, shard),
        ),
        order: 'asc',
        from: window.since.toISOString(),
        before: window.until.toISOString(),
        pageSize: 100,
      });
      const limit = window.limit ?? Infinity;
      const attempts: DeliveryAttemptRecord[] = [];
      while (attempts.length < limit) {
        const entries = await take(merged, Math.min(100, limit - attempts.length));
        if (entries.length === 0) break;
        const rows = await batchGetAll(db, TableName, entries.map((entry) => ({ pk: String(entry.pk), sk: String(entry.sk) })));
        const records = rows.map((item) => stripStorage<DeliveryAttemptRecord>(item));
        attempts.push(...(window.outcome === 'delivered' ? records.filter((record) => record.outcome === 'delivered') : records));
      }
      return attempts.sort(byStart).slice(0, limit);
    },

    async readJobStory(tenantId, jobId) {
      const { subject: jobItem, attempts } = await readPartition(keys.job(tenantId, jobId).pk);
      if (!jobItem) return undefined;
      const batchPartition = await readPartition(keys.batch(tenantId, String(jobItem.batch_id)).pk);
      // The bookkeeping stays visible to auditors; the metadata comes from the batch item, where it is stored once.
      const job: AuditedJob = {
        ...stripStorage<AuditedJob>(jobItem),
        metadata: toJobRecord(jobItem, (batchPartition.subject?.metadata as Record<string, unknown> | undefined) ?? null).metadata,
      };
      return {
        job,
        attempts,
        batch: batchPartition.subject ? toBatchRecord(batchPartition.subject, batchPartition.progress) : undefined,
        batchAttempts: batchPartition.attempts,
      };
    },
  };
}
