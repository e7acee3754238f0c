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
} as const satisfies Record<string, IndexDesign>;

export const ALL_INDEXES: readonly IndexDesign[] = Object.values(INDEXES);

/** Every index projects all attributes: reads through an index never need a second GetItem. */
export const INDEX_PROJECTION = 'ALL' as const;

/** All key attributes (table and index) are strings. */
export const KEY_ATTRIBUTE_TYPE = 'S' as const;
