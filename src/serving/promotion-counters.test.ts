import { describe, expect, it } from 'vitest';
import { LATENCY_BUCKETS_MS } from '../promotion/figures.js';
import { LatencyHistogram, mergeSamples, MirrorCounter, Reservoir, sumTraffic } from './promotion-counters.js';
import { parsePromotionConfig } from './promotion-config.js';

describe('promotion counters', () => {
  it('puts a latency in the first bucket whose bound is at or above it, and above the last bound in the extra bucket', () => {
    const h = new LatencyHistogram();
    for (const ms of [0, 0.5, 0.51, 10, 10000, 10001]) h.add(ms);
    expect(h.counts).toHaveLength(LATENCY_BUCKETS_MS.length + 1);
    expect(h.counts[0]).toBe(2);
    expect(h.counts[1]).toBe(1);
    expect(h.counts[LATENCY_BUCKETS_MS.indexOf(10)]).toBe(1);
    expect(h.counts[LATENCY_BUCKETS_MS.length - 1]).toBe(1);
    expect(h.counts[LATENCY_BUCKETS_MS.length]).toBe(1);
  });

  it('keeps a reservoir of at most its size, drawn from everything seen', () => {
    const r = new Reservoir(1, 100);
    for (let i = 0; i < 10_000; i++) r.add(i);
    expect(r.seen).toBe(10_000);
    expect(r.columns[0]).toHaveLength(100);
    // Uniform over 0..9999: the mean of 100 draws is 5000 ± ~290 (one sd).
    const mean = (r.columns[0] as number[]).reduce((a, b) => a + b, 0) / 100;
    expect(mean).toBeGreaterThan(3500);
    expect(mean).toBeLessThan(6500);
  });

  it('merges workers\' samples weighted by what each saw, not by how full each reservoir is', () => {
    // Worker A saw 20000 zeros (keeps 2000), worker B 1000 ones (keeps 1000): ones are 1/21 of the union.
    const a = { columns: [new Array<number>(2000).fill(0)], seen: 20_000 };
    const b = { columns: [new Array<number>(1000).fill(1)], seen: 1000 };
    let ones = 0;
    for (let k = 0; k < 20; k++) {
      const m = mergeSamples([a, b], 1, 2000);
      expect(m.seen).toBe(21_000);
      expect(m.columns[0]).toHaveLength(2000);
      ones += (m.columns[0] as number[]).filter((v) => v === 1).length;
    }
    // 20 × 2000 × 1/21 ≈ 1905 (sd ≈ 42); a merge by reservoir size would give 13333.
    expect(ones).toBeGreaterThan(1700);
    expect(ones).toBeLessThan(2100);
    // Parts smaller than the cap are kept whole.
    const small = mergeSamples([{ columns: [[1, 2]], seen: 2 }, { columns: [[3]], seen: 1 }], 1, 2000);
    expect([...(small.columns[0] as number[])].sort()).toEqual([1, 2, 3]);
    expect(mergeSamples([], 1).columns[0]).toEqual([]);
  });

  it('keeps the champion\'s and the candidate\'s values of a row paired through a merge', () => {
    const part = (n: number) => ({ columns: [Array.from({ length: n }, (_, i) => i), Array.from({ length: n }, (_, i) => -i)], seen: n * 3 });
    const m = mergeSamples([part(1500), part(1800)], 2, 2000);
    (m.columns[0] as number[]).forEach((v, i) => expect((m.columns[1] as number[])[i]).toBe(-v));
  });

  it('sums traffic figures: counts, buckets, sample', () => {
    const one = { requests: 3, errors: 1, latencyBuckets: LATENCY_BUCKETS_MS.map(() => 0).concat(0), outputs: [1, 2], outputsSeen: 2 };
    one.latencyBuckets[2] = 3;
    const sum = sumTraffic([one, { ...one, latencyBuckets: [...one.latencyBuckets] }]);
    expect(sum.requests).toBe(6);
    expect(sum.errors).toBe(2);
    expect(sum.latencyBuckets[2]).toBe(6);
    expect(sum.outputsSeen).toBe(4);
    expect([...sum.outputs].sort()).toEqual([1, 1, 2, 2]);
  });

  it('compares rows: labels, mean absolute difference, shape mismatch as a candidate error', () => {
    const m = new MirrorCounter('v2');
    const champion = { datatype: 'FP32' as const, shape: [3, 2], data: Float32Array.from([0.9, 0.1, 0.2, 0.8, 0.5, 0.5]) };
    expect(m.compare(champion, { shape: [3, 2], data: [0.7, 0.3, 0.6, 0.4, 0.5, 0.5] }, 1, 2)).toBeUndefined();
    expect(m.rows).toBe(3);
    expect(m.agreedRows).toBe(2); // row 1: class 1 against class 0
    expect(m.sumAbsDiff).toBeCloseTo(0.2 + 0.4 + 0, 6);
    expect(m.maxAbsDiff).toBeCloseTo(0.4, 6);
    expect(m.figures().championOutputs).toEqual([0, 1, 0]);
    expect(m.figures().candidateOutputs).toEqual([0, 0, 0]);
    expect(m.compare(champion, { shape: [3, 1], data: [1, 2, 3] }, 1, 2)).toMatch(/shape \[3,1\]/);
    expect(m.candidateErrors).toBe(1);
    expect(m.compared).toBe(1);
  });
});

describe('promotion config', () => {
  const bad = (body: unknown) => {
    try {
      parsePromotionConfig(body);
    } catch (e) {
      return (e as Error).message;
    }
    throw new Error('accepted');
  };
  it('accepts an analysis alone, with a mirror, and ignores unknown fields', () => {
    expect(parsePromotionConfig({ analysis: '' })).toEqual({ analysis: '' });
    expect(parsePromotionConfig({ analysis: 'a', mirror: { url: 'http://c:8080', version: 'v2', percent: 100 }, later: 1 })).toEqual({
      analysis: 'a',
      mirror: { url: 'http://c:8080', version: 'v2', percent: 100 },
    });
  });
  it('names the field it refuses', () => {
    expect(bad([])).toMatch(/JSON object/);
    expect(bad({})).toMatch(/"analysis"/);
    expect(bad({ analysis: 'x'.repeat(129) })).toMatch(/"analysis".*128/);
    expect(bad({ analysis: 'a', mirror: 3 })).toMatch(/"mirror"/);
    for (const url of ['ftp://c', 'c:8080', '', 5]) expect(bad({ analysis: 'a', mirror: { url, version: 'v', percent: 5 } })).toMatch(/"mirror.url"/);
    for (const percent of [0, 101, 1.5, '50', undefined]) expect(bad({ analysis: 'a', mirror: { url: 'http://c', version: 'v', percent } })).toMatch(/"mirror.percent"/);
    for (const version of ['', 3, undefined]) expect(bad({ analysis: 'a', mirror: { url: 'https://c', version, percent: 5 } })).toMatch(/"mirror.version"/);
  });
});
