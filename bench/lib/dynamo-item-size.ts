// Bench support: DynamoDB item sizes and write units, by the documented rules, on marshalled items.
// Sizes: attribute names count their UTF-8 bytes; strings UTF-8 bytes; numbers about one byte per
// two significant digits plus one; binary its bytes; booleans and nulls 1; maps and lists 3 bytes
// plus 1 per element plus the elements (DynamoDB Developer Guide, "Item sizes and formats",
// CapacityUnitCalculations.html). A write costs 1 WCU per started KB of the larger of the item's
// before and after images; an index write costs the same on the index entry (ReadWriteCapacityMode
// and GSI.html, "Provisioned throughput considerations for global secondary indexes").
import type { AttributeValue } from '@aws-sdk/client-dynamodb';

export type MarshalledItem = Record<string, AttributeValue>;

const utf8 = (s: string) => Buffer.byteLength(s, 'utf8');

function numberSize(n: string): number {
  const digits = n.replace(/^[-+]/, '').replace(/e.*$/i, '').replace('.', '').replace(/^0+/, '').replace(/0+$/, '');
  return Math.ceil(Math.max(digits.length, 1) / 2) + 1;
}

export function valueSize(value: AttributeValue): number {
  if (value.S !== undefined) return utf8(value.S);
  if (value.N !== undefined) return numberSize(value.N);
  if (value.B !== undefined) return value.B.byteLength;
  if (value.BOOL !== undefined || value.NULL !== undefined) return 1;
  if (value.SS) return value.SS.reduce((sum, s) => sum + utf8(s), 0);
  if (value.NS) return value.NS.reduce((sum, n) => sum + numberSize(n), 0);
  if (value.BS) return value.BS.reduce((sum, b) => sum + b.byteLength, 0);
  if (value.L) return 3 + value.L.reduce((sum, v) => sum + 1 + valueSize(v), 0);
  if (value.M) return 3 + Object.entries(value.M).reduce((sum, [k, v]) => sum + 1 + utf8(k) + valueSize(v), 0);
  return 0;
}

export function itemSize(item: MarshalledItem | undefined): number {
  if (!item) return 0;
  return Object.entries(item).reduce((sum, [name, value]) => sum + utf8(name) + valueSize(value), 0);
}

export const writeUnits = (bytes: number): number => Math.max(1, Math.ceil(bytes / 1024));
