// Domain rule for list cursors (jobs-api -> job-queries -> job-listings adapter -> here): a cursor is
// an opaque base64url JSON copy of DynamoDB's LastEvaluatedKey, and comes back from the caller.
// Only the exact key shape we issue is accepted: a missing or extra attribute, a non-string
// value or another partition would otherwise reach DynamoDB as ExclusiveStartKey and come back
// as a ValidationException (a 500) or read outside the caller's listing.
import { ApiError } from './errors';

/** Longer than any cursor we issue (four short key attributes), short enough to parse cheaply. */
export const MAX_CURSOR_LENGTH = 2_048;

export interface CursorShape {
  /** Every attribute name the key must have, and no other (table key + index key). */
  readonly attributes: readonly string[];
  /** The index's partition attribute and the value it must hold (the caller's listing). */
  readonly partitionAttribute: string;
  readonly partition: string;
  /** The table partition key must start with this (the caller's tenant). */
  readonly pkPrefix: string;
}

const invalidCursor = () =>
  new ApiError('invalid_request', 'The cursor is not valid for this listing.', [{ path: 'cursor', message: 'invalid cursor' }]);

export function decodeListCursor(cursor: string, shape: CursorShape): Record<string, string> {
  if (cursor.length > MAX_CURSOR_LENGTH || !/^[A-Za-z0-9_-]+$/.test(cursor)) throw invalidCursor();
  let key: unknown;
  try {
    key = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw invalidCursor();
  }
  if (key === null || typeof key !== 'object' || Array.isArray(key)) throw invalidCursor();
  const entries = Object.entries(key);
  const expected = new Set(shape.attributes);
  const exact =
    entries.length === expected.size &&
    entries.every(([name, value]) => expected.has(name) && typeof value === 'string' && value.length > 0 && value.length <= 512);
  const record = key as Record<string, string>;
  if (!exact || record[shape.partitionAttribute] !== shape.partition || !record.pk!.startsWith(shape.pkPrefix)) {
    throw invalidCursor();
  }
  return record;
}
