// The verdict of one analysis round: Promote, Reject (naming the figure that
// failed) or Extend (too little evidence yet, or the canary step has time
// left). Pure logic: the same figures and clock give the same verdict, so an
// operator that restarts mid-analysis decides as the one before it would.
import type { AnalysisSpec, PromotionFigures } from '../api/index.js';
import { parseDuration } from '../api/duration.js';

export type Verdict = 'Promote' | 'Reject' | 'Extend';

export interface Decision {
  verdict: Verdict;
  message: string;
}

export interface DecideContext {
  strategy: 'Shadow' | 'Canary' | 'Guard';
  /** Since the analysis (the whole candidate, all steps) began. */
  elapsedMs: number;
  deadlineMs: number;
  onDeadline: 'Reject' | 'Promote';
  /** Canary: time spent in this step and its length; Guard: time watched and the window. Shadow: unset (it decides on samples). */
  stepElapsedMs?: number;
  stepMs?: number;
  /** For messages: "canary step 1 of 2 (10%)", "guard". */
  stepLabel?: string;
}

const pct = (x: number) => `${(x * 100).toFixed(2)}%`;
const ms = (x: number | undefined) => (x === undefined ? '?' : `${x.toFixed(1)} ms`);
const minutes = (x: number) => (x >= 60_000 ? `${(x / 60_000).toFixed(1)}m` : `${Math.round(x / 1000)}s`);

/** Every threshold the figures break, each as a sentence naming the figure and the limit. */
export function failedThresholds(f: PromotionFigures, a: AnalysisSpec, strategy: DecideContext['strategy']): string[] {
  const failed: string[] = [];
  if (f.candidateErrorRate !== undefined) {
    const increase = f.candidateErrorRate - (f.championErrorRate ?? 0);
    if (increase > a.maxErrorRateIncrease + 1e-12) {
      failed.push(
        `error rate ${pct(f.candidateErrorRate)} is ${pct(increase)} above the ${strategy === 'Guard' ? 'previous version' : 'champion'}'s ${pct(f.championErrorRate ?? 0)} (maxErrorRateIncrease ${pct(a.maxErrorRateIncrease)})`,
      );
    }
  }
  // A ratio of two small p99s is mostly noise: it counts only with an increase a client would notice.
  const latencyIncreaseMs = (f.candidateP99Ms ?? 0) - (f.championP99Ms ?? 0);
  if (f.latencyRatio !== undefined && f.latencyRatio > a.maxLatencyRatio && latencyIncreaseMs >= parseDuration(a.minLatencyIncrease)) {
    failed.push(`p99 latency ${ms(f.candidateP99Ms)} is ${f.latencyRatio.toFixed(2)}x the ${strategy === 'Guard' ? 'previous version' : 'champion'}'s ${ms(f.championP99Ms)} (maxLatencyRatio ${a.maxLatencyRatio})`);
  }
  if (strategy === 'Shadow' && a.compare === 'Labels' && f.agreement !== undefined && f.agreement < a.minAgreement) {
    failed.push(`agreement ${pct(f.agreement)} is below minAgreement ${pct(a.minAgreement)}`);
  }
  if (strategy === 'Shadow' && a.compare === 'Scores' && a.maxMeanAbsoluteDifference !== undefined && (f.meanAbsoluteDifference ?? 0) > a.maxMeanAbsoluteDifference) {
    failed.push(`mean absolute difference ${f.meanAbsoluteDifference} is above maxMeanAbsoluteDifference ${a.maxMeanAbsoluteDifference}`);
  }
  if (f.outputDrift !== undefined && f.outputDrift > a.maxOutputDrift) {
    failed.push(`output drift (KS) ${f.outputDrift.toFixed(3)} is above maxOutputDrift ${a.maxOutputDrift}`);
  }
  return failed;
}

/** What the figures say now. */
export function decide(f: PromotionFigures | undefined, a: AnalysisSpec, c: DecideContext): Decision {
  const samples = f?.samples ?? 0;
  const what = c.strategy === 'Guard' ? 'guard' : c.stepLabel ?? c.strategy.toLowerCase();
  if (samples < a.minSamples) {
    if (c.strategy !== 'Guard' && c.elapsedMs >= c.deadlineMs) {
      const why = `deadline ${minutes(c.deadlineMs)} reached with ${samples} of ${a.minSamples} samples`;
      return c.onDeadline === 'Promote'
        ? { verdict: 'Promote', message: `${why}; onDeadline is Promote` }
        : { verdict: 'Reject', message: `${why}; onDeadline is Reject (send more traffic, lower minSamples or lengthen the deadline)` };
    }
    if (c.strategy === 'Guard' && c.stepMs !== undefined && (c.stepElapsedMs ?? 0) >= c.stepMs) {
      return { verdict: 'Promote', message: `guard window ${minutes(c.stepMs)} ended with ${samples} of ${a.minSamples} samples: too few to judge, the version stays` };
    }
    return { verdict: 'Extend', message: `${what}: ${samples} of ${a.minSamples} samples so far` };
  }
  // The candidate's own server must have reported (its latency): a verdict without it would skip a threshold.
  if (c.strategy !== 'Guard' && f!.candidateP99Ms === undefined) {
    if (c.elapsedMs >= c.deadlineMs) return { verdict: 'Reject', message: `deadline ${minutes(c.deadlineMs)} reached without figures from the candidate's own pods` };
    return { verdict: 'Extend', message: `${what}: ${samples} samples, but no figures from the candidate's own pods yet` };
  }
  const failed = failedThresholds(f!, a, c.strategy);
  if (failed.length > 0) return { verdict: 'Reject', message: `${what} over ${samples} samples: ${failed.join('; ')}` };
  if (c.stepMs !== undefined && (c.stepElapsedMs ?? 0) < c.stepMs) {
    return { verdict: 'Extend', message: `${what}: all thresholds met over ${samples} samples; ${minutes(c.stepMs - (c.stepElapsedMs ?? 0))} of ${minutes(c.stepMs)} left` };
  }
  return { verdict: 'Promote', message: `${what}: all thresholds met over ${samples} samples${summary(f!)}` };
}

function summary(f: PromotionFigures): string {
  const parts: string[] = [];
  if (f.agreement !== undefined) parts.push(`agreement ${pct(f.agreement)}`);
  if (f.candidateErrorRate !== undefined) parts.push(`error rate ${pct(f.candidateErrorRate)}`);
  if (f.latencyRatio !== undefined) parts.push(`p99 ratio ${f.latencyRatio.toFixed(2)}`);
  if (f.outputDrift !== undefined) parts.push(`output drift ${f.outputDrift.toFixed(3)}`);
  return parts.length ? ` (${parts.join(', ')})` : '';
}
