// Adapter detail: stored items -> domain records (core/records.ts). Storage attributes and
// extraction bookkeeping stay behind; integrators and use cases see records only.
import { INITIAL_DELIVERY_SUMMARY, type BatchRecord, type JobRecord } from '../../core/records';
import { stripStorage } from './keys';

/**
 * A batch's progress item holds one slot per job it created (the job's `batch_slot`): 0 while
 * the job runs, then its terminal status. Setting a slot is idempotent and the item never grows
 * past its first write (about 3 bytes a job: 1 WCU for a 100-file batch).
 */
export const SLOT_CODES = { pending: 0, completed: 1, failed: 2, cancelled: 3, neverWritten: 4 } as const;

/** Slots of jobs whose write failed (the sweeper marks them): they do not count towards the batch's total. */
export const neverWrittenSlots = (slots: unknown): number =>
  Array.isArray(slots) ? (slots as number[]).filter((slot) => slot === SLOT_CODES.neverWritten).length : 0;

/** Job item attributes that are bookkeeping, not part of the record. */
const JOB_BOOKKEEPING = ['lease_until', 'lease_owner', 'processing_attempts', 'requeues', 'metadata_in_batch', 'pending_announcements'] as const;

/**
 * A job item with the summary from its delivery item (keys.jobDelivery) beside it. No delivery
 * item: the callback has made no attempt yet, so the job has the initial pending summary.
 */
export function withDeliverySummary(jobItem: Record<string, unknown>, deliveryItem: Record<string, unknown> | undefined): Record<string, unknown> {
  return { ...jobItem, delivery: deliveryItem?.delivery ?? INITIAL_DELIVERY_SUMMARY };
}

/**
 * A job record from its item. Metadata is stored once, on the batch item: a job item flagged
 * `metadata_in_batch` gets the batch's (the caller resolves it); an item without the flag has none.
 */
export function toJobRecord(item: Record<string, unknown>, batchMetadata: Record<string, unknown> | null = null): JobRecord {
  const stored = stripStorage<Record<string, unknown>>(item);
  for (const attribute of JOB_BOOKKEEPING) delete stored[attribute];
  return {
    ...stored,
    metadata: item.metadata_in_batch === true ? batchMetadata : ((stored.metadata as Record<string, unknown> | undefined) ?? null),
    // The summary lives on its own item; a job item read without it (a state change's ALL_NEW) shows the initial one.
    delivery: stored.delivery ?? INITIAL_DELIVERY_SUMMARY,
  } as unknown as JobRecord;
}

/** True when the job item's metadata lives on its batch item. */
export const metadataInBatch = (item: Record<string, unknown>): boolean => item.metadata_in_batch === true;

export function countsOfSlots(slots: unknown): BatchRecord['counts'] {
  const list = Array.isArray(slots) ? (slots as number[]) : [];
  const count = (code: number) => list.filter((slot) => slot === code).length;
  return { completed: count(SLOT_CODES.completed), failed: count(SLOT_CODES.failed), cancelled: count(SLOT_CODES.cancelled) };
}

/** A batch record from its write-once batch item and its progress item (absent: nothing finished yet). */
export function toBatchRecord(batchItem: Record<string, unknown>, progressItem?: Record<string, unknown>): BatchRecord {
  const { counts: _counts, ...batch } = stripStorage<Record<string, unknown>>(batchItem);
  const progress = progressItem ?? {};
  return {
    ...(batch as unknown as BatchRecord),
    // A batch whose job writes failed part-way counts only the jobs that exist.
    total: Number(batch.total) - neverWrittenSlots(progress.slots),
    counts: countsOfSlots(progress.slots),
    ...(typeof progress.completed_event_at === 'string' ? { completed_event_at: progress.completed_event_at } : {}),
    ...(progress.delivery ? { delivery: progress.delivery as BatchRecord['delivery'] } : {}),
  };
}
