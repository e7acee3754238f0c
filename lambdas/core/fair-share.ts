// Domain rule: tenant fairness inside one extractor batch (handler -> fairShare -> run | requeue).
// SQS fair queues (MessageGroupId = tenant) order deliveries on AWS; this rule also holds where a
// queue does not (the local emulator ignores MessageGroupId on standard queues), and it bounds what
// one tenant's backlog takes of a batch. Only records that already waited `dwellSeconds` are held
// back, so a tenant alone on a queue that keeps up pays nothing.

export interface FairShareLimits {
  /** Records of one tenant a batch runs; the rest are requeued behind the other tenants' files. */
  readonly maxRecordsPerTenantPerBatch: number;
  /** Held back only once they waited this long in the queue: a backlog, where starvation happens. */
  readonly requeueAfterDwellSeconds: number;
}

export interface FairShareRecord {
  /** undefined: not a job message; it always runs (and is dead-lettered by the handler). */
  readonly tenantId: string | undefined;
  readonly dwellSeconds: number;
}

export function fairShare<T extends FairShareRecord>(records: readonly T[], limits: FairShareLimits): { run: T[]; requeue: T[] } {
  const run: T[] = [];
  const requeue: T[] = [];
  const taken = new Map<string, number>();
  for (const record of records) {
    if (record.tenantId === undefined) {
      run.push(record);
      continue;
    }
    const count = taken.get(record.tenantId) ?? 0;
    if (count >= limits.maxRecordsPerTenantPerBatch && record.dwellSeconds >= limits.requeueAfterDwellSeconds) {
      requeue.push(record);
    } else {
      taken.set(record.tenantId, count + 1);
      run.push(record);
    }
  }
  return { run, requeue };
}
