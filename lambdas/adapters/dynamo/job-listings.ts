// Adapter: JobListings port on DynamoDB. A tenant's jobs by time come from the write-sharded,
// KEYS_ONLY gsi2 (merged across shards, newest first); a batch's jobs from its batch item's
// job ids (ascending). Either way the keys are then read, each job with its delivery summary
// item, with consistent BatchGetItems (50 jobs per call) and filtered by status. The cursor is opaque: the last job's key, checked on the way
// back in so it cannot leave the caller's listing (core/list-cursor.ts).
import { GetCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { decodeListCursor } from '../../core/list-cursor';
import type { JobListings, JobListQuery } from '../../core/ports';
import type { JobRecord } from '../../core/records';
import { createBatchMetadataReader } from './batch-metadata';
import { jobListingSortKey, keys, listingShards } from './keys';
import { mergeShards, take } from './sharded-listing';
import { readJobsWithDelivery } from './job-reads';

export function createDynamoJobListings(db: DynamoDBDocumentClient, options: { readonly tableName: string }): JobListings {
  const TableName = options.tableName;
  const metadata = createBatchMetadataReader(db, TableName);

  /** Reads the jobs behind `ids` (in that order) and keeps those the query's filters accept. */
  async function jobsFor(tenantId: string, ids: readonly string[], query: JobListQuery): Promise<Array<{ id: string; job: JobRecord | undefined }>> {
    const items = await readJobsWithDelivery(db, TableName, ids.map((id) => keys.job(tenantId, id)));
    const records = new Map((await metadata.jobRecords(items)).map((job) => [job.job_id, job]));
    return ids.map((id) => {
      const job = records.get(id);
      const accepted = job !== undefined && (!query.status || job.status === query.status) && (!query.since || job.created_at >= query.since);
      return { id, job: accepted ? job : undefined };
    });
  }

  async function listTenantJobs(tenantId: string, query: JobListQuery) {
    const listing = keys.tenantJobsListing(tenantId);
    const after = query.cursor
      ? decodeListCursor(query.cursor, { attributes: ['pk', 'sk', 'gsi2pk', 'gsi2sk'], partitionAttribute: 'gsi2pk', partition: listing, pkPrefix: `TENANT#${tenantId}#` }).gsi2sk
      : undefined;
    const merged = mergeShards(db, TableName, {
      indexName: 'gsi2',
      partitionAttribute: 'gsi2pk',
      sortAttribute: 'gsi2sk',
      partitions: listingShards().map((shard) => keys.tenantJobsIndex(tenantId, shard)),
      order: 'desc',
      ...(query.since ? { from: query.since } : {}),
      ...(after ? { before: after } : {}),
      pageSize: Math.max(10, Math.ceil(query.limit / 2)),
    });
    const jobs: JobRecord[] = [];
    while (jobs.length < query.limit) {
      const entries = await take(merged, query.limit - jobs.length);
      if (entries.length === 0) break;
      const ids = entries.map((entry) => String(entry.pk).slice(`TENANT#${tenantId}#JOB#`.length));
      for (const { job } of await jobsFor(tenantId, ids, query)) if (job) jobs.push(job);
    }
    const last = jobs.at(-1);
    const cursor =
      last && jobs.length === query.limit && (await merged.hasMore())
        ? encodeCursor({ ...keys.job(tenantId, last.job_id), gsi2pk: listing, gsi2sk: jobListingSortKey(last.created_at, last.job_id) })
        : null;
    return { jobs, cursor };
  }

  async function listBatchJobs(tenantId: string, batchId: string, query: JobListQuery) {
    const listing = keys.batch(tenantId, batchId).pk;
    const after = query.cursor
      ? decodeListCursor(query.cursor, { attributes: ['pk', 'sk', 'gsi1pk', 'gsi1sk'], partitionAttribute: 'gsi1pk', partition: listing, pkPrefix: `TENANT#${tenantId}#` }).gsi1sk
      : undefined;
    const { Item } = await db.send(
      new GetCommand({ TableName, Key: keys.batch(tenantId, batchId), ConsistentRead: true, ProjectionExpression: 'job_ids' }),
    );
    const ids = [...((Item?.job_ids as string[] | undefined) ?? [])].sort().filter((id) => after === undefined || id > after);
    const jobs: JobRecord[] = [];
    let next = 0;
    while (jobs.length < query.limit && next < ids.length) {
      const slice = ids.slice(next, next + (query.limit - jobs.length));
      next += slice.length;
      for (const { job } of await jobsFor(tenantId, slice, query)) if (job) jobs.push(job);
    }
    const last = jobs.at(-1);
    const cursor =
      last && jobs.length === query.limit && next < ids.length
        ? encodeCursor({ ...keys.job(tenantId, last.job_id), gsi1pk: listing, gsi1sk: last.job_id })
        : null;
    return { jobs, cursor };
  }

  return {
    async listJobs(tenantId, query) {
      return query.batchId !== undefined ? listBatchJobs(tenantId, query.batchId, query) : listTenantJobs(tenantId, query);
    },
  };
}

/** Opaque to callers; checked on the way back in so a cursor cannot leave the caller's partition. */
function encodeCursor(key: Record<string, string>): string {
  return Buffer.from(JSON.stringify(key)).toString('base64url');
}
