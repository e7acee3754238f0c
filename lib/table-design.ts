// The DynamoDB table's physical shape: keys, secondary indexes and TTL attribute.
// Both the CDK storage construct and the local stack create the table from this, so
// the access patterns documented in docs/data-model.md hold in both places.

export const TABLE_KEYS = { partitionKey: 'pk', sortKey: 'sk' } as const;

export const TTL_ATTRIBUTE = 'expires_at';

export interface IndexDesign {
  readonly indexName: string;
  readonly partitionKey: string;
  readonly sortKey: string;
  /** What the index answers, for docs and reviewers. */
  readonly purpose: string;
  /**
   * KEYS_ONLY: an index entry is the table and index keys (~150 B, 1 WCU), and an update that
   * changes no key writes nothing to the index; readers fetch the items by key (BatchGetItem).
   */
  readonly projection: 'KEYS_ONLY';
}

export const INDEXES = {
  /** Tenants; delivery attempts of a tenant by time. */
  byParent: {
    indexName: 'gsi1',
    partitionKey: 'gsi1pk',
    sortKey: 'gsi1sk',
    purpose: 'tenants (TENANTS); delivery attempts of a tenant by start time (write-sharded TENANT#t#ATTEMPTS#<n>)',
    projection: 'KEYS_ONLY',
  },
  /** Jobs of a tenant by creation time; delivery attempts of a tenant by outcome and time. */
  byTenantTime: {
    indexName: 'gsi2',
    partitionKey: 'gsi2pk',
    sortKey: 'gsi2sk',
    purpose: 'jobs of a tenant by creation time (TENANT#t#JOBS#<n>); delivery attempts of a tenant by outcome and time (TENANT#t#ATTEMPTS#<outcome>#<n>)',
    projection: 'KEYS_ONLY',
  },
  /**
   * Sparse and write-sharded: only jobs in flight (processing, or waiting for a retry) carry its
   * keys, so the sweeper finds the ones past their deadline with one Query per shard, never a scan.
   * Keys only: the sweeper reads the job itself before acting.
   */
  leases: {
    indexName: 'gsi3',
    partitionKey: 'gsi3pk',
    sortKey: 'gsi3sk',
    purpose: 'jobs in flight by deadline (lease end or retry due), sharded; the sweeper requeues those past it',
    projection: 'KEYS_ONLY',
  },
} as const satisfies Record<string, IndexDesign>;

export const ALL_INDEXES: readonly IndexDesign[] = Object.values(INDEXES);

/**
 * Every index projects keys only. With ALL, each job update rewrote two index copies of the job
 * (issue 13: 27.6 WRU per file); readers now pay one BatchGetItem per page instead.
 * @public bench/capacity.ts reads it off the module namespace, which knip cannot follow.
 */
export const INDEX_PROJECTION = 'KEYS_ONLY' as const;

/** All key attributes (table and index) are strings. */
export const KEY_ATTRIBUTE_TYPE = 'S' as const;
