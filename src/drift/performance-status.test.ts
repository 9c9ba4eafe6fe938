// The performance part of a check in status: its verdict and condition under
// each kind of trigger, the baseline from the Model's versions, and how it
// joins the drift verdict (the streak, a verdict when drift had too few samples).
import { describe, expect, it } from 'vitest';
import { assertSpec, type DriftMonitorStatus, type PerformanceSpec } from '../api/index.js';
import { insufficientSamplesStatus, verdictStatus } from './check-status.js';
import {
  judgePerformance,
  performanceVerdictStatus,
  servingBaseline,
  withPerformance,
  type PerformanceFigures,
  type PerformancePart,
} from './performance-status.js';
import type { DriftReport } from './types.js';

const now = new Date('2026-03-15T12:00:00Z');
const spec = (patch: Record<string, unknown> = {}): PerformanceSpec =>
  assertSpec('DriftMonitor', {
    modelRef: { name: 'churn' },
    schedule: '@hourly',
    reference: { uri: 's3://data/r.csv' },
    performance: { labels: { uri: 's3://labels/' }, prediction: { output: 'p' }, task: 'BinaryClassification', minLabelledRows: 100, ...patch },
  }).performance!;

const figures = (patch: Partial<PerformanceFigures> = {}): PerformanceFigures => ({
  checkTime: '2026-03-15T12:00:00Z',
  windowStart: '2026-03-08T12:00:00Z',
  windowEnd: '2026-03-15T12:00:00Z',
  predictions: 1000,
  labelled: 800,
  coverage: 0.8,
  duplicateIds: 0,
  unmatchedLabels: 0,
  conflictingLabels: 0,
  excludedRows: 0,
  labelFiles: 3,
  skippedLabelFiles: 0,
  incompleteLabels: 0,
  skippedRecords: 0,
  metrics: { accuracy: 0.8, auc: 0.7, f1: 0.6, logLoss: 0.5 },
  ...patch,
});

describe('judgePerformance', () => {
  it('is degraded below a minimum, naming the figure, the threshold and the labelled rows', () => {
    const j = judgePerformance(spec({ trigger: { metric: 'auc', min: 0.75 } }), figures(), [], 'churn');
    expect(j).toMatchObject({ verdict: true, degraded: true, condition: { status: 'True', reason: 'BelowThreshold' } });
    expect(j.condition.message).toBe('auc 0.7 is below the minimum 0.75 on 800 labelled of 1000 predictions (coverage 80%) logged from 2026-03-08T12:00:00Z to 2026-03-15T12:00:00Z');
  });

  it('is degraded above a maximum', () => {
    const j = judgePerformance(spec({ trigger: { metric: 'logLoss', max: 0.4 } }), figures(), [], 'churn');
    expect(j).toMatchObject({ verdict: true, degraded: true, condition: { reason: 'AboveThreshold' } });
    expect(j.condition.message).toContain('logLoss 0.5 is above the maximum 0.4');
  });

  it('is within the threshold at the bound itself', () => {
    expect(judgePerformance(spec({ trigger: { metric: 'auc', min: 0.7 } }), figures(), [], 'churn')).toMatchObject({ verdict: true, degraded: false, condition: { status: 'False', reason: 'WithinThreshold' } });
    expect(judgePerformance(spec({ trigger: { metric: 'logLoss', max: 0.5 } }), figures(), [], 'churn').degraded).toBe(false);
  });

  it('compares with the serving version: a drop for higher-is-better, a rise for lower-is-better', () => {
    const baseline = { version: 'v3', metric: 'auc' as const, value: 0.8 };
    const j = judgePerformance(spec({ trigger: { metric: 'auc', maxDropFromServing: 0.05 } }), figures({ baseline }), [], 'churn');
    expect(j).toMatchObject({ verdict: true, degraded: true, condition: { status: 'True', reason: 'DroppedFromServing' } });
    expect(j.condition.message).toContain("auc 0.7 is 0.1 worse than the serving version v3's holdout 0.8 (maxDropFromServing 0.05)");
    expect(judgePerformance(spec({ trigger: { metric: 'auc', maxDropFromServing: 0.15 } }), figures({ baseline }), [], 'churn').degraded).toBe(false);
    const rmse = { version: 'v3', metric: 'rmse' as const, value: 2 };
    const reg = spec({ task: 'Regression', trigger: { metric: 'rmse', maxDropFromServing: 0.5 } });
    expect(judgePerformance(reg, figures({ metrics: { rmse: 2.6 }, baseline: rmse }), [], 'm').degraded).toBe(true);
    expect(judgePerformance(reg, figures({ metrics: { rmse: 1.5 }, baseline: rmse }), [], 'm').condition.message).toContain('rmse 1.5 is 0.5 better than');
  });

  it('has no verdict with too few labelled rows, and says how many against how many', () => {
    const j = judgePerformance(spec({ trigger: { metric: 'auc', min: 0.9 } }), figures({ labelled: 40, coverage: 0.04 }), ['3 labels matched no prediction'], 'churn');
    expect(j).toMatchObject({ verdict: false, degraded: false, condition: { status: 'Unknown', reason: 'InsufficientLabels' } });
    expect(j.condition.message).toMatch(/^only 40 labelled predictions, 100 needed \(performance.minLabelledRows\); 40 labelled of 1000 predictions \(coverage 4%\).*; 3 labels matched no prediction$/);
  });

  it('has no verdict when the metric cannot be computed or the baseline is missing', () => {
    const oneClass = figures({ metrics: { accuracy: 1, f1: 1, logLoss: 0.1 }, unavailableMetrics: [{ metric: 'auc', reason: 'all 800 labelled rows are of one class (positive): AUC needs both' }] });
    const unavailable = judgePerformance(spec({ trigger: { metric: 'auc', min: 0.7 } }), oneClass, [], 'churn');
    expect(unavailable).toMatchObject({ verdict: false, condition: { status: 'Unknown', reason: 'MetricUnavailable' } });
    expect(unavailable.condition.message).toContain('auc cannot be computed: all 800 labelled rows are of one class');
    const noBaseline = judgePerformance(spec({ trigger: { metric: 'auc', maxDropFromServing: 0.1 } }), figures(), [], 'churn');
    expect(noBaseline).toMatchObject({ verdict: false, condition: { status: 'Unknown', reason: 'NoServingBaseline' } });
    expect(noBaseline.condition.message).toContain('Model "churn" records none');
  });

  it('reports the figures without a verdict when no trigger is set', () => {
    const j = judgePerformance(spec(), figures(), [], 'churn');
    expect(j).toMatchObject({ verdict: false, degraded: false, condition: { status: 'False', reason: 'NoTrigger' } });
    expect(j.condition.message).toContain('accuracy 0.8, auc 0.7, f1 0.6, logLoss 0.5 on 800 labelled');
  });
});

describe('servingBaseline', () => {
  const model = (metrics: Record<string, number> | undefined, servingVersion = 'v2') => ({
    status: { servingVersion, versions: [{ name: 'v1', metrics: { auc: 0.7, logloss: 0.6 } }, { name: 'v2', ...(metrics ? { metrics } : {}) }] },
  });
  it("reads the serving version's trainer metric, logLoss under the trainers' name logloss", () => {
    expect(servingBaseline(model({ auc: 0.91, logloss: 0.3 }), 'auc')).toEqual({ version: 'v2', metric: 'auc', value: 0.91 });
    expect(servingBaseline(model({ auc: 0.91, logloss: 0.3 }), 'logLoss')).toEqual({ version: 'v2', metric: 'logLoss', value: 0.3 });
    expect(servingBaseline(model({ auc: 0.91 }, 'v1'), 'auc')).toEqual({ version: 'v1', metric: 'auc', value: 0.7 });
  });
  it('is undefined when the serving version has no such metric (a version from spec.artifact has none)', () => {
    expect(servingBaseline(model(undefined), 'auc')).toBeUndefined();
    expect(servingBaseline(model({ rmse: 2 }), 'auc')).toBeUndefined();
    expect(servingBaseline({}, 'auc')).toBeUndefined();
  });
});

describe('the performance part in status', () => {
  const drift = (drifted: boolean): DriftReport =>
    ({
      features: [{ name: 'tenure', method: 'ks', score: 0.4, pValue: drifted ? 0.001 : 0.5, threshold: 0.05, drifted }],
      driftShare: drifted ? 1 : 0,
      driftedCount: drifted ? 1 : 0,
      datasetDrift: drifted,
      datasetDriftShare: 0.5,
    }) as unknown as DriftReport;
  const part = (s: PerformanceSpec | undefined, f: PerformanceFigures = figures(), at = now): PerformancePart => ({
    spec: s,
    evaluation: s ? { kind: 'figures', figures: f, notes: [] } : undefined,
    model: 'churn',
    generation: 4,
    now: at,
  });
  const below = spec({ trigger: { metric: 'auc', min: 0.75 } });
  const within = spec({ trigger: { metric: 'auc', min: 0.6 } });

  it('counts a degraded verdict in the streak even without drift, and resets it when neither is found', () => {
    const prev: DriftMonitorStatus = { consecutiveDriftChecks: 1, lastCheckTime: '2026-03-15T11:00:00Z' };
    const s = withPerformance(verdictStatus(prev, drift(false), 900, 4, now), prev, part(below), true);
    expect(s).toMatchObject({ driftDetected: false, consecutiveDriftChecks: 2, performance: { degraded: true, labelled: 800 } });
    expect(s.conditions?.find((c) => c.type === 'PerformanceDegraded')).toMatchObject({ status: 'True', reason: 'BelowThreshold', observedGeneration: 4 });
    const ok = withPerformance(verdictStatus(s, drift(false), 900, 4, now), s, part(within), true);
    expect(ok).toMatchObject({ consecutiveDriftChecks: 0, performance: { degraded: false } });
    const drifted = withPerformance(verdictStatus(s, drift(true), 900, 4, now), s, part(within), true);
    expect(drifted.consecutiveDriftChecks).toBe(3);
  });

  it('makes a performance verdict the check\'s verdict when drift had too few samples, removing the older drift verdict', () => {
    const prev: DriftMonitorStatus = { lastCheckTime: '2026-03-15T11:00:00Z', driftDetected: true, driftShare: 1, consecutiveDriftChecks: 1, features: [] };
    const s = performanceVerdictStatus(insufficientSamplesStatus(prev, 12, 500, 4, now), prev, part(below));
    expect(s.lastCheckTime).toBe('2026-03-15T12:00:00Z');
    expect(s).not.toHaveProperty('driftDetected');
    expect(s).not.toHaveProperty('driftShare');
    expect(s).not.toHaveProperty('features');
    expect(s).toMatchObject({ consecutiveDriftChecks: 2, sampleCount: 12, performance: { degraded: true, checkTime: '2026-03-15T12:00:00Z' } });
    expect(s.conditions?.find((c) => c.type === 'DriftDetected')).toMatchObject({ status: 'Unknown', reason: 'InsufficientSamples' });
  });

  it('changes no verdict field when neither part has a verdict', () => {
    const prev: DriftMonitorStatus = { lastCheckTime: '2026-03-15T11:00:00Z', driftDetected: true, consecutiveDriftChecks: 1 };
    const s = withPerformance(insufficientSamplesStatus(prev, 12, 500, 4, now), prev, part(below, figures({ labelled: 3 })), false);
    expect(s).toMatchObject({ lastCheckTime: '2026-03-15T11:00:00Z', driftDetected: true, consecutiveDriftChecks: 1, performance: { degraded: false, labelled: 3 } });
    expect(s.conditions?.find((c) => c.type === 'PerformanceDegraded')?.reason).toBe('InsufficientLabels');
  });

  it('reports a failed part in the condition and drops the older figures', () => {
    const prev: DriftMonitorStatus = { performance: { ...figures(), degraded: true } };
    const p: PerformancePart = { ...part(below), evaluation: { kind: 'failed', reason: 'PredictionLogNotConfigured', message: 'Model "churn" has no spec.serving.predictionLog' } };
    const s = withPerformance(verdictStatus(prev, drift(false), 900, 4, now), prev, p, true);
    expect(s).not.toHaveProperty('performance');
    expect(s.conditions?.find((c) => c.type === 'PerformanceDegraded')).toMatchObject({ status: 'Unknown', reason: 'PredictionLogNotConfigured' });
    expect(s.consecutiveDriftChecks).toBe(0);
  });

  it('removes the part when spec.performance is gone', () => {
    const withIt = withPerformance(verdictStatus({}, drift(false), 900, 4, now), {}, part(below), true);
    const without = withPerformance(verdictStatus(withIt, drift(false), 900, 5, now), withIt, part(undefined), true);
    expect(without).not.toHaveProperty('performance');
    expect(without.conditions?.map((c) => c.type)).toEqual(['DriftDetected']);
  });
});
