// What one drift check writes to its DriftMonitor's status. Pure logic.
//
// Only a check that produced a verdict advances lastCheckTime (and the
// drift fields the retrain trigger reads). A check with too few samples, or
// one that failed, records why in the DriftDetected condition and leaves the
// verdict fields alone, so it can never start a retrain.
//
// Each sets DriftDetected's observedGeneration to the monitor generation the
// check ran with (the spec whose features and thresholds it applied), like
// every condition the operator writes.
import type { DriftMonitorStatus } from '../api/index.js';
import { kubeTime, setCondition } from '../runtime/conditions.js';
import type { DriftReport } from './types.js';

export interface VerdictExtras {
  /** The report on spec.outputs (prediction drift), when the monitor checks outputs. */
  outputs?: DriftReport;
  /** Appended to the condition's message: what the log reader skipped. */
  note?: string;
}

/** Status items of a report's columns. */
const results = (report: DriftReport) =>
  report.features.map((f) => ({
    name: f.name,
    method: f.method,
    // Status is JSON: an infinite chi-square (an unseen category) is capped, not lost.
    score: Number.isFinite(f.score) ? f.score : Number.MAX_VALUE,
    ...(f.pValue !== undefined ? { pValue: f.pValue } : {}),
    threshold: f.threshold,
    drifted: f.drifted,
  }));

/**
 * The verdict: drift when the data set drifted (share of drifted features at
 * or above datasetDriftShare) or any output drifted. The message names the
 * drifted features and outputs, so `kubectl describe` says what moved.
 */
export function verdictStatus(prev: DriftMonitorStatus, report: DriftReport, sampleCount: number, generation: number, now: Date, extras: VerdictExtras = {}): DriftMonitorStatus {
  const names = report.features.filter((f) => f.drifted).map((f) => f.name);
  const parts = [
    report.datasetDrift
      ? `${report.driftedCount} of ${report.features.length} features drifted (${names.join(', ')}); share ${shareOf(report)} >= ${report.datasetDriftShare}`
      : `${report.driftedCount} of ${report.features.length} features drifted; share ${shareOf(report)} < ${report.datasetDriftShare}`,
  ];
  const outputs = extras.outputs;
  const driftedOutputs = outputs?.features.filter((f) => f.drifted).map((f) => f.name) ?? [];
  if (outputs) {
    parts.push(`${driftedOutputs.length} of ${outputs.features.length} outputs drifted${driftedOutputs.length ? ` (${driftedOutputs.join(', ')})` : ''}`);
  }
  if (extras.note) parts.push(extras.note);
  const drifted = report.datasetDrift || driftedOutputs.length > 0;
  const { outputs: _o, predictionDrift: _p, ...rest } = prev;
  return {
    ...rest,
    lastCheckTime: kubeTime(now),
    driftDetected: drifted,
    driftShare: shareOf(report),
    consecutiveDriftChecks: drifted ? (prev.consecutiveDriftChecks ?? 0) + 1 : 0,
    sampleCount,
    features: results(report),
    // Present only while the monitor checks outputs: a removed spec.outputs takes its results along.
    ...(outputs ? { outputs: results(outputs), predictionDrift: driftedOutputs.length > 0 } : {}),
    conditions: setCondition(
      prev.conditions,
      { type: 'DriftDetected', status: drifted ? 'True' : 'False', reason: drifted ? 'DriftDetected' : 'NoDrift', message: parts.join('; '), observedGeneration: generation },
      now,
    ),
  };
}

/**
 * Too few rows for a verdict. `found` says where they were looked for
 * (default: the serving pods' samples); `note` what the log reader skipped,
 * which is often why there are too few.
 */
export function insufficientSamplesStatus(
  prev: DriftMonitorStatus,
  sampleCount: number,
  minSamples: number,
  generation: number,
  now: Date,
  o: { found?: string; note?: string } = {},
): DriftMonitorStatus {
  const found = o.found ?? 'samples captured';
  return {
    ...prev,
    sampleCount,
    conditions: setCondition(prev.conditions, {
      type: 'DriftDetected',
      status: 'Unknown',
      reason: 'InsufficientSamples',
      message: `only ${sampleCount} ${found}, ${minSamples} needed (current.minSamples); no verdict${o.note ? `; ${o.note}` : ''}`,
      observedGeneration: generation,
    }, now),
  };
}

export function failedCheckStatus(prev: DriftMonitorStatus, reason: string, message: string, generation: number, now: Date): DriftMonitorStatus {
  return {
    ...prev,
    conditions: setCondition(prev.conditions, { type: 'DriftDetected', status: 'Unknown', reason, message: message.slice(0, 2000), observedGeneration: generation }, now),
  };
}

/**
 * The drift share as status shows it (kubectl's SHARE column, the condition's
 * message, fluxora_drift_share): 3 decimals, 0.667 rather than
 * 0.6666666666666666. The verdict was taken on the exact share; in the rare
 * case where the rounded share would read as the other verdict (0.667 with a
 * datasetDriftShare of 0.6667 and no drift), the exact share is kept.
 */
export function shareOf(report: Pick<DriftReport, 'driftShare' | 'datasetDriftShare' | 'datasetDrift'>): number {
  const rounded = Math.round(report.driftShare * 1000) / 1000;
  return rounded >= report.datasetDriftShare === report.datasetDrift ? rounded : report.driftShare;
}
