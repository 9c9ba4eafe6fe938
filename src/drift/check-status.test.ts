import { describe, expect, it } from 'vitest';
import { failedCheckStatus, insufficientSamplesStatus, verdictStatus } from './check-status.js';
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
