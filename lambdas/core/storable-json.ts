// Domain rule used by the API schemas (intake -> parseSubmission): caller JSON that is stored
// as-is (job and batch `metadata`) must fit what the store can hold, so a bad value is a 400 at
// intake, not a 500 when the job is written. The limits are DynamoDB's, written as plain numbers.

/** DynamoDB numbers: magnitude 1e-130 .. 9.99e125, 38 digits; the SDK's marshaller also refuses unsafe integers. */
const MIN_NUMBER_MAGNITUDE = 1e-130;
const MAX_NUMBER_MAGNITUDE = Number.MAX_SAFE_INTEGER;

/**
 * Object keys the store cannot round-trip: the SDK's marshaller takes an object with an own
 * `constructor` key for a class instance and throws (a 500 at write time), and `__proto__`
 * is dropped or turned into a prototype by every plain-object copy (the value comes back
 * different). Other Object.prototype names (toString, valueOf, prototype, ...) store fine.
 */
export const RESERVED_OBJECT_KEYS: ReadonlySet<string> = new Set(['__proto__', 'constructor']);

export const isReservedKey = (key: string): boolean => RESERVED_OBJECT_KEYS.has(key);

export const reservedKeyMessage = (key: string): string =>
  `the key "${key}" cannot be stored; send it under another name`;

export interface UnstorableValue {
  /** Where, relative to the value checked (e.g. ['a', 3, 'b']). */
  readonly path: (string | number)[];
  readonly message: string;
}

/**
 * A part of a parsed JSON value that cannot be stored: nesting deeper than `maxDepth`
 * (the value itself is depth 1; DynamoDB allows 32 levels per item) or a number outside the
 * storable range. Walks iteratively, so hostile nesting cannot overflow the stack.
 */
export function findUnstorableValue(value: unknown, maxDepth: number): UnstorableValue | undefined {
  const pending: { value: unknown; path: (string | number)[] }[] = [{ value, path: [] }];
  while (pending.length > 0) {
    const { value: current, path } = pending.pop()!;
    if (typeof current === 'number') {
      const magnitude = Math.abs(current);
      if (!Number.isFinite(current) || (magnitude !== 0 && (magnitude < MIN_NUMBER_MAGNITUDE || magnitude > MAX_NUMBER_MAGNITUDE))) {
        return {
          path,
          message: `numbers must be 0 or between ${MIN_NUMBER_MAGNITUDE} and ${MAX_NUMBER_MAGNITUDE} in magnitude; send other numbers as strings`,
        };
      }
      continue;
    }
    if (current === null || typeof current !== 'object') continue;
    // path.length + 1 is the depth of `current`: the checked value has an empty path.
    if (path.length + 1 > maxDepth) {
      return { path, message: `nesting may be at most ${maxDepth} levels deep` };
    }
    const entries: [string | number, unknown][] = Array.isArray(current)
      ? current.map((item, index) => [index, item])
      : Object.entries(current);
    for (const [key, child] of entries) {
      if (typeof key === 'string' && isReservedKey(key)) return { path: [...path, key], message: reservedKeyMessage(key) };
      pending.push({ value: child, path: [...path, key] });
    }
  }
  return undefined;
}
