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
  /** @default INDEX_PROJECTION (ALL) */
  readonly projection?: 'ALL' | 'KEYS_ONLY';
}

export const INDEXES = {
  /** Jobs of a batch; delivery attempts of a tenant by time. */
  byParent: {
    indexName: 'gsi1',
    partitionKey: 'gsi1pk',
    sortKey: 'gsi1sk',
    purpose: 'jobs of a batch (BATCH#id -> job ids); delivery attempts of a tenant by start time',
  },
  /** Jobs of a tenant by creation time; failed delivery attempts of a tenant by time. */
  byTenantTime: {
    indexName: 'gsi2',
    partitionKey: 'gsi2pk',
    sortKey: 'gsi2sk',
    purpose: 'jobs of a tenant by creation time; delivery attempts of a tenant by outcome and time',
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

/** Indexes project all attributes unless they say otherwise: reads through them never need a second GetItem. */
export const INDEX_PROJECTION = 'ALL' as const;

export const projectionOf = (index: IndexDesign): 'ALL' | 'KEYS_ONLY' => index.projection ?? INDEX_PROJECTION;

/** All key attributes (table and index) are strings. */
export const KEY_ATTRIBUTE_TYPE = 'S' as const;
