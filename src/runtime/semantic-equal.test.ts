import { describe, expect, it } from 'vitest';
import { isSubset, parseQuantity } from './semantic-equal.js';

describe('isSubset', () => {
  it('ignores fields the server added', () => {
    expect(isSubset({ a: 1, b: { c: 'x' } }, { a: 1, b: { c: 'x', d: 2 }, e: 3 })).toBe(true);
  });
  it('detects a changed or missing field', () => {
    expect(isSubset({ a: 1 }, { a: 2 })).toBe(false);
    expect(isSubset({ a: { b: 1 } }, {})).toBe(false);
  });
  it('matches list items in any order, with fields the server added, but no extra item', () => {
    expect(isSubset([{ name: 'x', v: 1 }, { name: 'y' }], [{ name: 'y' }, { name: 'x', v: 1, extra: true }])).toBe(true);
    // An entry appended by hand, even one with our key, is not ours: the list must be put back.
    expect(isSubset([{ name: 'x', v: 1 }], [{ name: 'x', v: 1 }, { name: 'x', v: 2 }])).toBe(false);
    expect(isSubset([{ name: 'x', v: 1 }], [{ name: 'y' }, { name: 'x', v: 1 }])).toBe(false);
    expect(isSubset([{ name: 'x', v: 1 }], [{ name: 'x', v: 2 }])).toBe(false);
    expect(isSubset([{ n: 1 }, { n: 1 }], [{ n: 1 }])).toBe(false);
  });
  it('compares resource quantities by value', () => {
    expect(isSubset({ resources: { limits: { cpu: '1000m', memory: '1024Mi' } } }, { resources: { limits: { cpu: '1', memory: '1Gi' } } })).toBe(true);
    expect(isSubset({ resources: { limits: { cpu: '500m' } } }, { resources: { limits: { cpu: '1' } } })).toBe(false);
    // Outside resources a string is a string.
    expect(isSubset({ image: '1' }, { image: '1000m' })).toBe(false);
  });
  it('parses quantities', () => {
    expect(parseQuantity('250m')).toBeCloseTo(0.25);
    expect(parseQuantity('2Gi')).toBe(2 * 2 ** 30);
    expect(parseQuantity('1e3')).toBe(1000);
    expect(parseQuantity('abc')).toBeUndefined();
  });
});
