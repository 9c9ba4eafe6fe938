import { describe, expect, it } from 'vitest';
import {
  BucketRateLimiter,
  ItemExponentialFailureRateLimiter,
  MaxOfRateLimiter,
  defaultControllerRateLimiter,
  type RateLimiter,
} from './rate-limiter.js';

const whenN = (r: RateLimiter, key: string, n: number) => Array.from({ length: n }, () => r.when(key));

describe('ItemExponentialFailureRateLimiter', () => {
  it('doubles the delay per failure of a key, from the base', () => {
    const r = new ItemExponentialFailureRateLimiter(5, 1000);
    expect(whenN(r, 'a', 5)).toEqual([5, 10, 20, 40, 80]);
    expect(r.when('b')).toBe(5); // keys are independent
    expect(r.numRequeues('a')).toBe(5);
    expect(r.numRequeues('b')).toBe(1);
    expect(r.numRequeues('never')).toBe(0);
  });

  it('caps at the maximum, with controller-runtime defaults of 5 ms .. 1000 s', () => {
    const r = new ItemExponentialFailureRateLimiter();
    const delays = whenN(r, 'a', 20);
    expect(delays[17]).toBe(5 * 2 ** 17); // 655.36 s, still below the cap
    expect(delays[18]).toBe(1_000_000);
    expect(delays[19]).toBe(1_000_000);
  });

  it('stays at the cap (not Infinity or NaN) after thousands of failures, also with a zero base', () => {
    const r = new ItemExponentialFailureRateLimiter(5, 1000);
    whenN(r, 'a', 5000);
    expect(r.when('a')).toBe(1000);
    const zero = new ItemExponentialFailureRateLimiter(0, 1000);
    whenN(zero, 'a', 5000);
    expect(zero.when('a')).toBe(0);
  });

  it('forget() resets the key to the base delay and leaves other keys alone', () => {
    const r = new ItemExponentialFailureRateLimiter(5, 1000);
    whenN(r, 'a', 3);
    whenN(r, 'b', 2);
    r.forget('a');
    expect(r.numRequeues('a')).toBe(0);
    expect(r.when('a')).toBe(5);
    expect(r.when('b')).toBe(20);
  });

  it('rejects negative delays', () => {
    expect(() => new ItemExponentialFailureRateLimiter(-1, 10)).toThrow(RangeError);
  });
});

describe('BucketRateLimiter', () => {
  it('lets a burst through at once, then reservations queue up 1/qps apart', () => {
    const now = 0;
    const r = new BucketRateLimiter(10, 3, () => now);
    expect(whenN(r, 'x', 3)).toEqual([0, 0, 0]);
    expect(whenN(r, 'y', 3)).toEqual([100, 200, 300]); // shared by all keys, accumulating
  });

  it('refills at qps, never beyond the burst', () => {
    let now = 0;
    const r = new BucketRateLimiter(10, 3, () => now);
    whenN(r, 'x', 5); // 3 free, 2 reserved ahead: 2 tokens owed
    now = 1000; // +10 tokens, capped at 3
    expect(whenN(r, 'x', 4)).toEqual([0, 0, 0, 100]);
    now = 100_000; // a long idle time still gives only the burst
    expect(whenN(r, 'x', 4)).toEqual([0, 0, 0, 100]);
  });

  it('counts fractional tokens', () => {
    let now = 0;
    const r = new BucketRateLimiter(10, 1, () => now);
    expect(r.when('x')).toBe(0);
    now = 50; // half a token back
    expect(r.when('x')).toBe(50);
  });

  it('a clock stepping back mints no tokens', () => {
    let now = 10_000;
    const r = new BucketRateLimiter(10, 1, () => now);
    expect(r.when('x')).toBe(0);
    now = 0;
    expect(r.when('x')).toBe(100);
  });

  it('is not per key: numRequeues is 0 and forget() changes nothing', () => {
    const r = new BucketRateLimiter(10, 1, () => 0);
    r.when('a');
    r.forget('a');
    expect(r.numRequeues('a')).toBe(0);
    expect(r.when('a')).toBe(100);
  });

  it('infinite qps never waits; invalid settings are rejected', () => {
    const r = new BucketRateLimiter(Infinity, 1, () => 0);
    expect(whenN(r, 'x', 1000).every((d) => d === 0)).toBe(true);
    expect(() => new BucketRateLimiter(0, 10)).toThrow(RangeError);
    expect(() => new BucketRateLimiter(10, 0)).toThrow(RangeError);
  });
});

describe('MaxOfRateLimiter', () => {
  it('returns the longest delay and every limiter counts every failure', () => {
    const now = 0;
    const exp = new ItemExponentialFailureRateLimiter(5, 1000);
    const bucket = new BucketRateLimiter(1, 1, () => now);
    const r = new MaxOfRateLimiter(exp, bucket);
    expect(r.when('a')).toBe(5); // bucket: 0
    expect(r.when('a')).toBe(1000); // exponential: 10, bucket: 1 s
    expect(r.when('a')).toBe(2000); // exponential: 20, bucket: 2 s
    expect(exp.numRequeues('a')).toBe(3);
    expect(r.numRequeues('a')).toBe(3);
    r.forget('a');
    expect(r.numRequeues('a')).toBe(0);
    expect(exp.when('a')).toBe(5);
  });

  it('with no limiters, never waits', () => {
    const r = new MaxOfRateLimiter();
    expect(r.when('a')).toBe(0);
    expect(r.numRequeues('a')).toBe(0);
  });
});

describe('defaultControllerRateLimiter', () => {
  it('is max(exponential 5 ms .. 1000 s, bucket 10 qps / burst 100)', () => {
    let now = 0;
    const r = defaultControllerRateLimiter(() => now);
    const firstFailures = Array.from({ length: 100 }, (_, i) => r.when(`k${i}`));
    expect(firstFailures.every((d) => d === 5)).toBe(true); // within the burst: per-key base delay
    expect(r.when('k100')).toBe(100); // burst spent: the overall rate dominates
    expect(r.when('k0')).toBe(200); // second failure of k0: max(10, 200)
    now = 1_000_000; // bucket full again
    const slow = whenN(r, 'slow', 19);
    expect(slow[17]).toBe(655_360);
    expect(slow[18]).toBe(1_000_000);
    expect(r.when('slow')).toBe(1_000_000); // per-key cap of 1000 s
    expect(r.numRequeues('slow')).toBe(20);
    r.forget('slow');
    expect(r.when('slow')).toBe(5);
  });
});
