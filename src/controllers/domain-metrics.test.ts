import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import type { DriftMonitorStatus } from '../api/index.js';
import { DomainMetrics } from './domain-metrics.js';

const verdict = (t: string, drift: boolean) => ({ lastCheckTime: t, driftDetected: drift, driftShare: drift ? 1 : 0, features: [] }) as unknown as DriftMonitorStatus;
const count = async (r: Registry, name: string) => (await r.getSingleMetric(name)!.get()).values.filter((v) => v.value > 0).map((v) => ({ labels: v.labels, value: v.value }));

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
      { labels: { namespace: 'ml', result: 'drift' }, value: 1 },
      { labels: { namespace: 'ml', result: 'no_drift' }, value: 1 },
    ]);
  });

  it('labels finished RetrainJobs with their namespace', async () => {
    const r = new Registry();
    new DomainMetrics(r).retrainFinished('team-a', 'Failed', 12);
    expect(await count(r, 'fluxora_retrain_jobs_total')).toEqual([{ labels: { namespace: 'team-a', result: 'Failed' }, value: 1 }]);
  });
});
