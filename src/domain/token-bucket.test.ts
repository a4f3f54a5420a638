import { describe, expect, it } from 'vitest';
import { type BucketRule, fullBucket, isFull, refill, take, waitMs } from './token-bucket.js';

const rule: BucketRule = { capacity: 3, periodMs: 60_000 };

describe('token bucket (N per minute, refilled continuously)', () => {
  it('allows the full capacity at once, then one more per period / capacity', () => {
    let bucket = fullBucket(rule, 0);
    for (let i = 0; i < 3; i++) {
      expect(waitMs(bucket, rule, 0)).toBe(0);
      bucket = take(bucket, rule, 0);
    }
    expect(waitMs(bucket, rule, 0)).toBe(20_000);
    expect(waitMs(bucket, rule, 19_999)).toBe(1);
    expect(waitMs(bucket, rule, 20_000)).toBe(0);
    bucket = take(bucket, rule, 20_000);
    expect(waitMs(bucket, rule, 20_000)).toBe(20_000);
  });

  it('never holds more than its capacity, and a clock going back refills nothing', () => {
    expect(refill(fullBucket(rule, 0), rule, 10 * 60_000).tokens).toBe(3);
    const drawn = take(take(take(fullBucket(rule, 100_000), rule, 100_000), rule, 100_000), rule, 100_000);
    expect(refill(drawn, rule, 50_000)).toEqual({ tokens: 0, atMs: 100_000 });
    expect(waitMs(drawn, rule, 50_000)).toBe(20_000);
  });

  it('does not go below empty when charged while empty', () => {
    let bucket = fullBucket(rule, 0);
    for (let i = 0; i < 10; i++) bucket = take(bucket, rule, 0);
    expect(bucket.tokens).toBe(0);
    expect(waitMs(bucket, rule, 0)).toBe(20_000);
  });

  it('is full again after one whole period', () => {
    const drawn = take(fullBucket(rule, 0), rule, 0);
    expect(isFull(drawn, rule, 19_999)).toBe(false);
    expect(isFull(drawn, rule, 20_000)).toBe(true);
  });
});
