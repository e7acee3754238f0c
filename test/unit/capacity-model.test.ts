// The bench's capacity model (bench/lib/capacity-model.ts): DynamoDB's write-unit rules for the
// table and its global secondary indexes, and the per-key WCU/s of a traffic mix, on synthetic
// writes. A design whose per-tenant listing takes every file's writes on one key must be flagged
// over the 1,000 WCU/s partition limit at 1,000 files/s; the same listing write-sharded must not.
import { describe, expect, it } from 'vitest';
import { itemSize, writeUnits } from '../../bench/lib/dynamo-item-size';
import { capacityTable, partitionWrites, PARTITION_WCU_PER_SECOND, type TableShape } from '../../bench/lib/capacity-model';
import type { RecordedWrite } from '../../bench/lib/write-recorder';
import { tableShape } from '../../bench/capacity';

const S = (value: string) => ({ S: value });
const table = (projection: TableShape['indexes'][number]['projection']): TableShape => ({
  partitionKey: 'pk',
  sortKey: 'sk',
  indexes: [{ indexName: 'byTenant', partitionKey: 'gsi1pk', sortKey: 'gsi1sk', projection }],
});
const job = (id: string, listing: string, extra: Record<string, { S: string }> = {}) => ({
  pk: S(`T#t#JOB#${id}`), sk: S('JOB'), gsi1pk: S(listing), gsi1sk: S(`2026#${id}`), status: S('queued'), ...extra,
});
const put = (after: RecordedWrite['after'], before?: RecordedWrite['before']): RecordedWrite => ({
  operation: 'Put', key: { pk: after!.pk!.S!, sk: after!.sk!.S! }, before, after, refused: false,
});

describe('item sizes and write units', () => {
  it('counts attribute names and values by the documented rules', () => {
    expect(itemSize({ ab: S('xyz') })).toBe(5);
    expect(itemSize({ n: { N: '12345' } })).toBe(1 + 4);
    expect(itemSize({ m: { M: { k: S('v') } } })).toBe(1 + 3 + 1 + 1 + 1);
    expect([writeUnits(1), writeUnits(1024), writeUnits(1025), writeUnits(4000)]).toEqual([1, 1, 2, 4]);
  });
});

describe('partitionWrites', () => {
  const big = S('x'.repeat(3000));
  it('writes the index once on insert, twice when the index key moves, never on a refused write', () => {
    const t = table('ALL');
    expect(partitionWrites(put(job('1', 'L', { big })), t).map((w) => [w.where, w.wcu])).toEqual([['table', 3], ['byTenant', 3]]);
    const moved = partitionWrites(put(job('1', 'L2'), job('1', 'L')), t);
    expect(moved.filter((w) => w.where === 'byTenant').map((w) => w.key)).toEqual(['L', 'L2']);
    expect(partitionWrites({ ...put(job('1', 'L')), refused: true }, t)).toEqual([expect.objectContaining({ where: 'table', wcu: 1 })]);
  });

  it('skips the index when no projected attribute changed, and sizes KEYS_ONLY entries by their keys', () => {
    const before = job('1', 'L', { big });
    const after = { ...before, status: S('completed') };
    expect(partitionWrites(put(after, before), table('KEYS_ONLY')).map((w) => w.where)).toEqual(['table']);
    const all = partitionWrites(put(after, before), table('ALL'));
    expect(all.find((w) => w.where === 'byTenant')?.wcu).toBe(3);
    const include = partitionWrites(put(after, before), table({ include: ['status'] }));
    expect(include.find((w) => w.where === 'byTenant')?.wcu).toBe(1);
  });
});

describe('capacityTable at 1,000 files/s for one tenant', () => {
  const files = 64;
  const run = (listingOf: (i: number) => string) => {
    const writes = Array.from({ length: files }, (_, i) => partitionWrites(put(job(String(i), listingOf(i), { big: S('x'.repeat(1500)) })), table('ALL'))).flat();
    return capacityTable(writes, {
      files,
      filesBehind: (key) => (key.includes('#JOB#') ? { inRun: 1, bounded: true } : { inRun: files, bounded: false }),
      tenantScoped: (key) => key.startsWith('T#t') || key.startsWith('L'),
      label: (_where, key) => key.replace(/\d+$/, '{n}'),
    }, { filesPerSecond: 1000, tenants: 1 });
  };

  it('flags one listing key taking every file (2 WCU x 1,000 files/s)', () => {
    const rows = run(() => 'L');
    const listing = rows.find((r) => r.where === 'byTenant')!;
    expect(listing.maxWcuPerSecond).toBe(2000);
    expect(listing.overLimit).toBe(true);
    expect(rows.filter((r) => r.where === 'table').every((r) => !r.overLimit)).toBe(true);
  });

  it('passes the same listing spread over 8 write shards', () => {
    const rows = run((i) => `L#${i % 8}`);
    expect(rows.every((r) => r.maxWcuPerSecond <= PARTITION_WCU_PER_SECOND)).toBe(true);
    expect(rows.find((r) => r.where === 'byTenant')).toMatchObject({ keys: 8, maxWcuPerSecond: 250 });
  });

  it('reads the projection of every index from lib/table-design.ts', () => {
    const shape = tableShape();
    expect(shape.indexes.length).toBeGreaterThan(0);
    for (const index of shape.indexes) expect(index.partitionKey).toMatch(/^gsi\d+pk$/);
  });
});
