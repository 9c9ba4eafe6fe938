import { describe, expect, it } from 'vitest';
import type { DriftMonitor } from '../../api/index.js';
import { budgetMessage, retrainBudget, type BudgetRecord, type BudgetRun } from './retrain-budget.js';

const NOW = new Date('2026-05-01T12:00:00Z');
const monitor = (o: { generation?: number; rearm?: string; budget?: BudgetRecord; max?: number; enabled?: boolean } = {}) =>
  ({
    metadata: { name: 'churn-drift', generation: o.generation ?? 1, ...(o.rearm !== undefined ? { annotations: { 'fluxora.io/retrain-rearm': o.rearm } } : {}) },
    spec: { modelRef: { name: 'churn' }, retrain: { enabled: o.enabled ?? true, maxConsecutiveRejections: o.max ?? 2 } },
    status: o.budget ? { retrainBudget: o.budget } : {},
  }) as unknown as DriftMonitor;
const run = (name: string, created: string, phase?: string): BudgetRun => ({ metadata: { name, creationTimestamp: created }, ...(phase ? { status: { phase } } : {}) });

describe('retrainBudget', () => {
  it('is exhausted when the newest N runs all ended Rejected, and names them newest first', () => {
    const runs = [run('a', '2026-05-01T08:00:00Z', 'Succeeded'), run('c', '2026-05-01T10:00:00Z', 'Rejected'), run('b', '2026-05-01T09:00:00Z', 'Rejected')];
    const b = retrainBudget(monitor(), runs, NOW);
    expect(b.record).toEqual({ generation: 1, consecutiveRejections: 2, exhausted: true });
    expect(b.rejected).toEqual(['c', 'b']);
    expect(budgetMessage(monitor(), b.rejected)).toContain('the last 2 RetrainJobs this monitor started for Model "churn" all ended Rejected (c, b;');
    expect(budgetMessage(monitor(), b.rejected)).toContain('kubectl annotate driftmonitor churn-drift fluxora.io/retrain-rearm=');
  });

  it('a Succeeded or running run ends the row; a Failed one is skipped, neither counted nor ending it', () => {
    expect(retrainBudget(monitor(), [run('a', '2026-05-01T09:00:00Z', 'Rejected'), run('b', '2026-05-01T10:00:00Z', 'Succeeded')], NOW).record.exhausted).toBe(false);
    expect(retrainBudget(monitor(), [run('a', '2026-05-01T09:00:00Z', 'Rejected'), run('b', '2026-05-01T10:00:00Z', 'Rejected'), run('c', '2026-05-01T11:00:00Z')], NOW).record).toMatchObject({ consecutiveRejections: 0, exhausted: false });
    const skipped = retrainBudget(monitor(), [run('a', '2026-05-01T09:00:00Z', 'Rejected'), run('f', '2026-05-01T10:00:00Z', 'Failed'), run('b', '2026-05-01T11:00:00Z', 'Rejected')], NOW);
    expect(skipped.record).toMatchObject({ consecutiveRejections: 2, exhausted: true });
    expect(skipped.rejected).toEqual(['b', 'a']);
  });

  it('only runs out with retrain enabled', () => {
    const runs = [run('a', '2026-05-01T09:00:00Z', 'Rejected'), run('b', '2026-05-01T10:00:00Z', 'Rejected')];
    expect(retrainBudget(monitor({ enabled: false }), runs, NOW).record).toMatchObject({ consecutiveRejections: 2, exhausted: false });
  });

  const exhausted = { generation: 1, rearm: 'x', consecutiveRejections: 2, exhausted: true };
  const rejectedRuns = [run('a', '2026-05-01T09:00:00Z', 'Rejected'), run('b', '2026-05-01T10:00:00Z', 'Rejected')];

  it('a new value of the annotation re-arms it: runs created before are not counted again', () => {
    const b = retrainBudget(monitor({ rearm: 'y', budget: exhausted }), rejectedRuns, NOW);
    expect(b.rearmedBy).toBe('annotation fluxora.io/retrain-rearm="y"');
    expect(b.record).toEqual({ generation: 1, rearm: 'y', armedAt: '2026-05-01T12:00:00Z', armedBy: 'annotation fluxora.io/retrain-rearm="y"', consecutiveRejections: 0, exhausted: false });
    // The next reconcile keeps the record; new rejections count from the re-arm on.
    const later = retrainBudget(monitor({ rearm: 'y', budget: b.record }), [...rejectedRuns, run('c', '2026-05-01T12:00:00Z', 'Rejected')], new Date('2026-05-01T13:00:00Z'));
    expect(later.rearmedBy).toBeUndefined();
    expect(later.record).toMatchObject({ armedAt: '2026-05-01T12:00:00Z', consecutiveRejections: 1, exhausted: false });
    const again = retrainBudget(monitor({ rearm: 'y', budget: later.record }), [...rejectedRuns, run('c', '2026-05-01T12:00:00Z', 'Rejected'), run('d', '2026-05-01T12:30:00Z', 'Rejected')], NOW);
    expect(again.record.exhausted).toBe(true);
    expect(again.rejected).toEqual(['d', 'c']);
  });

  it('the same annotation value, or its removal, re-arms nothing', () => {
    expect(retrainBudget(monitor({ rearm: 'x', budget: exhausted }), rejectedRuns, NOW).record.exhausted).toBe(true);
    expect(retrainBudget(monitor({ budget: exhausted }), rejectedRuns, NOW).record.exhausted).toBe(true);
  });

  it('a spec change (a new generation) re-arms it', () => {
    const b = retrainBudget(monitor({ generation: 2, rearm: 'x', budget: exhausted }), rejectedRuns, NOW);
    expect(b.rearmedBy).toBe('a spec change (generation 2)');
    expect(b.record).toMatchObject({ generation: 2, armedAt: '2026-05-01T12:00:00Z', exhausted: false });
  });

  it('without a record (a new monitor) every run counts and nothing was re-armed, whatever the annotation says', () => {
    const b = retrainBudget(monitor({ generation: 4, rearm: 'z' }), rejectedRuns, NOW);
    expect(b.rearmedBy).toBeUndefined();
    expect(b.record).toEqual({ generation: 4, rearm: 'z', consecutiveRejections: 2, exhausted: true });
  });
});
