// Whether a DriftMonitor starts a RetrainJob now. Pure logic, no I/O.
//
// A verdict triggers when it found drift or degraded performance
// (status.performance.degraded of that same check, spec.performance.trigger);
// status.consecutiveDriftChecks counts such verdicts in a row (written by the
// check, src/drift/performance-status.ts).
//
// One verdict (identified by status.lastCheckTime, which only checks that
// produced a verdict advance) can start at most one RetrainJob: its name is
// derived from the monitor's uid and that time, so a repeated reconcile, an
// operator restart or a re-delivered event finds the job already there
// (AlreadyExists) instead of making a second. Checks that failed, timed out or
// had too few samples do not advance lastCheckTime and so never start one.
import { createHash } from 'node:crypto';
import { parseDuration, type DriftMonitor } from '../../api/index.js';

export interface RetrainContext {
  now: Date;
  /** RetrainJobs of this monitor that are neither Succeeded, Failed nor Rejected. */
  activeRetrains: number;
  /** Creation time of this monitor's newest RetrainJob, if any (survives a lost status write). */
  newestRetrainCreatedAt?: string;
  /** The Model's serving version now: a verdict taken while another one served starts nothing. */
  servingVersion?: string;
  /** Set when the retrain budget is exhausted (retrain-budget.ts): why, for the reason. */
  budgetExhausted?: string;
}

export type RetrainDecision = { create: true; name: string } | { create: false; reason: string };

/** Deterministic RetrainJob name for one verdict; short enough for the Job and its pod labels. */
export function retrainJobName(monitorName: string, monitorUid: string, checkTime: string): string {
  const id = createHash('sha256').update(`${monitorUid}/${checkTime}`).digest('hex').slice(0, 8);
  return `${monitorName.slice(0, 40).replace(/[-.]+$/, '')}-retrain-${id}`;
}

/** What the last verdict found that counts for a retrain: drift, degraded performance, both, or nothing. */
export function verdictCauses(status: DriftMonitor['status']): ('drift' | 'performance')[] {
  const s = status ?? {};
  if (!s.lastCheckTime) return [];
  // Figures of a check without a verdict (too few labels) or of an older check never count.
  const degraded = s.performance?.degraded === true && s.performance.checkTime === s.lastCheckTime;
  return [...(s.driftDetected === true ? (['drift'] as const) : []), ...(degraded ? (['performance'] as const) : [])];
}

/** "drift", "degraded performance" or "drift and degraded performance", for messages. */
export const causesText = (causes: readonly ('drift' | 'performance')[]): string =>
  causes.map((c) => (c === 'drift' ? 'drift' : 'degraded performance')).join(' and ') || 'nothing';

export function decideRetrain(m: DriftMonitor, ctx: RetrainContext): RetrainDecision {
  const policy = m.spec.retrain;
  const s = m.status ?? {};
  if (!policy.enabled || !policy.template) return { create: false, reason: 'retrain is not enabled' };
  if (ctx.budgetExhausted) return { create: false, reason: `the retrain budget is exhausted: ${ctx.budgetExhausted}` };
  const causes = verdictCauses(s);
  if (causes.length === 0 || !s.lastCheckTime) return { create: false, reason: 'neither drift nor degraded performance in the last verdict' };
  // The streak judged the version that served then; a promotion or a rollback since makes it another model's.
  if (s.streakVersion && ctx.servingVersion && s.streakVersion !== ctx.servingVersion) {
    return { create: false, reason: `the last verdict was taken while ${s.streakVersion} served; ${ctx.servingVersion} serves now: waiting for a check of it` };
  }
  const streak = s.consecutiveDriftChecks ?? 0;
  if (streak < policy.consecutiveChecks) {
    return { create: false, reason: `drift or degraded performance in ${streak} of ${policy.consecutiveChecks} consecutive checks` };
  }
  const lastRetrain = [s.lastRetrainTime, ctx.newestRetrainCreatedAt]
    .filter((t): t is string => !!t)
    .map((t) => Date.parse(t))
    .reduce((a, b) => Math.max(a, b), -Infinity);
  const checkAt = Date.parse(s.lastCheckTime);
  if (checkAt <= lastRetrain) return { create: false, reason: 'the last verdict already started a retrain' };
  const cooldownMs = parseDuration(policy.cooldown);
  if (ctx.now.getTime() - lastRetrain < cooldownMs) {
    return { create: false, reason: `cooling down until ${new Date(lastRetrain + cooldownMs).toISOString()}` };
  }
  if (ctx.activeRetrains >= policy.maxConcurrent) {
    return { create: false, reason: `${ctx.activeRetrains} retrain(s) still running (maxConcurrent ${policy.maxConcurrent})` };
  }
  return { create: true, name: retrainJobName(m.metadata.name, m.metadata.uid ?? '', s.lastCheckTime) };
}

export interface RetrainRecord {
  lastRetrainJob: string;
  lastRetrainTime: string;
}

/**
 * The status record of this monitor's newest RetrainJob, when status lacks it.
 * The operator creates a run and then records it in status; a crash between
 * the two leaves the run unrecorded, and since the trigger already counts it
 * (by its creation time) no later reconcile would create, and so record, it
 * again. `runs` are the monitor's own RetrainJobs.
 */
export function unrecordedRetrain(
  status: { lastRetrainJob?: string; lastRetrainTime?: string },
  runs: readonly { metadata: { name: string; creationTimestamp?: string } }[],
): RetrainRecord | undefined {
  let newest: { name: string; created: string } | undefined;
  for (const r of runs) {
    const created = r.metadata.creationTimestamp;
    if (created && (!newest || created > newest.created)) newest = { name: r.metadata.name, created };
  }
  if (!newest || newest.name === status.lastRetrainJob) return undefined;
  // An older run than the recorded one (e.g. the recorded one was deleted) changes nothing.
  if (status.lastRetrainTime && newest.created < status.lastRetrainTime) return undefined;
  return { lastRetrainJob: newest.name, lastRetrainTime: newest.created };
}
