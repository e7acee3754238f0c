// Adapter: StalledJobs port on DynamoDB. Jobs in flight carry the sparse, write-sharded lease
// index keys (gsi3, keys only; lambdas/adapters/dynamo/keys.ts): one Query per shard finds those
// past a deadline, and a requeue is a conditional UpdateItem on the deadline the job was found with.
import { GetCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { DeliveryMessage, StalledJobs } from '../../core/ports';
import { conditionally, keys, parseLeaseIndexKey } from './keys';
import { listOverdueEntries } from './overdue-index';

const TERMINAL = ['completed', 'failed', 'cancelled'];

export function createDynamoStalledJobs(db: DynamoDBDocumentClient, options: { readonly tableName: string }): StalledJobs {
  const TableName = options.tableName;
  return {
    listOverdue: (before, limit) =>
      listOverdueEntries(db, { tableName: TableName, shardKey: keys.leaseIndexShard, parse: parseLeaseIndexKey, dueAt: (job) => job.deadline }, before, limit),

    async claimRequeue(job, now, nextDeadline) {
      const Key = keys.job(job.tenantId, job.jobId);
      // The index is eventually consistent: read the job itself before deciding.
      const { Item } = await db.send(new GetCommand({ TableName, Key, ConsistentRead: true }));
      const seen = keys.leaseIndex(job.tenantId, job.jobId, new Date(job.deadline)).gsi3sk;
      if (!Item || Item.gsi3sk !== seen) return undefined;
      const requeues = Number(Item.requeues ?? 0) + 1;
      const deadline = nextDeadline(requeues);
      const next = keys.leaseIndex(job.tenantId, job.jobId, deadline);
      // A finished job is in the index only for the webhooks its extractor could not queue
      // (JobLifecycle.deferAnnouncement); anything else there is in flight.
      const messages = Array.isArray(Item.pending_announcements) ? (Item.pending_announcements as DeliveryMessage[]) : undefined;
      const announce = messages !== undefined && TERMINAL.includes(String(Item.status));
      const claimed = await conditionally(() =>
        db.send(
          new UpdateCommand({
            TableName,
            Key,
            UpdateExpression: 'SET gsi3pk = :pk, gsi3sk = :next, requeues = :requeues, updated_at = :now',
            ConditionExpression: announce
              ? 'gsi3sk = :seen AND attribute_exists(pending_announcements)'
              : 'gsi3sk = :seen AND #status IN (:processing, :queued)',
            ...(announce ? {} : { ExpressionAttributeNames: { '#status': 'status' } }),
            ExpressionAttributeValues: {
              ':pk': next.gsi3pk,
              ':next': next.gsi3sk,
              ':seen': seen,
              ':requeues': requeues,
              ':now': now.toISOString(),
              ...(announce ? {} : { ':processing': 'processing', ':queued': 'queued' }),
            },
          }),
        ),
      );
      if (!claimed) return undefined;
      return announce
        ? { kind: 'announce', requeues, deadline: deadline.toISOString(), messages }
        : { kind: 'requeue', requeues, deadline: deadline.toISOString() };
    },

    async closeAnnouncement(job) {
      const at = keys.leaseIndex(job.tenantId, job.jobId, new Date(job.deadline)).gsi3sk;
      // Conditional on the claim's deadline: a job redriven meanwhile is in flight under its own lease.
      await conditionally(() =>
        db.send(
          new UpdateCommand({
            TableName,
            Key: keys.job(job.tenantId, job.jobId),
            UpdateExpression: 'REMOVE gsi3pk, gsi3sk, pending_announcements',
            ConditionExpression: 'gsi3sk = :at',
            ExpressionAttributeValues: { ':at': at },
          }),
        ),
      );
    },
  };
}
