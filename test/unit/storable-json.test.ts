// findUnstorableValue: caller metadata the DynamoDB write would reject is refused at intake.
// The SDK's marshaller is the judge for numbers; nesting depth is DynamoDB's own (32) limit,
// which the emulator does not enforce, so it is checked by value here.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { marshall } from '@aws-sdk/util-dynamodb';
import { findUnstorableValue } from '../../lambdas/core/storable-json';

const nested = (depth: number, leaf: unknown = 1, asArray = false): unknown => {
  let value = leaf;
  for (let i = 1; i < depth; i++) value = asArray ? [value] : { a: value };
  return value;
};

describe('findUnstorableValue', () => {
  it('accepts nesting up to the limit and names the first level past it', () => {
    expect(findUnstorableValue(nested(16, 1), 16)).toBeUndefined();
    expect(findUnstorableValue(nested(17, 1), 16)).toBeUndefined(); // the 17th level is a number, not a container
    expect(findUnstorableValue(nested(17, {}), 16)).toEqual({ path: Array(16).fill('a'), message: 'nesting may be at most 16 levels deep' });
    expect(findUnstorableValue(nested(17, [], true), 16)?.path).toEqual(Array(16).fill(0));
  });

  it('walks hostile nesting without overflowing the stack', () => {
    const deep = JSON.parse(`${'['.repeat(200_000)}${']'.repeat(200_000)}`);
    expect(findUnstorableValue(deep, 16)?.message).toMatch(/nesting/);
  });

  it.each([
    [1e308, false],
    [-(2 ** 53), false],
    [2 ** 53 - 1, true],
    [1e-130, true],
    [1e-131, false],
    [5e-324, false],
    [0, true],
    [-0, true],
    [0.1 + 0.2, true],
    [Number.NaN, false],
  ])('number %s storable: %s', (value, storable) => {
    expect(findUnstorableValue({ list: [1, { value }] }, 16) === undefined).toBe(storable);
  });

  it('agrees with the DynamoDB marshaller on every JSON value it accepts', () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 6 }), (value) => {
        if (findUnstorableValue(value, 16) !== undefined) return;
        expect(() => marshall({ metadata: value }, { removeUndefinedValues: true })).not.toThrow();
      }),
      { numRuns: 300 },
    );
  });
});
