// Bench support: the capacity model. From recorded writes (bench/lib/write-recorder.ts: key,
// before and after images of each item) and the table design (keys, indexes, projections), the
// WCU each write puts on each partition key of the table and of every index; then, for a traffic
// mix, the WCU/s on every key. Pure: unit-tested with synthetic writes in test/unit.
import { itemSize, writeUnits, type MarshalledItem } from './dynamo-item-size';
import type { RecordedWrite } from './write-recorder';

/** DynamoDB's per-partition write limit (Developer Guide, "Partitions and data distribution"; GSIs too). */
export const PARTITION_WCU_PER_SECOND = 1000;

export interface IndexShape {
  readonly indexName: string;
  readonly partitionKey: string;
  readonly sortKey?: string;
  /** 'ALL', 'KEYS_ONLY', or the non-key attributes an INCLUDE projection carries. */
  readonly projection: 'ALL' | 'KEYS_ONLY' | { readonly include: readonly string[] };
}

export interface TableShape {
  readonly partitionKey: string;
  readonly sortKey: string;
  readonly indexes: readonly IndexShape[];
}

export interface PartitionWrite {
  /** 'table' or an index name. */
  readonly where: string;
  readonly key: string;
  readonly wcu: number;
  readonly bytes: number;
}

const s = (item: MarshalledItem | undefined, name: string | undefined) => (name && item?.[name]?.S !== undefined ? item[name]!.S : undefined);

function project(item: MarshalledItem, table: TableShape, index: IndexShape): MarshalledItem {
  if (index.projection === 'ALL') return item;
  const keep = new Set([table.partitionKey, table.sortKey, index.partitionKey, ...(index.sortKey ? [index.sortKey] : [])]);
  if (typeof index.projection === 'object') for (const name of index.projection.include) keep.add(name);
  return Object.fromEntries(Object.entries(item).filter(([name]) => keep.has(name)));
}

const inIndex = (item: MarshalledItem | undefined, index: IndexShape) =>
  item !== undefined && s(item, index.partitionKey) !== undefined && (index.sortKey === undefined || item[index.sortKey] !== undefined);

/** Table and index writes of one recorded write, by DynamoDB's rules for global secondary indexes. */
export function partitionWrites(write: RecordedWrite, table: TableShape): PartitionWrite[] {
  const out: PartitionWrite[] = [];
  const larger = Math.max(itemSize(write.before), itemSize(write.after));
  out.push({ where: 'table', key: write.key.pk, wcu: write.refused ? 1 : writeUnits(larger), bytes: itemSize(write.after ?? write.before) });
  if (write.refused) return out;
  for (const index of table.indexes) {
    const was = inIndex(write.before, index) ? project(write.before!, table, index) : undefined;
    const now = inIndex(write.after, index) ? project(write.after!, table, index) : undefined;
    const put = (item: MarshalledItem) => out.push({ where: index.indexName, key: s(item, index.partitionKey)!, wcu: writeUnits(itemSize(item)), bytes: itemSize(item) });
    if (!was && now) put(now);
    else if (was && !now) put(was);
    else if (was && now) {
      const sameKey = s(was, index.partitionKey) === s(now, index.partitionKey) && JSON.stringify(was[index.sortKey ?? '']) === JSON.stringify(now[index.sortKey ?? '']);
      if (!sameKey) {
        put(was);
        put(now);
      } else if (JSON.stringify(was) !== JSON.stringify(now)) {
        const size = Math.max(itemSize(was), itemSize(now));
        out.push({ where: index.indexName, key: s(now, index.partitionKey)!, wcu: writeUnits(size), bytes: itemSize(now) });
      }
    }
  }
  return out;
}

export interface TrafficMix {
  /** Files per second, all tenants together. */
  readonly filesPerSecond: number;
  /** Tenants sharing that rate evenly (the measured run used one). */
  readonly tenants: number;
}

export interface RunScope {
  /** Files the measured run processed. */
  readonly files: number;
  /**
   * How many of the run's files write to this key value, and whether that set is bounded in
   * production too (a job's own key: 1 file; a batch: its request's files) or grows with the
   * tenant's traffic (a per-tenant listing).
   */
  filesBehind(key: string): { readonly inRun: number; readonly bounded: boolean };
  /** True when the key belongs to one tenant (its rate divides among tenants). */
  tenantScoped(key: string): boolean;
  /** A stable name for the key's pattern (the key function that builds it). */
  label(where: string, key: string): string;
}

export interface CapacityRow {
  readonly where: string;
  readonly pattern: string;
  /** Distinct key values of this pattern written in the run. */
  readonly keys: number;
  readonly wcuPerFile: number;
  readonly meanItemBytes: number;
  /** Hottest key value of the pattern at the mix. */
  readonly maxWcuPerSecond: number;
  readonly overLimit: boolean;
}

/**
 * WCU/s per key at the mix: a key's WCU per file behind it times those files' rate (the tenant's
 * share of the mix, or the whole mix for a key shared by all tenants). A key behind a bounded set
 * of files (a job, a batch) gets at most its whole lifetime's WCU within one second, the
 * shortest a file spends in the pipeline.
 */
export function capacityTable(writes: readonly PartitionWrite[], scope: RunScope, mix: TrafficMix, limit = PARTITION_WCU_PER_SECOND): CapacityRow[] {
  const perKey = new Map<string, { where: string; key: string; wcu: number; bytes: number; writes: number }>();
  for (const w of writes) {
    const id = `${w.where}\u0000${w.key}`;
    const entry = perKey.get(id) ?? { where: w.where, key: w.key, wcu: 0, bytes: 0, writes: 0 };
    entry.wcu += w.wcu;
    entry.bytes += w.bytes;
    entry.writes += 1;
    perKey.set(id, entry);
  }
  const rows = new Map<string, { where: string; pattern: string; keys: number; wcu: number; bytes: number; writes: number; max: number }>();
  for (const entry of perKey.values()) {
    const behind = scope.filesBehind(entry.key);
    const rateOfItsFiles = scope.tenantScoped(entry.key) ? mix.filesPerSecond / mix.tenants : mix.filesPerSecond;
    const steady = (entry.wcu / Math.max(1, behind.inRun)) * rateOfItsFiles;
    const perSecond = behind.bounded ? Math.min(steady, entry.wcu) : steady;
    const pattern = scope.label(entry.where, entry.key);
    const id = `${entry.where}\u0000${pattern}`;
    const row = rows.get(id) ?? { where: entry.where, pattern, keys: 0, wcu: 0, bytes: 0, writes: 0, max: 0 };
    row.keys += 1;
    row.wcu += entry.wcu;
    row.bytes += entry.bytes;
    row.writes += entry.writes;
    row.max = Math.max(row.max, perSecond);
    rows.set(id, row);
  }
  return [...rows.values()]
    .map((r) => ({
      where: r.where,
      pattern: r.pattern,
      keys: r.keys,
      wcuPerFile: r.wcu / scope.files,
      meanItemBytes: r.bytes / r.writes,
      maxWcuPerSecond: r.max,
      overLimit: r.max > limit,
    }))
    .sort((a, b) => b.maxWcuPerSecond - a.maxWcuPerSecond);
}

/** Total WRU per file over the table and every index. */
export const wruPerFile = (writes: readonly PartitionWrite[], files: number) => writes.reduce((sum, w) => sum + w.wcu, 0) / files;
