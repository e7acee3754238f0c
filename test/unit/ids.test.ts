// Unit: identifier formats (core/ids.ts).
import { describe, expect, it } from 'vitest';
import { newJobId } from '../../lambdas/core/ids';

describe('newJobId', () => {
  it('sorts in the order the ids were made, also within one millisecond (a batch lists in submission order)', () => {
    // 2,000 ids take a few milliseconds: many share a timestamp, where plain ULIDs sort at random.
    const ids = Array.from({ length: 2_000 }, () => newJobId());
    expect(ids.every((id) => /^job_[0-9A-HJKMNP-TV-Z]{26}$/.test(id))).toBe(true);
    expect([...ids].sort()).toEqual(ids);
  });
});
