// What the performance part of a drift check writes to its DriftMonitor's
// status: status.performance and the PerformanceDegraded condition, and how a
// performance verdict joins the drift verdict for the retrain trigger. Pure
// logic.
//
// A performance verdict needs a trigger that can be judged: at least
// minLabelledRows labelled rows, the trigger's metric computable, and for
// maxDropFromServing the serving version's holdout value. Figures without
// a verdict (too few labels, no trigger) are reported but never trigger.
//
// With a drift verdict, the check's streak (consecutiveDriftChecks) counts
// "drift or degraded". When the drift part has too few samples but the
// performance part has a verdict, that verdict alone is the check's verdict:
// lastCheckTime advances (so the retrain trigger sees a new verdict), the
// streak counts it, and the drift verdict fields of an older check
// (driftDetected, driftShare, features, outputs, predictionDrift) are removed rather than left to read
// as this check's. Without a performance verdict such a check changes no
// verdict field, as before.
import type { DriftMonitorStatus, PerformanceMetric, PerformanceSpec, PerformanceStatus } from '../api/index.js';
import { PERFORMANCE_METRICS } from '../api/index.js';
import { kubeTime, removeCondition, setCondition, type ConditionInput } from '../runtime/conditions.js';

export const PERFORMANCE_CONDITION = 'PerformanceDegraded';

export type PerformanceFigures = Omit<PerformanceStatus, 'degraded'>;

/** Something wrong with the inputs, already worded for the condition message ("2 label files skipped (…)"). */
export type InputNote = string;

export type PerformanceEvaluation =
  | { kind: 'figures'; figures: PerformanceFigures; notes: InputNote[] }
  | { kind: 'failed'; reason: string; message: string };

export interface Judgement {
  /** The trigger could be judged on enough labelled rows. */
  verdict: boolean;
  degraded: boolean;
  condition: Omit<ConditionInput, 'type' | 'observedGeneration'>;
}

/** Four significant digits, for messages (status keeps the exact figures). */
export const fmt = (v: number): string => String(Number(v.toPrecision(4)));
const pct = (v: number) => `${fmt(v * 100)}%`;

function figuresText(f: PerformanceFigures): string {
  return `${f.labelled} labelled of ${f.predictions} predictions (coverage ${pct(f.coverage)}) logged from ${f.windowStart} to ${f.windowEnd}`;
}

function metricsText(f: PerformanceFigures): string {
  return Object.entries(f.metrics)
    .filter((e): e is [string, number] => e[1] !== undefined)
    .map(([k, v]) => `${k} ${fmt(v)}`)
    .join(', ');
}

/** Whether the trigger is breached by `value`, and the sentence that says so either way. */
function applyTrigger(
  t: NonNullable<PerformanceSpec['trigger']>,
  value: number,
  baseline: PerformanceFigures['baseline'],
): { breached: boolean; reason: string; text: string } {
  const m = t.metric;
  if (t.min !== undefined) {
    const breached = value < t.min;
    return { breached, reason: breached ? 'BelowThreshold' : 'WithinThreshold', text: `${m} ${fmt(value)} is ${breached ? 'below' : 'at or above'} the minimum ${t.min}` };
  }
  if (t.max !== undefined) {
    const breached = value > t.max;
    return { breached, reason: breached ? 'AboveThreshold' : 'WithinThreshold', text: `${m} ${fmt(value)} is ${breached ? 'above' : 'at or below'} the maximum ${t.max}` };
  }
  const b = baseline!;
  // How much worse than the holdout: a drop for higher-is-better metrics, a rise for the others.
  const worse = PERFORMANCE_METRICS[m] === 'higher' ? b.value - value : value - b.value;
  const breached = worse > t.maxDropFromServing!;
  return {
    breached,
    reason: breached ? 'DroppedFromServing' : 'WithinThreshold',
    text:
      `${m} ${fmt(value)} is ${fmt(Math.abs(worse))} ${worse >= 0 ? 'worse' : 'better'} than the serving version ${b.version}'s holdout ${fmt(b.value)} ` +
      `(maxDropFromServing ${t.maxDropFromServing})`,
  };
}

/** The verdict and condition of a check's figures under the spec's trigger. */
export function judgePerformance(spec: PerformanceSpec, f: PerformanceFigures, notes: readonly InputNote[], model: string): Judgement {
  const tail = notes.length ? `; ${notes.join('; ')}` : '';
  if (f.labelled < spec.minLabelledRows) {
    return {
      verdict: false,
      degraded: false,
      condition: {
        status: 'Unknown',
        reason: 'InsufficientLabels',
        message: `only ${f.labelled} labelled predictions, ${spec.minLabelledRows} needed (performance.minLabelledRows); ${figuresText(f)}${tail}`,
      },
    };
  }
  const t = spec.trigger;
  if (!t) {
    return {
      verdict: false,
      degraded: false,
      condition: { status: 'False', reason: 'NoTrigger', message: `${metricsText(f)} on ${figuresText(f)}; no performance.trigger is set${tail}` },
    };
  }
  const value = f.metrics[t.metric];
  if (value === undefined) {
    const why = f.unavailableMetrics?.find((u) => u.metric === t.metric)?.reason ?? 'not computed';
    return { verdict: false, degraded: false, condition: { status: 'Unknown', reason: 'MetricUnavailable', message: `${t.metric} cannot be computed: ${why}; ${figuresText(f)}${tail}` } };
  }
  if (t.maxDropFromServing !== undefined && !f.baseline) {
    return {
      verdict: false,
      degraded: false,
      condition: {
        status: 'Unknown',
        reason: 'NoServingBaseline',
        message: `trigger.maxDropFromServing needs the serving version's ${t.metric} on its holdout, and Model "${model}" records none for it (status.versions[].metrics); ${t.metric} ${fmt(value)} on ${figuresText(f)}${tail}`,
      },
    };
  }
  const r = applyTrigger(t, value, f.baseline);
  return {
    verdict: true,
    degraded: r.breached,
    condition: { status: r.breached ? 'True' : 'False', reason: r.reason, message: `${r.text} on ${figuresText(f)}${tail}` },
  };
}

/** The serving version's holdout value of `metric`, from the trainer's metrics as the Model recorded them. */
export function servingBaseline(
  model: { status?: { servingVersion?: string; versions?: readonly { name: string; metrics?: Record<string, number> }[] } },
  metric: PerformanceMetric,
): PerformanceFigures['baseline'] {
  const version = model.status?.servingVersion;
  const metrics = model.status?.versions?.find((v) => v.name === version)?.metrics;
  if (!version || !metrics) return undefined;
  // metrics.json of the built-in and the example trainers says "logloss".
  const names = metric === 'logLoss' ? ['logloss', 'logLoss', 'log_loss'] : [metric];
  for (const n of names) {
    const value = metrics[n];
    if (typeof value === 'number' && Number.isFinite(value)) return { version, metric, value };
  }
  return undefined;
}

export interface PerformancePart {
  spec: PerformanceSpec | undefined;
  evaluation: PerformanceEvaluation | undefined;
  model: string;
  generation: number;
  now: Date;
}

/** The judgement of a part with figures; undefined for a failed or absent part. */
export function judgementOf(p: PerformancePart): Judgement | undefined {
  return p.spec && p.evaluation?.kind === 'figures' ? judgePerformance(p.spec, p.evaluation.figures, p.evaluation.notes, p.model) : undefined;
}

/**
 * `next` (the drift part's status) with the performance part: status.performance
 * and PerformanceDegraded, both removed when the monitor has no spec.performance.
 * When `next` is a verdict (`verdict`: it advanced lastCheckTime), its streak
 * counts drift or degraded performance.
 */
export function withPerformance(next: DriftMonitorStatus, prev: DriftMonitorStatus, p: PerformancePart, verdict: boolean): DriftMonitorStatus {
  const out: DriftMonitorStatus = { ...next };
  delete out.performance;
  if (!p.spec || !p.evaluation) {
    return { ...out, conditions: removeCondition(next.conditions, PERFORMANCE_CONDITION) };
  }
  const j = judgementOf(p);
  if (p.evaluation.kind === 'failed') {
    out.conditions = setCondition(next.conditions, { type: PERFORMANCE_CONDITION, status: 'Unknown', reason: p.evaluation.reason, message: p.evaluation.message.slice(0, 4000), observedGeneration: p.generation }, p.now);
    return out;
  }
  out.performance = { ...p.evaluation.figures, degraded: j!.degraded };
  out.conditions = setCondition(next.conditions, { type: PERFORMANCE_CONDITION, ...j!.condition, message: j!.condition.message.slice(0, 4000), observedGeneration: p.generation }, p.now);
  if (verdict) {
    out.consecutiveDriftChecks = next.driftDetected === true || j!.degraded ? (prev.consecutiveDriftChecks ?? 0) + 1 : 0;
  }
  return out;
}

/**
 * A check whose drift part had too few samples (`noDrift`, the status that
 * says so) but whose performance part has a verdict: that verdict is the
 * check's. See the comment at the top.
 */
export function performanceVerdictStatus(noDrift: DriftMonitorStatus, prev: DriftMonitorStatus, p: PerformancePart): DriftMonitorStatus {
  const verdict: DriftMonitorStatus = { ...noDrift, lastCheckTime: kubeTime(p.now) };
  delete verdict.driftDetected;
  delete verdict.driftShare;
  delete verdict.features;
  delete verdict.outputs;
  delete verdict.predictionDrift;
  return withPerformance(verdict, prev, p, true);
}
