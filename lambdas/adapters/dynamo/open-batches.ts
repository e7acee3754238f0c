// Adapter: OpenBatches port on DynamoDB. A batch's progress item carries sparse, write-sharded
// gsi3 keys (`BATCHES#<shard>` / `<check at>#<tenant>#<batch>`, keys only) from its creation until
// batch.completed is claimed, whose UpdateItem removes them. One Query per shard finds the batches
// past their check time; every change the sweeper makes is conditional on the entry it found.
import { QueryCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { OpenBatches, OpenBatchState, OverdueBatch } from '../../core/ports';
import { SWEEPER_CLAIMANT } from '../../core/sweep-outbox';
import { createDynamoBatchProgress } from './batch-progress';
import { SLOT_CODES, toBatchRecord } from './item-records';
import { conditionally, keys, parseOpenBatchIndexKey } from './keys';
import { listOverdueEntries } from './overdue-index';


const SLOT_NAMES = new Map<number, OpenBatchState['slots'][number]>([
  [SLOT_CODES.pending, 'pending'],
  [SLOT_CODES.completed, 'completed'],
  [SLOT_CODES.failed, 'failed'],
  [SLOT_CODES.cancelled, 'cancelled'],
  [SLOT_CODES.neverWritten, 'never_written'],
]);

export function createDynamoOpenBatches(db: DynamoDBDocumentClient, options: { readonly tableName: string }): OpenBatches {
  const TableName = options.tableName;
  const progress = createDynamoBatchProgress(db, options);
  const seenKey = (entry: OverdueBatch) => keys.openBatchIndex(entry.tenantId, entry.batchId, new Date(entry.checkAt)).gsi3sk;

  return {
    listOverdue: (before, limit) =>
      listOverdueEntries(db, { tableName: TableName, shardKey: keys.openBatchIndexShard, parse: parseOpenBatchIndexKey, dueAt: (entry) => entry.checkAt }, before, limit),

    async inspect(entry) {
      // One strongly consistent Query reads the batch item and its progress item (the index is eventually consistent).
      const batchKey = keys.batch(entry.tenantId, entry.batchId);
      const { Items } = await db.send(
        new QueryCommand({
          TableName,
          KeyConditionExpression: 'pk = :pk AND sk >= :batch',
          ExpressionAttributeValues: { ':pk': batchKey.pk, ':batch': batchKey.sk },
          ConsistentRead: true,
        }),
      );
      const batchItem = Items?.find((item) => item.sk === batchKey.sk);
      const progressItem = Items?.find((item) => item.sk === keys.batchProgress(entry.tenantId, entry.batchId).sk);
      if (!batchItem || !progressItem || progressItem.gsi3sk !== seenKey(entry)) return undefined;
      const slots = ((progressItem.slots as number[] | undefined) ?? []).map((code) => SLOT_NAMES.get(code) ?? 'pending');
      return {
        batch: toBatchRecord(batchItem, progressItem),
        slots,
        ...(typeof progressItem.completed_event_by === 'string' ? { claimedBy: progressItem.completed_event_by } : {}),
        checks: Number(progressItem.open_checks ?? 0),
      };
    },

    recordFinished: (entry, finished) => progress.recordSlots(entry.tenantId, entry.batchId, finished),

    async claimCompletion(entry, now) {
      return conditionally(() =>
        db.send(
          new UpdateCommand({
            TableName,
            Key: keys.batchProgress(entry.tenantId, entry.batchId),
            // Not closed here: the entry stays until batch.completed is queued, so a sweeper that dies in between finishes next run.
            UpdateExpression: 'SET completed_event_at = if_not_exists(completed_event_at, :now), completed_event_by = :by',
            ConditionExpression: 'gsi3sk = :seen AND (attribute_not_exists(completed_event_at) OR completed_event_by = :by)',
            ExpressionAttributeValues: { ':now': now.toISOString(), ':by': SWEEPER_CLAIMANT, ':seen': seenKey(entry) },
          }),
        ),
      );
    },

    async close(entry) {
      await conditionally(() =>
        db.send(
          new UpdateCommand({
            TableName,
            Key: keys.batchProgress(entry.tenantId, entry.batchId),
            UpdateExpression: 'REMOVE gsi3pk, gsi3sk',
            ConditionExpression: 'gsi3sk = :seen',
            ExpressionAttributeValues: { ':seen': seenKey(entry) },
          }),
        ),
      );
    },

    async postpone(entry, checkAt) {
      const next = keys.openBatchIndex(entry.tenantId, entry.batchId, checkAt);
      return conditionally(() =>
        db.send(
          new UpdateCommand({
            TableName,
            Key: keys.batchProgress(entry.tenantId, entry.batchId),
            UpdateExpression: 'SET gsi3sk = :next ADD open_checks :one',
            ConditionExpression: 'gsi3sk = :seen',
            ExpressionAttributeValues: { ':next': next.gsi3sk, ':seen': seenKey(entry), ':one': 1 },
          }),
        ),
      );
    },
  };
}
