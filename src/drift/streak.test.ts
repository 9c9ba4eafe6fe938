import { describe, expect, it } from 'vitest';
import { verdictStatus } from './check-status.js';
import { streakBase } from './streak.js';
import type { DriftReport } from './types.js';

const NOW = new Date('2026-03-01T10:00:00Z');
const report = (drifted: boolean): DriftReport =>
  ({
    features: [{ name: 'tenure', method: 'ks', score: 0.4, pValue: drifted ? 0.001 : 0.5, threshold: 0.05, drifted }],
    driftedCount: drifted ? 1 : 0,
    driftShare: drifted ? 1 : 0,
    datasetDriftShare: 0.5,
    datasetDrift: drifted,
  }) as unknown as DriftReport;
/** One verdict as the check writes it, while `version` serves. */
const verdict = (prev: Parameters<typeof streakBase>[0], drifted: boolean, version: string | undefined) =>
  verdictStatus(streakBase(prev, version), report(drifted), 900, 1, NOW);

describe('streakBase', () => {
  it('counts drifted verdicts of one serving version in a row', () => {
    const a = verdict({}, true, 'v1');
    const b = verdict(a, true, 'v1');
    expect([a.consecutiveDriftChecks, b.consecutiveDriftChecks, b.streakVersion]).toEqual([1, 2, 'v1']);
  });

  it('a verdict while another version serves starts a new streak, counted from that verdict', () => {
    const old = verdict(verdict({}, true, 'v1'), true, 'v1');
    const first = verdict(old, true, 'v2');
    expect(first).toMatchObject({ consecutiveDriftChecks: 1, streakVersion: 'v2' });
    expect(verdict(old, false, 'v2')).toMatchObject({ consecutiveDriftChecks: 0, streakVersion: 'v2' });
    // A rollback is a change of version too.
    expect(verdict(verdict(first, true, 'v2'), true, 'v1')).toMatchObject({ consecutiveDriftChecks: 1, streakVersion: 'v1' });
  });

  it('a status from before streakVersion keeps its streak', () => {
    expect(verdict({ consecutiveDriftChecks: 2, lastCheckTime: '2026-03-01T09:00:00Z' }, true, 'v3')).toMatchObject({ consecutiveDriftChecks: 3, streakVersion: 'v3' });
  });
});
