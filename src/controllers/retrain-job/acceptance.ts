// The acceptance gate: does a trained model's metrics.json earn promotion?
// Pure logic, no I/O.
import { ACCEPTANCE_METRICS, type RetrainJobSpec } from '../../api/index.js';

export interface TrainerMetrics {
  /** Metrics of the new model on the holdout. */
  metrics: Record<string, number>;
  /** The trainer's evaluation of the serving model on the same holdout, if it made one. */
  serving?: Record<string, number>;
  /** Top-level entries that are not finite numbers, as JSON (a metric the gate needs must not be one of them). */
  nonNumeric?: Record<string, string>;
}

/**
 * Parses metrics.json: an object of metric name to number; an optional
 * "serving" object holds the serving model's metrics on the same holdout.
 * Other non-numeric fields (row counts, feature lists) are ignored.
 */
export function parseTrainerMetrics(text: string): TrainerMetrics {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new Error(`metrics.json is not valid JSON: ${(e as Error).message}`);
  }
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw new Error('metrics.json must be a JSON object of metric name to number');
  const numbers = (o: object) =>
    Object.fromEntries(Object.entries(o).filter((e): e is [string, number] => typeof e[1] === 'number' && Number.isFinite(e[1])));
  const obj = raw as Record<string, unknown>;
  const serving = obj.serving !== null && typeof obj.serving === 'object' && !Array.isArray(obj.serving) ? numbers(obj.serving) : undefined;
  const metrics = numbers(obj);
  const nonNumeric = Object.fromEntries(
    Object.entries(obj)
      .filter(([k]) => !(k in metrics) && k !== 'serving')
      .map(([k, v]) => [k, (JSON.stringify(v) ?? String(v)).slice(0, 64)]),
  );
  return { metrics, ...(serving ? { serving } : {}), ...(Object.keys(nonNumeric).length ? { nonNumeric } : {}) };
}

/**
 * accepted, or not: `invalid` when the gate could not judge the model at all
 * (the metric it needs is missing or not a number: broken trainer output, the
 * run Failed), else a quality verdict (the run Rejected).
 */
export type GateResult = { accepted: true; message: string } | { accepted: false; invalid?: true; reason: string; message: string };

export function applyAcceptance(
  acceptance: RetrainJobSpec['acceptance'],
  m: TrainerMetrics,
  servingVersionMetrics: Record<string, number> | undefined,
): GateResult {
  if (!acceptance) return { accepted: true, message: 'no acceptance criteria: every successful run is accepted' };
  const name = acceptance.metric;
  const value = m.metrics[name];
  if (value === undefined) {
    const raw = m.nonNumeric?.[name];
    if (raw !== undefined) {
      return { accepted: false, invalid: true, reason: 'InvalidMetrics', message: `metrics.json's "${name}" is ${raw}, not a number: the trainer's output is broken, so the acceptance gate cannot judge the model` };
    }
    return {
      accepted: false,
      invalid: true,
      reason: 'MetricMissing',
      message: `metrics.json has no "${name}", which spec.acceptance gates on (it has: ${Object.keys(m.metrics).join(', ') || 'nothing'}): the trainer must write it`,
    };
  }
  if (acceptance.min !== undefined && value < acceptance.min) {
    return { accepted: false, reason: 'BelowMinimum', message: `${name} ${value} is below the minimum ${acceptance.min}` };
  }
  if (acceptance.max !== undefined && value > acceptance.max) {
    return { accepted: false, reason: 'AboveMaximum', message: `${name} ${value} is above the maximum ${acceptance.max}` };
  }
  if (acceptance.mustBeatServing) {
    // Prefer the trainer's own evaluation of the serving model on the same
    // holdout; fall back to the value recorded when that version was accepted.
    const baseline = m.serving?.[name] ?? servingVersionMetrics?.[name];
    if (baseline === undefined) {
      return { accepted: false, reason: 'NoServingBaseline', message: `mustBeatServing is set but there is no ${name} for the serving version to compare with` };
    }
    const better = ACCEPTANCE_METRICS[name] === 'higher' ? value > baseline : value < baseline;
    if (!better) {
      return { accepted: false, reason: 'NotBetterThanServing', message: `${name} ${value} does not beat the serving version's ${baseline} (${ACCEPTANCE_METRICS[name]} is better)` };
    }
    return { accepted: true, message: `${name} ${value} beats the serving version's ${baseline}` };
  }
  return { accepted: true, message: `${name} ${value} passes the acceptance criteria` };
}
