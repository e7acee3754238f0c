// Adapter detail: stored items -> domain records (core/records.ts). Storage attributes and
// extraction bookkeeping stay behind; integrators and use cases see records only.
import type { BatchRecord, JobRecord } from '../../core/records';
import { stripStorage } from './keys';

/** Batch item attributes holding the ids of its finished jobs, by outcome. */
export const BATCH_SETS = { completed: 'completed_jobs', failed: 'failed_jobs', cancelled: 'cancelled_jobs' } as const;

export function toJobRecord(item: Record<string, unknown>): JobRecord {
  const { lease_until: _lease, lease_owner: _owner, processing_attempts: _attempts, requeues: _requeues, ...rest } =
    stripStorage<Record<string, unknown>>(item);
  return rest as unknown as JobRecord;
}

export function toBatchRecord(item: Record<string, unknown>): BatchRecord {
  const stored = stripStorage<Record<string, unknown>>(item);
  const size = (name: string) => (stored[name] instanceof Set ? (stored[name] as Set<string>).size : 0);
  const { completed_jobs: _c, failed_jobs: _f, cancelled_jobs: _x, completed_event_by: _by, ...rest } = stored;
  return {
    ...(rest as unknown as BatchRecord),
    counts: { completed: size(BATCH_SETS.completed), failed: size(BATCH_SETS.failed), cancelled: size(BATCH_SETS.cancelled) },
  };
}
