// What a drift check writes to status: the share rounded for people (kubectl's
// SHARE column prints the number as stored), the verdict on the exact share.
import { describe, expect, it } from 'vitest';
import { verdictStatus } from './check-status.js';
import { computeDrift } from './compute.js';

const same = Float64Array.from({ length: 200 }, (_, i) => i);
const shifted = Float64Array.from({ length: 200 }, (_, i) => i + 500);

/** Two of three features drift. */
const twoOfThree = (datasetDriftShare: number) =>
  computeDrift({
    reference: { a: same, b: same, c: same },
    current: { a: shifted, b: shifted, c: same },
    features: ['a', 'b', 'c'].map((name) => ({ name, type: 'numeric' as const, method: 'ks' as const })),
    datasetDriftShare,
  });
const message = (s: ReturnType<typeof verdictStatus>) => s.conditions?.find((c) => c.type === 'DriftDetected')?.message;
const now = new Date('2026-12-01T10:00:00Z');

describe('verdictStatus', () => {
  it('writes the drift share with 3 decimals, as the condition message does', () => {
    const report = twoOfThree(0.5);
    expect(report.driftShare).toBe(2 / 3);
    const status = verdictStatus({}, report, 200, now);
    expect(status).toMatchObject({ driftShare: 0.667, driftDetected: true });
    expect(message(status)).toBe('2 of 3 features drifted (a, b); share 0.667 >= 0.5');
  });

  it('keeps the exact share when the rounded one would read as the other verdict', () => {
    // 0.6666... < 0.6667: no drift, but 0.667 >= 0.6667 would say otherwise.
    const status = verdictStatus({}, twoOfThree(0.6667), 200, now);
    expect(status).toMatchObject({ driftShare: 2 / 3, driftDetected: false });
    expect(message(status)).toBe(`2 of 3 features drifted; share ${2 / 3} < 0.6667`);
  });
});
