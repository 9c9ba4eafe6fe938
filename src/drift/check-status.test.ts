// What a drift check writes to status: DriftDetected with the generation it
// ran with; the share rounded for people (kubectl's SHARE column prints the
// number as stored), the verdict on the exact share.
import { describe, expect, it } from 'vitest';
import { failedCheckStatus, insufficientSamplesStatus, verdictStatus } from './check-status.js';
import { computeDrift } from './compute.js';
import type { DriftReport } from './types.js';

const now = new Date('2026-01-02T03:04:05Z');
const report: DriftReport = {
  features: [{ name: 'tenure', method: 'ks', score: 0.4, pValue: 0.001, threshold: 0.05, drifted: true }],
  driftShare: 1,
  driftedCount: 1,
  datasetDrift: true,
  datasetDriftShare: 0.5,
} as unknown as DriftReport;

describe('drift check status', () => {
  // Every condition carries the generation it was computed for (issue 13, item 6):
  // DriftDetected is written by the check pod, with the generation it ran with.
  it.each([
    ['a verdict', verdictStatus({}, report, 800, 7, now)],
    ['too few samples', insufficientSamplesStatus({}, 3, 500, 7, now)],
    ['a failed check', failedCheckStatus({}, 'ReferenceUnreadable', 'reference s3://b/r.csv: does not exist', 7, now)],
  ])('%s sets DriftDetected with observedGeneration', (_what, status) => {
    const c = status.conditions?.find((x) => x.type === 'DriftDetected');
    expect(c?.observedGeneration).toBe(7);
  });

  it('a later check of a newer spec moves observedGeneration on', () => {
    const first = verdictStatus({}, report, 800, 1, now);
    const second = failedCheckStatus(first, 'CheckFailed', 'boom', 2, new Date(now.getTime() + 60_000));
    expect(second.conditions?.find((x) => x.type === 'DriftDetected')).toMatchObject({ status: 'Unknown', observedGeneration: 2 });
  });
});

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

describe('verdictStatus', () => {
  it('writes the drift share with 3 decimals, as the condition message does', () => {
    const report = twoOfThree(0.5);
    expect(report.driftShare).toBe(2 / 3);
    const status = verdictStatus({}, report, 200, 1, now);
    expect(status).toMatchObject({ driftShare: 0.667, driftDetected: true });
    expect(message(status)).toBe('2 of 3 features drifted (a, b); share 0.667 >= 0.5');
  });

  it('keeps the exact share when the rounded one would read as the other verdict', () => {
    // 0.6666... < 0.6667: no drift, but 0.667 >= 0.6667 would say otherwise.
    const status = verdictStatus({}, twoOfThree(0.6667), 200, 1, now);
    expect(status).toMatchObject({ driftShare: 2 / 3, driftDetected: false });
    expect(message(status)).toBe(`2 of 3 features drifted; share ${2 / 3} < 0.6667`);
  });
});

describe('verdictStatus with outputs (prediction drift)', () => {
  const sameOut = Float64Array.from({ length: 200 }, (_, i) => i / 200);
  const shiftedOut = Float64Array.from({ length: 200 }, (_, i) => 0.5 + i / 400);
  const outputs = (current: Float64Array) =>
    computeDrift({ reference: { score: sameOut, cls: same }, current: { score: current, cls: same }, features: [{ name: 'score', type: 'numeric', method: 'ks' }, { name: 'cls', type: 'numeric', method: 'ks' }] });
  const noDataDrift = twoOfThree(0.9);

  it('a drifted output is drift even when the data set did not drift, and the message names it', () => {
    const status = verdictStatus({}, noDataDrift, 200, 1, now, { outputs: outputs(shiftedOut) });
    expect(status).toMatchObject({ driftDetected: true, predictionDrift: true, consecutiveDriftChecks: 1 });
    expect(status.outputs?.map((o) => [o.name, o.method, o.drifted])).toEqual([
      ['score', 'ks', true],
      ['cls', 'ks', false],
    ]);
    expect(message(status)).toBe('2 of 3 features drifted; share 0.667 < 0.9; 1 of 2 outputs drifted (score)');
    expect(status.conditions?.find((c) => c.type === 'DriftDetected')).toMatchObject({ status: 'True', reason: 'DriftDetected' });
  });

  it('no output drift and no data set drift is no drift; the note on skipped log records is kept in the message', () => {
    const status = verdictStatus({}, noDataDrift, 200, 1, now, { outputs: outputs(sameOut), note: '2 log objects or lines skipped (s3://l/a.jsonl.gz: not a gzip object)' });
    expect(status).toMatchObject({ driftDetected: false, predictionDrift: false });
    expect(message(status)).toBe('2 of 3 features drifted; share 0.667 < 0.9; 0 of 2 outputs drifted; 2 log objects or lines skipped (s3://l/a.jsonl.gz: not a gzip object)');
  });

  it('a monitor that stops checking outputs drops their results', () => {
    const before = verdictStatus({}, noDataDrift, 200, 1, now, { outputs: outputs(shiftedOut) });
    const after = verdictStatus(before, noDataDrift, 200, 2, now);
    expect(after.outputs).toBeUndefined();
    expect(after.predictionDrift).toBeUndefined();
    expect(after.driftDetected).toBe(false);
  });
});

describe('insufficientSamplesStatus', () => {
  it('says where the rows were looked for, and what the log reader skipped', () => {
    const status = insufficientSamplesStatus({}, 3, 500, 1, now, { found: 'rows in the prediction log s3://l/p within the last 6h (current.window)', note: '1 logged requests skipped (request r: skipped: …)' });
    expect(status.conditions?.[0]?.message).toBe(
      'only 3 rows in the prediction log s3://l/p within the last 6h (current.window), 500 needed (current.minSamples); no verdict; 1 logged requests skipped (request r: skipped: …)',
    );
    expect(insufficientSamplesStatus({}, 3, 500, 1, now).conditions?.[0]?.message).toBe('only 3 samples captured, 500 needed (current.minSamples); no verdict');
  });
});
