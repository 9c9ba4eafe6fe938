// fluxora_* metrics exported by the operator, derived from the status the
// controllers see, so one scrape of the operator covers every monitor and model.
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { DriftMonitorStatus } from '../api/index.js';

export class DomainMetrics {
  private readonly driftScore: Gauge<'namespace' | 'monitor' | 'feature' | 'method'>;
  private readonly driftThreshold: Gauge<'namespace' | 'monitor' | 'feature' | 'method'>;
  private readonly driftDetected: Gauge<'namespace' | 'monitor'>;
  private readonly driftShare: Gauge<'namespace' | 'monitor'>;
  private readonly checks: Counter<'namespace' | 'result'>;
  private readonly retrainsTriggered: Counter<'namespace'>;
  private readonly modelReady: Gauge<'namespace' | 'model'>;
  private readonly servingVersion: Gauge<'namespace' | 'model' | 'version'>;
  private readonly retrainJobs: Counter<'namespace' | 'result'>;
  private readonly retrainDuration: Histogram<'result'>;
  private readonly promotions: Counter<'namespace' | 'model'>;
  private readonly seenVersions = new Map<string, string>();
  /** Last verdict time seen per monitor, to count each check once. */
  private readonly seenChecks = new Map<string, string>();
  private readonly seenFeatures = new Map<string, { feature: string; method: string }[]>();

  constructor(registry: Registry) {
    const registers = [registry];
    this.driftScore = new Gauge({ name: 'fluxora_drift_score', help: 'Drift score of a feature in the last check (statistic or distance)', labelNames: ['namespace', 'monitor', 'feature', 'method'], registers });
    this.driftThreshold = new Gauge({ name: 'fluxora_drift_threshold', help: 'Threshold the feature is judged against', labelNames: ['namespace', 'monitor', 'feature', 'method'], registers });
    this.driftDetected = new Gauge({ name: 'fluxora_drift_detected', help: '1 when the last check of the monitor found data set drift', labelNames: ['namespace', 'monitor'], registers });
    this.driftShare = new Gauge({ name: 'fluxora_drift_share', help: 'Share of checked features that drifted in the last check', labelNames: ['namespace', 'monitor'], registers });
    this.checks = new Counter({ name: 'fluxora_drift_checks_total', help: 'Drift checks with a verdict observed by the operator, by result', labelNames: ['namespace', 'result'], registers });
    this.retrainsTriggered = new Counter({ name: 'fluxora_drift_retrains_triggered_total', help: 'RetrainJobs created because drift persisted', labelNames: ['namespace'], registers });
    this.modelReady = new Gauge({ name: 'fluxora_model_ready', help: '1 when the Model is Ready', labelNames: ['namespace', 'model'], registers });
    this.servingVersion = new Gauge({ name: 'fluxora_model_serving_version_info', help: 'The version a Model serves (value 1)', labelNames: ['namespace', 'model', 'version'], registers });
    this.retrainJobs = new Counter({ name: 'fluxora_retrain_jobs_total', help: 'Finished RetrainJobs by result (Succeeded, Failed, Rejected)', labelNames: ['namespace', 'result'], registers });
    this.retrainDuration = new Histogram({ name: 'fluxora_retrain_duration_seconds', help: 'Time from start to a final phase of RetrainJobs', labelNames: ['result'], buckets: [10, 30, 60, 120, 300, 600, 1800, 3600, 7200, 21600], registers });
    this.promotions = new Counter({ name: 'fluxora_promotions_total', help: 'Versions promoted to serving automatically after a retrain', labelNames: ['namespace', 'model'], registers });
  }

  observeMonitor(namespace: string, monitor: string, s: DriftMonitorStatus): void {
    const key = `${namespace}/${monitor}`;
    if (s.driftDetected !== undefined) this.driftDetected.set({ namespace, monitor }, s.driftDetected ? 1 : 0);
    if (s.driftShare !== undefined) this.driftShare.set({ namespace, monitor }, s.driftShare);
    for (const old of this.seenFeatures.get(key) ?? []) this.driftScore.remove({ namespace, monitor, ...old });
    const features = (s.features ?? []).map((f) => ({ feature: f.name, method: f.method }));
    for (const f of s.features ?? []) {
      this.driftScore.set({ namespace, monitor, feature: f.name, method: f.method }, f.score);
      this.driftThreshold.set({ namespace, monitor, feature: f.name, method: f.method }, f.threshold);
    }
    this.seenFeatures.set(key, features);
    // '' = seen without a verdict yet, so the monitor's first verdict counts;
    // a verdict already there when this process first sees the monitor (after
    // a restart) was counted by the previous process and is not counted again.
    const last = this.seenChecks.get(key);
    if (last !== undefined && s.lastCheckTime && last !== s.lastCheckTime) this.checks.inc({ namespace, result: s.driftDetected ? 'drift' : 'no_drift' });
    this.seenChecks.set(key, s.lastCheckTime ?? last ?? '');
  }

  forgetMonitor(namespace: string, monitor: string): void {
    const key = `${namespace}/${monitor}`;
    for (const f of this.seenFeatures.get(key) ?? []) {
      this.driftScore.remove({ namespace, monitor, ...f });
      this.driftThreshold.remove({ namespace, monitor, ...f });
    }
    this.driftDetected.remove({ namespace, monitor });
    this.driftShare.remove({ namespace, monitor });
    this.seenFeatures.delete(key);
    this.seenChecks.delete(key);
  }

  retrainTriggered(namespace: string): void {
    this.retrainsTriggered.inc({ namespace });
  }

  setModelReady(namespace: string, model: string, ready: boolean | undefined, version?: string): void {
    const key = `${namespace}/${model}`;
    const old = this.seenVersions.get(key);
    if (old !== undefined && old !== version) this.servingVersion.remove({ namespace, model, version: old });
    if (ready === undefined) {
      this.modelReady.remove({ namespace, model });
      this.seenVersions.delete(key);
      return;
    }
    this.modelReady.set({ namespace, model }, ready ? 1 : 0);
    if (version) {
      this.servingVersion.set({ namespace, model, version }, 1);
      this.seenVersions.set(key, version);
    }
  }

  retrainFinished(namespace: string, result: string, seconds: number | undefined): void {
    this.retrainJobs.inc({ namespace, result });
    if (seconds !== undefined && seconds >= 0) this.retrainDuration.observe({ result }, seconds);
  }

  promoted(namespace: string, model: string): void {
    this.promotions.inc({ namespace, model });
  }
}
