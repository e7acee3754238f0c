// Adapter: DeliveryAttemptLog port on DynamoDB. One item per attempt, in the subject's
// partition (a job's story is one Query) and indexed (KEYS_ONLY, write-sharded) by tenant+time
// and, for attempts that did not deliver, tenant+failed+time, so auditors never need a scan. Rows are written once (attribute_not_exists): an audit row is
// never overwritten, and a second writer of the same attempt number learns it lost.
import { PutCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { DeliveryAttemptLog } from '../../core/ports';
import { attemptListingSortKey, conditionally, epochSeconds, keys, LISTING_SHARDS, shardOf } from './keys';

export function createDynamoAttemptLog(
  db: DynamoDBDocumentClient,
  options: { readonly tableName: string; readonly retentionDays: number },
): DeliveryAttemptLog {
  return {
    async record(attempt) {
      const sortKey = attemptListingSortKey(attempt.started_at, attempt.event_id, attempt.attempt);
      // One event's attempts share a shard; a tenant's events spread over all of them.
      const shard = shardOf(attempt.event_id, LISTING_SHARDS);
      return conditionally(() =>
        db.send(
          new PutCommand({
            TableName: options.tableName,
            Item: {
              ...keys.attempt(attempt.tenant_id, { jobId: attempt.job_id, batchId: attempt.batch_id }, attempt.event_id, attempt.attempt),
              entity: 'delivery_attempt',
              ...attempt,
              gsi1pk: keys.tenantAttemptsIndex(attempt.tenant_id, shard),
              gsi1sk: sortKey,
              // Sparse: only attempts that did not deliver are listed by outcome (auditors look for
              // failures); delivered ones are found on the time listing, and save a WCU each.
              ...(attempt.outcome === 'delivered'
                ? {}
                : { gsi2pk: keys.tenantAttemptsByOutcomeIndex(attempt.tenant_id, 'failed', shard), gsi2sk: sortKey }),
              expires_at: epochSeconds(new Date(attempt.started_at)) + options.retentionDays * 24 * 3600,
            },
            ConditionExpression: 'attribute_not_exists(pk)',
          }),
        ),
      );
    },
  };
}
