// Adapter: DeliveryLedger port on DynamoDB. The delivery summary lives on the job item (or the
// batch's progress item); the attempt rows (written by attempt-log.ts) live in the same partition.
import { QueryCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { DeliveryLedger, DeliverySummaryUpdate } from '../../core/ports';
import { deliverySummaryOf, type DeliveryAttemptRecord } from '../../core/records';
import { conditionally, keys, stripStorage } from './keys';

export function createDynamoDeliveryLedger(db: DynamoDBDocumentClient, options: { readonly tableName: string }): DeliveryLedger {
  const TableName = options.tableName;
  return {
    async recordDeliveryOutcome(update: DeliverySummaryUpdate) {
      // A batch's summary lives on its small progress item, not on the write-once batch item.
      const key = update.jobId ? keys.job(update.tenantId, update.jobId) : keys.batchProgress(update.tenantId, update.batchId!);
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
