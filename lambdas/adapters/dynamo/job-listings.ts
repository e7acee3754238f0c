// Adapter: JobListings port on DynamoDB: a batch's jobs (gsi1) and a tenant's jobs by time
// (gsi2), paged with an opaque cursor that cannot leave the caller's partition.
import { QueryCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { JobListings } from '../../core/ports';
import type { JobRecord } from '../../core/records';
import { decodeListCursor } from '../../core/list-cursor';
import { toJobRecord } from './item-records';
import { keys } from './keys';

export function createDynamoJobListings(db: DynamoDBDocumentClient, options: { readonly tableName: string }): JobListings {
  const TableName = options.tableName;
  return {
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

  };
}

/** Opaque to callers; checked on the way back in so a cursor cannot leave the caller's partition. */
function encodeCursor(key: Record<string, string>): string {
  return Buffer.from(JSON.stringify(key)).toString('base64url');
}
