// Adapter detail: reading job items together with their delivery summary items (same partition,
// sk JOB and DELIVERY; docs/data-model.md). The summary is a small item of its own so the
// callback's update never rewrites the job's result; reads pay no extra call for it.
import { QueryCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { withDeliverySummary } from './item-records';
import { JOB_DELIVERY_SK } from './keys';
import { batchGetAll } from './table-io';

/**
 * Job items (keys.job) with their delivery summaries, strongly consistent, in any order; missing
 * jobs are left out. One job: one Query of its partition's DELIVERY..JOB range (attempt rows sort
 * before it), which reads both items for 1 RRU. Several: one BatchGetItem of both keys of each
 * (50 jobs per call).
 */
export async function readJobsWithDelivery(
  db: DynamoDBDocumentClient,
  TableName: string,
  jobKeys: readonly { readonly pk: string; readonly sk: string }[],
): Promise<Record<string, unknown>[]> {
  const unique = [...new Map(jobKeys.map((key) => [key.pk, key])).values()];
  if (unique.length === 0) return [];
  const items =
    unique.length === 1
      ? await queryJobAndDelivery(db, TableName, unique[0]!)
      : await batchGetAll(db, TableName, unique.flatMap((key) => [{ pk: key.pk, sk: key.sk }, { pk: key.pk, sk: JOB_DELIVERY_SK }]));
  const deliveries = new Map(items.filter((item) => item.sk === JOB_DELIVERY_SK).map((item) => [String(item.pk), item]));
  return items.filter((item) => item.sk !== JOB_DELIVERY_SK).map((item) => withDeliverySummary(item, deliveries.get(String(item.pk))));
}

async function queryJobAndDelivery(db: DynamoDBDocumentClient, TableName: string, key: { readonly pk: string; readonly sk: string }) {
  const { Items } = await db.send(
    new QueryCommand({
      TableName,
      KeyConditionExpression: 'pk = :pk AND sk BETWEEN :delivery AND :job',
      ExpressionAttributeValues: { ':pk': key.pk, ':delivery': JOB_DELIVERY_SK, ':job': key.sk },
      ConsistentRead: true,
    }),
  );
  return Items ?? [];
}
