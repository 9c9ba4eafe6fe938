import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import type { DriftMonitorStatus } from '../api/index.js';
import { DomainMetrics } from './domain-metrics.js';

const verdict = (t: string, drift: boolean) => ({ lastCheckTime: t, driftDetected: drift, driftShare: drift ? 1 : 0, features: [] }) as unknown as DriftMonitorStatus;
const count = async (r: Registry, name: string) => (await r.getSingleMetric(name)!.get()).values.filter((v) => v.value > 0).map((v) => ({ labels: v.labels, value: v.value }));
/** Every series of a metric (zeros included), as `labels -> value`. */
const series = async (r: Registry, name: string) =>
  Object.fromEntries(
    (await r.getSingleMetric(name)!.get()).values.map((v) => [
      Object.entries(v.labels)
        .map(([k, l]) => `${k}=${l}`)
        .join(','),
      v.value,
    ]),
  );
const ready = (status: 'True' | 'False') =>
  ({ conditions: [{ type: 'Ready', status, reason: 'R', message: '', lastTransitionTime: '2026-12-01T10:00:00Z' }] }) as unknown as DriftMonitorStatus;

describe('DomainMetrics', () => {
  it("counts a new monitor's first verdict, each later one once, and not a verdict found at start-up", async () => {
    const r = new Registry();
    const m = new DomainMetrics(r);
    m.observeMonitor('ml', 'fresh', {}); // created, no check yet
    m.observeMonitor('ml', 'fresh', verdict('2026-12-01T10:00:00Z', true));
    m.observeMonitor('ml', 'fresh', verdict('2026-12-01T10:00:00Z', true)); // resync: same verdict
    m.observeMonitor('ml', 'fresh', verdict('2026-12-01T10:15:00Z', false));
    m.observeMonitor('ml', 'old', verdict('2026-11-30T10:00:00Z', true)); // already there when the operator started
    expect(await count(r, 'fluxora_drift_checks_total')).toEqual([
      { labels: { namespace: 'ml', monitor: 'fresh', result: 'drift' }, value: 1 },
      { labels: { namespace: 'ml', monitor: 'fresh', result: 'no_drift' }, value: 1 },
    ]);
  });

  it('labels finished RetrainJobs and their duration with their namespace', async () => {
    const r = new Registry();
    new DomainMetrics(r).retrainFinished('team-a', 'Failed', 12);
    expect(await count(r, 'fluxora_retrain_jobs_total')).toEqual([{ labels: { namespace: 'team-a', result: 'Failed' }, value: 1 }]);
    expect(await r.metrics()).toContain('fluxora_retrain_duration_seconds_sum{namespace="team-a",result="Failed"} 12\n');
  });

  it("creates a monitor's series at zero when it is first seen, and removes them with it", async () => {
    const r = new Registry();
    const m = new DomainMetrics(r);
    m.observeMonitor('ml', 'churn', {});
    expect(await series(r, 'fluxora_drift_checks_total')).toEqual({
      'namespace=ml,monitor=churn,result=drift': 0,
      'namespace=ml,monitor=churn,result=no_drift': 0,
    });
    expect(await series(r, 'fluxora_drift_retrains_triggered_total')).toEqual({ 'namespace=ml,monitor=churn': 0 });
    m.retrainTriggered('ml', 'churn');
    expect(await series(r, 'fluxora_drift_retrains_triggered_total')).toEqual({ 'namespace=ml,monitor=churn': 1 });
    m.forgetMonitor('ml', 'churn');
    for (const name of ['fluxora_drift_checks_total', 'fluxora_drift_retrains_triggered_total', 'fluxora_drift_monitor_ready']) {
      expect(await series(r, name), name).toEqual({});
    }
  });

  it('reports whether each DriftMonitor is Ready, like fluxora_model_ready', async () => {
    const r = new Registry();
    const m = new DomainMetrics(r);
    m.observeMonitor('ml', 'no-condition', {});
    m.observeMonitor('ml', 'ready', ready('True'));
    m.observeMonitor('ml', 'broken', ready('False'));
    expect(await series(r, 'fluxora_drift_monitor_ready')).toEqual({
      'namespace=ml,monitor=no-condition': 0,
      'namespace=ml,monitor=ready': 1,
      'namespace=ml,monitor=broken': 0,
    });
    m.observeMonitor('ml', 'broken', ready('True'));
    expect((await series(r, 'fluxora_drift_monitor_ready'))['namespace=ml,monitor=broken']).toBe(1);
  });

  it('creates the RetrainJob series of a namespace at zero with its first RetrainJob', async () => {
    const r = new Registry();
    const m = new DomainMetrics(r);
    m.retrainJobSeen('team-a');
    m.retrainJobSeen('team-a');
    expect(await series(r, 'fluxora_retrain_jobs_total')).toEqual({
      'namespace=team-a,result=Succeeded': 0,
      'namespace=team-a,result=Failed': 0,
      'namespace=team-a,result=Rejected': 0,
    });
    const text = await r.metrics();
    for (const result of ['Succeeded', 'Failed', 'Rejected']) {
      expect(text).toContain(`fluxora_retrain_duration_seconds_count{namespace="team-a",result="${result}"} 0\n`);
    }
  });

  it("creates a Model's promotion counter at zero when the Model is first seen, and removes it with the Model", async () => {
    const r = new Registry();
    const m = new DomainMetrics(r);
    m.setModelReady('ml', 'churn', false);
    expect(await series(r, 'fluxora_promotions_total')).toEqual({ 'namespace=ml,model=churn': 0 });
    m.promoted('ml', 'churn');
    m.setModelReady('ml', 'churn', true, 'v2');
    expect(await series(r, 'fluxora_promotions_total')).toEqual({ 'namespace=ml,model=churn': 1 });
    m.setModelReady('ml', 'churn', undefined);
    expect(await series(r, 'fluxora_promotions_total')).toEqual({});
  });

  it('exports the performance figures of a monitor with its model, follows their changes and removes them with it', async () => {
    const r = new Registry();
    const m = new DomainMetrics(r);
    const perf = (patch: Record<string, unknown>) =>
      ({
        lastCheckTime: '2026-12-01T10:00:00Z',
        driftDetected: false,
        performance: { checkTime: '2026-12-01T10:00:00Z', predictions: 1000, labelled: 800, coverage: 0.8, degraded: true, metrics: { auc: 0.7, accuracy: 0.8 }, baseline: { version: 'v2', metric: 'auc', value: 0.9 }, ...patch },
      }) as unknown as DriftMonitorStatus;
    m.observeMonitor('ml', 'churn-drift', perf({}), 'churn');
    expect(await series(r, 'fluxora_model_performance')).toEqual({
      'namespace=ml,monitor=churn-drift,model=churn,metric=auc': 0.7,
      'namespace=ml,monitor=churn-drift,model=churn,metric=accuracy': 0.8,
    });
    expect(await series(r, 'fluxora_model_performance_baseline')).toEqual({ 'namespace=ml,monitor=churn-drift,model=churn,metric=auc': 0.9 });
    expect(await series(r, 'fluxora_model_performance_degraded')).toEqual({ 'namespace=ml,monitor=churn-drift,model=churn': 1 });
    expect(await series(r, 'fluxora_prediction_label_coverage_ratio')).toEqual({ 'namespace=ml,monitor=churn-drift,model=churn': 0.8 });
    expect(await series(r, 'fluxora_labelled_predictions')).toEqual({ 'namespace=ml,monitor=churn-drift,model=churn': 800 });

    // AUC unavailable in the next window (one class only), no baseline: their series go, the others follow.
    m.observeMonitor('ml', 'churn-drift', perf({ metrics: { accuracy: 0.95 }, baseline: undefined, degraded: false, coverage: 0.5 }), 'churn');
    expect(await series(r, 'fluxora_model_performance')).toEqual({ 'namespace=ml,monitor=churn-drift,model=churn,metric=accuracy': 0.95 });
    expect(await series(r, 'fluxora_model_performance_baseline')).toEqual({});
    expect(await series(r, 'fluxora_model_performance_degraded')).toEqual({ 'namespace=ml,monitor=churn-drift,model=churn': 0 });

    m.forgetMonitor('ml', 'churn-drift');
    for (const name of ['fluxora_model_performance', 'fluxora_model_performance_degraded', 'fluxora_prediction_label_coverage_ratio', 'fluxora_labelled_predictions']) {
      expect(await series(r, name), name).toEqual({});
    }
  });

  it('drops fluxora_drift_detected when the last verdict had no drift part, instead of keeping a stale 1', async () => {
    const r = new Registry();
    const m = new DomainMetrics(r);
    m.observeMonitor('ml', 'churn-drift', {});
    m.observeMonitor('ml', 'churn-drift', verdict('2026-12-01T10:00:00Z', true));
    expect(await series(r, 'fluxora_drift_detected')).toEqual({ 'namespace=ml,monitor=churn-drift': 1 });
    m.observeMonitor('ml', 'churn-drift', { lastCheckTime: '2026-12-01T10:15:00Z' });
    expect(await series(r, 'fluxora_drift_detected')).toEqual({});
    // Nor is that verdict counted as a drift check: only the first one is.
    expect(await count(r, 'fluxora_drift_checks_total')).toEqual([{ labels: { namespace: 'ml', monitor: 'churn-drift', result: 'drift' }, value: 1 }]);
  });

  it('reports an exhausted retrain budget per monitor, 0 once re-armed, and forgets it with the monitor', async () => {
    const r = new Registry();
    const m = new DomainMetrics(r);
    const budget = (exhausted: boolean) => ({ retrainBudget: { generation: 1, consecutiveRejections: exhausted ? 3 : 0, exhausted } }) as DriftMonitorStatus;
    m.observeMonitor('ml', 'stormy', budget(true));
    m.observeMonitor('ml', 'calm', budget(false));
    m.observeMonitor('ml', 'old', {});
    expect(await series(r, 'fluxora_drift_retrain_budget_exhausted')).toEqual({ 'namespace=ml,monitor=stormy': 1, 'namespace=ml,monitor=calm': 0 });
    m.observeMonitor('ml', 'stormy', budget(false));
    m.forgetMonitor('ml', 'calm');
    expect(await series(r, 'fluxora_drift_retrain_budget_exhausted')).toEqual({ 'namespace=ml,monitor=stormy': 0 });
  });
});

