// fluxora_* metrics exported by the operator, derived from the status the
// controllers see, so one scrape of the operator covers every monitor and model.
// Every series is created at zero when its object (or, for the per-namespace
// RetrainJob series, the first RetrainJob of a namespace) is first seen, as
// controller-runtime does for its own: a counter whose series first appears at
// 1 is invisible to rate() and increase(), and alerts miss that first event.
// Per-object series go when the object does.
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { DriftMonitorStatus, PerformanceStatus } from '../api/index.js';
import { getCondition } from '../runtime/conditions.js';

/** The `result` of fluxora_drift_checks_total. */
export const DRIFT_CHECK_RESULTS = ['drift', 'no_drift'] as const;
/** The final phases of a RetrainJob: the `result` of fluxora_retrain_jobs_total and fluxora_retrain_duration_seconds. */
export const RETRAIN_RESULTS = ['Succeeded', 'Failed', 'Rejected'] as const;

export class DomainMetrics {
  private readonly driftScore: Gauge<'namespace' | 'monitor' | 'feature' | 'method'>;
  private readonly driftThreshold: Gauge<'namespace' | 'monitor' | 'feature' | 'method'>;
  private readonly driftDetected: Gauge<'namespace' | 'monitor'>;
  private readonly driftShare: Gauge<'namespace' | 'monitor'>;
  private readonly checks: Counter<'namespace' | 'monitor' | 'result'>;
  private readonly retrainsTriggered: Counter<'namespace' | 'monitor'>;
  private readonly monitorReady: Gauge<'namespace' | 'monitor'>;
  private readonly budgetExhausted: Gauge<'namespace' | 'monitor'>;
  private readonly modelReady: Gauge<'namespace' | 'model'>;
  private readonly servingVersion: Gauge<'namespace' | 'model' | 'version'>;
  private readonly retrainJobs: Counter<'namespace' | 'result'>;
  private readonly retrainDuration: Histogram<'namespace' | 'result'>;
  private readonly promotions: Counter<'namespace' | 'model'>;
  private readonly analysis: Gauge<'namespace' | 'model' | 'candidate' | 'figure'>;
  private readonly decisions: Counter<'namespace' | 'model' | 'verdict'>;
  private readonly rollbacks: Counter<'namespace' | 'model'>;
  private readonly seenAnalysis = new Map<string, { candidate: string; figures: string[] }>();
  private readonly performance: Gauge<'namespace' | 'monitor' | 'model' | 'metric'>;
  private readonly performanceBaseline: Gauge<'namespace' | 'monitor' | 'model' | 'metric'>;
  private readonly performanceDegraded: Gauge<'namespace' | 'monitor' | 'model'>;
  private readonly labelCoverage: Gauge<'namespace' | 'monitor' | 'model'>;
  private readonly labelled: Gauge<'namespace' | 'monitor' | 'model'>;
  /** Performance series per monitor: the model label and the metrics they carry, to remove them when they change. */
  private readonly seenPerformance = new Map<string, { model: string; metrics: string[]; baseline?: string }>();
  /** Namespaces whose RetrainJob series exist. */
  private readonly retrainNamespaces = new Set<string>();
  private readonly seenVersions = new Map<string, string>();
  private readonly seenModels = new Set<string>();
  /** Last verdict time seen per monitor, to count each check once. */
  private readonly seenChecks = new Map<string, string>();
  private readonly seenFeatures = new Map<string, { feature: string; method: string }[]>();

  constructor(registry: Registry) {
    const registers = [registry];
    this.driftScore = new Gauge({ name: 'fluxora_drift_score', help: 'Drift score of a feature in the last check (statistic or distance)', labelNames: ['namespace', 'monitor', 'feature', 'method'], registers });
    this.driftThreshold = new Gauge({ name: 'fluxora_drift_threshold', help: 'Threshold the feature is judged against', labelNames: ['namespace', 'monitor', 'feature', 'method'], registers });
    this.driftDetected = new Gauge({ name: 'fluxora_drift_detected', help: '1 when the last check of the monitor found drift (data set drift, or a monitored output drifted)', labelNames: ['namespace', 'monitor'], registers });
    this.driftShare = new Gauge({ name: 'fluxora_drift_share', help: 'Share of checked features that drifted in the last check', labelNames: ['namespace', 'monitor'], registers });
    this.checks = new Counter({ name: 'fluxora_drift_checks_total', help: 'Drift checks with a verdict observed by the operator, by monitor and result', labelNames: ['namespace', 'monitor', 'result'], registers });
    this.retrainsTriggered = new Counter({ name: 'fluxora_drift_retrains_triggered_total', help: 'RetrainJobs a monitor created because drift or degraded performance persisted', labelNames: ['namespace', 'monitor'], registers });
    this.monitorReady = new Gauge({ name: 'fluxora_drift_monitor_ready', help: '1 when the DriftMonitor is Ready', labelNames: ['namespace', 'monitor'], registers });
    this.budgetExhausted = new Gauge({ name: 'fluxora_drift_retrain_budget_exhausted', help: '1 when the monitor starts no more RetrainJobs: its newest retrain.maxConsecutiveRejections ended Rejected, and it was not re-armed', labelNames: ['namespace', 'monitor'], registers });
    this.modelReady = new Gauge({ name: 'fluxora_model_ready', help: '1 when the Model is Ready', labelNames: ['namespace', 'model'], registers });
    this.servingVersion = new Gauge({ name: 'fluxora_model_serving_version_info', help: 'The version a Model serves (value 1)', labelNames: ['namespace', 'model', 'version'], registers });
    this.retrainJobs = new Counter({ name: 'fluxora_retrain_jobs_total', help: 'Finished RetrainJobs by result (Succeeded, Failed, Rejected)', labelNames: ['namespace', 'result'], registers });
    this.retrainDuration = new Histogram({ name: 'fluxora_retrain_duration_seconds', help: 'Time from start to a final phase of RetrainJobs', labelNames: ['namespace', 'result'], buckets: [10, 30, 60, 120, 300, 600, 1800, 3600, 7200, 21600], registers });
    this.promotions = new Counter({ name: 'fluxora_promotions_total', help: 'Versions promoted to serving automatically after a retrain', labelNames: ['namespace', 'model'], registers });
    this.analysis = new Gauge({
      name: 'fluxora_promotion_analysis',
      help: 'Figures of the running promotion analysis of a candidate (or of the guard after promotion), by figure: samples, agreement, error_rate_increase, latency_ratio, output_drift, traffic_percent',
      labelNames: ['namespace', 'model', 'candidate', 'figure'],
      registers,
    });
    this.decisions = new Counter({ name: 'fluxora_promotion_analysis_decisions_total', help: 'Promotion analysis verdicts: Promote, Reject', labelNames: ['namespace', 'model', 'verdict'], registers });
    this.rollbacks = new Counter({ name: 'fluxora_rollbacks_total', help: 'Promoted versions the guard rolled back to their predecessor', labelNames: ['namespace', 'model'], registers });
    const perfLabels = ['namespace', 'monitor', 'model'] as const;
    this.performance = new Gauge({ name: 'fluxora_model_performance', help: 'Realized performance of logged predictions joined with labels in the last window (spec.performance), by metric', labelNames: [...perfLabels, 'metric'], registers });
    this.performanceBaseline = new Gauge({ name: 'fluxora_model_performance_baseline', help: "The serving version's holdout value of the trigger metric, as its trainer reported it", labelNames: [...perfLabels, 'metric'], registers });
    this.performanceDegraded = new Gauge({ name: 'fluxora_model_performance_degraded', help: '1 when the last check found the performance degraded (spec.performance.trigger breached)', labelNames: [...perfLabels], registers });
    this.labelCoverage = new Gauge({ name: 'fluxora_prediction_label_coverage_ratio', help: 'Share of logged predictions in the last window that have a label', labelNames: [...perfLabels], registers });
    this.labelled = new Gauge({ name: 'fluxora_labelled_predictions', help: 'Logged predictions with a usable label in the last window: the rows the performance is computed on', labelNames: [...perfLabels], registers });
  }

  /** `model`: the monitored Model's name, the performance series' model label. */
  observeMonitor(namespace: string, monitor: string, s: DriftMonitorStatus, model = ''): void {
    const key = `${namespace}/${monitor}`;
    if (!this.seenChecks.has(key)) {
      for (const result of DRIFT_CHECK_RESULTS) this.checks.inc({ namespace, monitor, result }, 0);
      this.retrainsTriggered.inc({ namespace, monitor }, 0);
    }
    this.monitorReady.set({ namespace, monitor }, getCondition(s.conditions, 'Ready')?.status === 'True' ? 1 : 0);
    // Present while the monitor retrains (it keeps a budget record).
    if (s.retrainBudget) this.budgetExhausted.set({ namespace, monitor }, s.retrainBudget.exhausted ? 1 : 0);
    else this.budgetExhausted.remove({ namespace, monitor });
    // Absent when the last verdict had no drift part (too few samples, a performance verdict): no stale 1.
    if (s.driftDetected !== undefined) this.driftDetected.set({ namespace, monitor }, s.driftDetected ? 1 : 0);
    else this.driftDetected.remove({ namespace, monitor });
    this.observePerformance(key, namespace, monitor, model, s.performance);
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
    // A verdict of the performance part alone (drift had too few samples) is no drift verdict: not counted here.
    if (last !== undefined && s.lastCheckTime && last !== s.lastCheckTime && s.driftDetected !== undefined) {
      this.checks.inc({ namespace, monitor, result: s.driftDetected ? 'drift' : 'no_drift' });
    }
    this.seenChecks.set(key, s.lastCheckTime ?? last ?? '');
  }

  /** The performance figures of the last check that had them; none while spec.performance is unset or its part failed. */
  private observePerformance(key: string, namespace: string, monitor: string, model: string, p: PerformanceStatus | undefined): void {
    const metrics = Object.entries(p?.metrics ?? {}).filter((e): e is [string, number] => typeof e[1] === 'number');
    const seen = this.seenPerformance.get(key);
    if (seen) {
      const labels = { namespace, monitor, model: seen.model };
      for (const metric of seen.metrics) if (seen.model !== model || !metrics.some(([m]) => m === metric)) this.performance.remove({ ...labels, metric });
      if (seen.baseline && (seen.model !== model || seen.baseline !== p?.baseline?.metric)) this.performanceBaseline.remove({ ...labels, metric: seen.baseline });
      if (!p || seen.model !== model) for (const g of [this.performanceDegraded, this.labelCoverage, this.labelled]) g.remove(labels);
    }
    if (!p) {
      this.seenPerformance.delete(key);
      return;
    }
    const labels = { namespace, monitor, model };
    for (const [metric, v] of metrics) this.performance.set({ ...labels, metric }, v);
    if (p.baseline) this.performanceBaseline.set({ ...labels, metric: p.baseline.metric }, p.baseline.value);
    this.performanceDegraded.set(labels, p.degraded ? 1 : 0);
    this.labelCoverage.set(labels, p.coverage);
    this.labelled.set(labels, p.labelled);
    this.seenPerformance.set(key, { model, metrics: metrics.map(([m]) => m), ...(p.baseline ? { baseline: p.baseline.metric } : {}) });
  }

  forgetMonitor(namespace: string, monitor: string): void {
    const key = `${namespace}/${monitor}`;
    this.observePerformance(key, namespace, monitor, '', undefined);
    for (const f of this.seenFeatures.get(key) ?? []) {
      this.driftScore.remove({ namespace, monitor, ...f });
      this.driftThreshold.remove({ namespace, monitor, ...f });
    }
    this.driftDetected.remove({ namespace, monitor });
    this.driftShare.remove({ namespace, monitor });
    this.monitorReady.remove({ namespace, monitor });
    this.budgetExhausted.remove({ namespace, monitor });
    for (const result of DRIFT_CHECK_RESULTS) this.checks.remove({ namespace, monitor, result });
    this.retrainsTriggered.remove({ namespace, monitor });
    this.seenFeatures.delete(key);
    this.seenChecks.delete(key);
  }

  retrainTriggered(namespace: string, monitor: string): void {
    this.retrainsTriggered.inc({ namespace, monitor });
  }

  setModelReady(namespace: string, model: string, ready: boolean | undefined, version?: string): void {
    const key = `${namespace}/${model}`;
    const old = this.seenVersions.get(key);
    if (old !== undefined && old !== version) this.servingVersion.remove({ namespace, model, version: old });
    if (ready === undefined) {
      this.modelReady.remove({ namespace, model });
      this.promotions.remove({ namespace, model });
      this.decisions.remove({ namespace, model, verdict: 'Promote' });
      this.decisions.remove({ namespace, model, verdict: 'Reject' });
      this.rollbacks.remove({ namespace, model });
      this.observeAnalysis(namespace, model, undefined, undefined);
      this.seenModels.delete(key);
      this.seenVersions.delete(key);
      return;
    }
    if (!this.seenModels.has(key)) {
      this.seenModels.add(key);
      this.promotions.inc({ namespace, model }, 0);
      this.decisions.inc({ namespace, model, verdict: 'Promote' }, 0);
      this.decisions.inc({ namespace, model, verdict: 'Reject' }, 0);
      this.rollbacks.inc({ namespace, model }, 0);
    }
    this.modelReady.set({ namespace, model }, ready ? 1 : 0);
    if (version) {
      this.servingVersion.set({ namespace, model, version }, 1);
      this.seenVersions.set(key, version);
    }
  }

  /** A RetrainJob exists in `namespace`: its namespace's series exist from now on, at zero. */
  retrainJobSeen(namespace: string): void {
    if (this.retrainNamespaces.has(namespace)) return;
    this.retrainNamespaces.add(namespace);
    for (const result of RETRAIN_RESULTS) {
      this.retrainJobs.inc({ namespace, result }, 0);
      this.retrainDuration.zero({ namespace, result });
    }
  }

  retrainFinished(namespace: string, result: string, seconds: number | undefined): void {
    this.retrainJobSeen(namespace);
    this.retrainJobs.inc({ namespace, result });
    if (seconds !== undefined && seconds >= 0) this.retrainDuration.observe({ namespace, result }, seconds);
  }

  promoted(namespace: string, model: string): void {
    this.promotions.inc({ namespace, model });
  }

  /** A verdict of the promotion analysis, counted once its status is written. */
  promotionDecided(namespace: string, model: string, verdict: 'Promote' | 'Reject' | 'RolledBack'): void {
    if (verdict === 'RolledBack') this.rollbacks.inc({ namespace, model });
    else this.decisions.inc({ namespace, model, verdict });
  }

  /** The running analysis' figures (undefined: none runs, the series go). */
  observeAnalysis(namespace: string, model: string, candidate: string | undefined, figures: Record<string, number | undefined> | undefined): void {
    const key = `${namespace}/${model}`;
    const seen = this.seenAnalysis.get(key);
    if (seen) for (const figure of seen.figures) this.analysis.remove({ namespace, model, candidate: seen.candidate, figure });
    this.seenAnalysis.delete(key);
    if (!candidate || !figures) return;
    const names: string[] = [];
    for (const [figure, value] of Object.entries(figures)) {
      if (value === undefined || !Number.isFinite(value)) continue;
      this.analysis.set({ namespace, model, candidate, figure }, value);
      names.push(figure);
    }
    this.seenAnalysis.set(key, { candidate, figures: names });
  }
}
