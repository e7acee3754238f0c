// Adapter: DeliveryLedger port on DynamoDB. A job's delivery summary lives on its own small item
// beside the job (keys.jobDelivery), so updating it costs 1 WCU however large the stored result
// is; a batch's lives on its small progress item. The attempt rows (written by attempt-log.ts)
// live in the same partition.
import { QueryCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { DeliveryLedger, DeliverySummaryUpdate } from '../../core/ports';
import { deliverySummaryOf, type DeliveryAttemptRecord } from '../../core/records';
import { conditionally, epochSeconds, keys, stripStorage } from './keys';
import type { JobTableOptions } from './table-io';

export function createDynamoDeliveryLedger(db: DynamoDBDocumentClient, options: JobTableOptions): DeliveryLedger {
  const TableName = options.tableName;
  return {
    async recordDeliveryOutcome(update: DeliverySummaryUpdate) {
      // A success always lands; a failure never overwrites a success of the same event, nor the
      // outcome of a later attempt (two receipts of one message racing). A missing summary (no
      // attempt recorded yet) has no delivery.event_id, so a first failure lands.
      const failureGuard =
        update.status === 'delivered'
          ? undefined
          : {
              expression:
                '(attribute_not_exists(delivery.event_id) OR delivery.event_id <> :event ' +
                'OR (delivery.#status <> :delivered AND (attribute_not_exists(delivery.attempts) OR delivery.attempts <= :attempt)))',
              names: { '#status': 'status' },
              values: { ':event': update.eventId, ':delivered': 'delivered', ':attempt': update.attempt },
            };
      const onJob = update.jobId !== undefined;
      // A job's summary item is created by its first recorded outcome (the callback writes it only
      // for a job it has just read) and lives as long as the attempt rows it summarises. A batch's
      // summary lives on its small progress item (never the write-once batch item), which must exist.
      const conditions = [...(onJob ? [] : ['attribute_exists(pk)']), ...(failureGuard ? [failureGuard.expression] : [])];
      await conditionally(() =>
        db.send(
          new UpdateCommand({
            TableName,
            Key: onJob ? keys.jobDelivery(update.tenantId, update.jobId!) : keys.batchProgress(update.tenantId, update.batchId!),
            UpdateExpression: onJob ? 'SET delivery = :delivery, entity = :entity, expires_at = :expires' : 'SET delivery = :delivery',
            ...(conditions.length > 0 ? { ConditionExpression: conditions.join(' AND ') } : {}),
            ...(failureGuard ? { ExpressionAttributeNames: failureGuard.names } : {}),
            ExpressionAttributeValues: {
              ':delivery': deliverySummaryOf(update),
              ...(onJob ? { ':entity': 'job_delivery', ':expires': epochSeconds(update.at) + options.retentionDays * 24 * 3600 } : {}),
              ...failureGuard?.values,
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
