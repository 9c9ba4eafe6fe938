import { describe, expect, it } from 'vitest';
import { sortFloat64 } from './radix-sort.js';
import { seededRandom } from '../training/random.js';

/** The built-in order, compared with Object.is so -0 and 0 are told apart. */
function expectBuiltinOrder(values: Float64Array) {
  const expected = values.slice().sort();
  const sorted = sortFloat64(values);
  expect(sorted).toBe(values); // in place
  for (let i = 0; i < values.length; i++) if (!Object.is(sorted[i], expected[i])) expect([i, sorted[i]]).toEqual([i, expected[i]]);
}

describe('sortFloat64', () => {
  const rnd = seededRandom(7);
  it('orders large arrays as Float64Array.prototype.sort does: signs, -0 and 0, infinities, subnormals, ties', () => {
    const n = 50_000;
    const a = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      const r = rnd();
      a[i] = r < 0.05 ? -0 : r < 0.1 ? 0 : r < 0.12 ? Infinity : r < 0.14 ? -Infinity : r < 0.16 ? 5e-324 * (rnd() < 0.5 ? -1 : 1) : r < 0.3 ? Math.round(rnd() * 10) : (rnd() - 0.5) * 10 ** Math.floor(rnd() * 40 - 20);
    }
    expectBuiltinOrder(a);
  });

  it('sorts a view into a larger buffer without touching what lies outside it', () => {
    const buffer = new Float64Array(30_000).map(() => rnd() - 0.5);
    const before = buffer.slice();
    const view = buffer.subarray(1000, 21_000);
    expectBuiltinOrder(view);
    expect(buffer.subarray(0, 1000)).toEqual(before.subarray(0, 1000));
    expect(buffer.subarray(21_000)).toEqual(before.subarray(21_000));
  });

  it('handles all-equal, already sorted and reversed arrays, and values sharing their top bits (skipped passes)', () => {
    expectBuiltinOrder(new Float64Array(10_000).fill(3.5));
    expectBuiltinOrder(Float64Array.from({ length: 10_000 }, (_, i) => i));
    expectBuiltinOrder(Float64Array.from({ length: 10_000 }, (_, i) => -i));
    expectBuiltinOrder(Float64Array.from({ length: 10_000 }, () => 1 + rnd() * 1e-9));
  });

  it('leaves NaN to the built-in sort (every NaN last), and small arrays too', () => {
    const a = Float64Array.from({ length: 10_000 }, (_, i) => (i % 97 === 0 ? NaN : rnd() - 0.5));
    expectBuiltinOrder(a);
    expect(Number.isNaN(a[a.length - 1]!)).toBe(true);
    expectBuiltinOrder(Float64Array.from([3, -1, -0, 0, 2]));
  });
});
