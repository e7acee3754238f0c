// Adapter detail: how domain records map onto the single table's keys and indexes
// (lib/table-design.ts; access patterns in docs/data-model.md). Every key starts with the
// tenant, so a read can never reach another tenant's items.

const tenantPrefix = (tenantId: string) => `TENANT#${tenantId}`;

/** Sort key of a job's delivery summary item. 'ATTEMPT#...' < 'DELIVERY' < 'JOB': one range reads job and summary, never attempts. */
export const JOB_DELIVERY_SK = 'DELIVERY';

export const keys = {
  tenant: (tenantId: string) => ({ pk: tenantPrefix(tenantId), sk: 'TENANT' }),
  tenantsIndex: { gsi1pk: 'TENANTS' },
  apiKey: (apiKeyId: string) => ({ pk: `APIKEY#${apiKeyId}`, sk: 'APIKEY' }),
  job: (tenantId: string, jobId: string) => ({ pk: `${tenantPrefix(tenantId)}#JOB#${jobId}`, sk: 'JOB' }),
  /**
   * A job's delivery summary, beside the job in its partition: a small item of its own, so the
   * callback's conditional update costs 1 WCU however large the stored result is. Written only by
   * the callback; absent until the first attempt (readers take the initial pending summary).
   */
  jobDelivery: (tenantId: string, jobId: string) => ({ pk: `${tenantPrefix(tenantId)}#JOB#${jobId}`, sk: JOB_DELIVERY_SK }),
  batch: (tenantId: string, batchId: string) => ({ pk: `${tenantPrefix(tenantId)}#BATCH#${batchId}`, sk: 'BATCH' }),
  dedupe: (tenantId: string, dedupeKey: string) => ({ pk: `${tenantPrefix(tenantId)}#DEDUPE#${dedupeKey}`, sk: 'DEDUPE' }),
  idempotency: (tenantId: string, keyHash: string) => ({
    pk: `${tenantPrefix(tenantId)}#IDEMPOTENCY#${keyHash}`,
    sk: 'IDEMPOTENCY',
  }),
  /** Attempts live in their subject's partition: one Query tells a job's whole story. */
  attempt: (tenantId: string, subject: { jobId: string | null; batchId: string | null }, eventId: string, attempt: number) => ({
    pk: subject.jobId
      ? `${tenantPrefix(tenantId)}#JOB#${subject.jobId}`
      : `${tenantPrefix(tenantId)}#BATCH#${subject.batchId}`,
    sk: `ATTEMPT#${eventId}#${String(attempt).padStart(4, '0')}`,
  }),
  /**
   * Intake outbox: one item per request between its job writes and its messages. Not tenant
   * scoped (the sweeper reads every tenant's), spread over OUTBOX_SHARDS partitions by batch id.
   */
  enqueueOutbox: (batchId: string, createdAt: string) => ({
    pk: `OUTBOX#${outboxShard(batchId)}`,
    sk: `${createdAt}#${batchId}`,
  }),
  enqueueOutboxShard: (shard: number) => `OUTBOX#${shard}`,
  /**
   * gsi3 (sparse, keys only): a job in flight, by its deadline (lease end, or when its retry is due).
   * Set with the state change that starts or postpones an attempt, removed by the one that ends it.
   * Not tenant scoped (the sweeper reads every tenant's), spread over LEASE_SHARDS partitions by job id.
   */
  leaseIndex: (tenantId: string, jobId: string, deadline: Date) => ({
    gsi3pk: `LEASES#${shardOf(jobId, LEASE_SHARDS)}`,
    gsi3sk: `${deadline.toISOString()}#${tenantId}#${jobId}`,
  }),
  leaseIndexShard: (shard: number) => `LEASES#${shard}`,
  /**
   * gsi3 (sparse, keys only) on a batch's progress item: a batch without batch.completed yet, by when
   * the sweeper should look at it. Written with the batch, removed by the claim of batch.completed.
   */
  openBatchIndex: (tenantId: string, batchId: string, checkAt: Date) => ({
    gsi3pk: `BATCHES#${shardOf(batchId, LEASE_SHARDS)}`,
    gsi3sk: `${checkAt.toISOString()}#${tenantId}#${batchId}`,
  }),
  openBatchIndexShard: (shard: number) => `BATCHES#${shard}`,
  /** A batch's progress (finished-job slots, completion claim, batch.completed delivery): small and fixed-size, beside the write-once batch item. */
  batchProgress: (tenantId: string, batchId: string) => ({ pk: `${tenantPrefix(tenantId)}#BATCH#${batchId}`, sk: 'PROGRESS' }),
  /** gsi2 (KEYS_ONLY): jobs of a tenant by creation time, write-sharded over LISTING_SHARDS partitions. */
  tenantJobsIndex: (tenantId: string, shard: number) => `${tenantPrefix(tenantId)}#JOBS#${shard}`,
  /** The listing a tenant's jobs cursor belongs to (all its shards). */
  tenantJobsListing: (tenantId: string) => `${tenantPrefix(tenantId)}#JOBS`,
  /** gsi1 (KEYS_ONLY): attempts of a tenant by start time, write-sharded. */
  tenantAttemptsIndex: (tenantId: string, shard: number) => `${tenantPrefix(tenantId)}#ATTEMPTS#${shard}`,
  /** gsi2 (KEYS_ONLY): attempts of a tenant with one outcome, by start time, write-sharded. */
  tenantAttemptsByOutcomeIndex: (tenantId: string, outcome: string, shard: number) => `${tenantPrefix(tenantId)}#ATTEMPTS#${outcome}#${shard}`,
};

/** Sort key of a job in its tenant's listing: creation time, then id (unique, so a cursor is one value). */
export const jobListingSortKey = (createdAt: string, jobId: string) => `${createdAt}#${jobId}`;

/** Sort key of an attempt in its tenant's listings: start time, event, attempt number. */
export const attemptListingSortKey = (startedAt: string, eventId: string, attempt: number) =>
  `${startedAt}#${eventId}#${String(attempt).padStart(4, '0')}`;

/**
 * Shards of every per-tenant listing. Each listed item writes 1 WCU (KEYS_ONLY entries are far
 * below 1 KB) on one shard, so one tenant can list up to 8 x 1,000 items/s before a shard
 * throttles; bench:capacity checks it at 1,000 files/s.
 */
export const LISTING_SHARDS = 8;

/** Shard of an id among `shards` (FNV-1a): stable, so a writer and a reader agree. */
export function shardOf(id: string, shards: number): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < id.length; i++) hash = Math.imul(hash ^ id.charCodeAt(i), 0x01000193);
  return (hash >>> 0) % shards;
}

/** Every shard number of a listing, for the readers that merge them. */
export const listingShards = (): number[] => Array.from({ length: LISTING_SHARDS }, (_, shard) => shard);

/** Outbox partitions: one write per intake request, so a few shards keep each far below 1,000 WCU/s. */
export const OUTBOX_SHARDS = 8;

/** Lease index partitions: every job start and finish writes one, so shards keep each far below 1,000 WCU/s. */
export const LEASE_SHARDS = 8;

/** The job a lease-index entry names (its gsi3sk: `<deadline>#<tenant>#<job>`). */
export function parseLeaseIndexKey(gsi3sk: string): { deadline: string; tenantId: string; jobId: string } | undefined {
  const [deadline, tenantId, jobId, ...rest] = gsi3sk.split('#');
  return deadline && tenantId && jobId && rest.length === 0 ? { deadline, tenantId, jobId } : undefined;
}

/** The batch an open-batch index entry names (its gsi3sk: `<check at>#<tenant>#<batch>`). */
export function parseOpenBatchIndexKey(gsi3sk: string): { checkAt: string; tenantId: string; batchId: string } | undefined {
  const parsed = parseLeaseIndexKey(gsi3sk);
  return parsed ? { checkAt: parsed.deadline, tenantId: parsed.tenantId, batchId: parsed.jobId } : undefined;
}

/** Stable shard of a batch id, so open and close address the same item. */
export function outboxShard(batchId: string): number {
  return shardOf(batchId, OUTBOX_SHARDS);
}

/** Key and index attributes that are storage detail, not part of a record. */
export const STORAGE_ATTRIBUTES = ['pk', 'sk', 'gsi1pk', 'gsi1sk', 'gsi2pk', 'gsi2sk', 'gsi3pk', 'gsi3sk', 'expires_at', 'entity'] as const;

export function stripStorage<T>(item: Record<string, unknown>): T {
  const copy: Record<string, unknown> = { ...item };
  for (const attribute of STORAGE_ATTRIBUTES) delete copy[attribute];
  return copy as T;
}

export const epochSeconds = (date: Date): number => Math.floor(date.getTime() / 1000);

export const isConditionalCheckFailed = (error: unknown): boolean =>
  error instanceof Error && error.name === 'ConditionalCheckFailedException';

/** Runs a conditional write: false when its condition did not hold; any other error throws. */
export async function conditionally(write: () => Promise<unknown>): Promise<boolean> {
  try {
    await write();
    return true;
  } catch (error) {
    if (isConditionalCheckFailed(error)) return false;
    throw error;
  }
}

/** Runs tasks with at most `limit` in flight, keeping result order. */
export async function mapWithConcurrency<T, R>(items: readonly T[], limit: number, task: (item: T) => Promise<R>): Promise<R[]> {
  const results = Array.from<R>({ length: items.length });
  let next = 0;
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await task(items[index]!);
    }
  });
  await Promise.all(workers);
  return results;
}

export function chunk<T>(items: readonly T[], size: number): T[][] {
  const chunks: T[][] = [];
  for (let i = 0; i < items.length; i += size) chunks.push(items.slice(i, i + size));
  return chunks;
}
