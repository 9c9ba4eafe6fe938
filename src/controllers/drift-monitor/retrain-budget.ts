// The retrain budget of a DriftMonitor (retrain.maxConsecutiveRejections).
// Pure logic.
//
// A world that moved away from what the model can learn, or an acceptance
// gate no retrain can pass, makes every retrain end Rejected; without a bound
// the monitor would start one per cooldown forever, each a full training run.
// When the newest N RetrainJobs this monitor started for its Model all ended
// Rejected, it starts no more until a person re-arms it:
//   - a change of the spec (a new generation: a new template, gate, reference);
//   - a new value of the annotation fluxora.io/retrain-rearm.
// status.retrainBudget records the generation and annotation value it was
// last armed with, and when: runs created before a re-arm are not counted
// again, so one re-arm gives N more tries.
//
// Only Rejected counts: it is the verdict that retraining on this data does
// not give an acceptable model. A Failed run (a broken Job, unreadable
// data) says nothing about that; it is skipped, neither counted nor breaking
// the row. A Succeeded or a still running run ends the row.
import { RETRAIN_REARM_ANNOTATION, type DriftMonitor, type DriftMonitorStatus } from '../../api/index.js';
import { kubeTime } from '../../runtime/conditions.js';

export type BudgetRecord = NonNullable<DriftMonitorStatus['retrainBudget']>;

/** A RetrainJob as the budget reads it. */
export interface BudgetRun {
  metadata: { name: string; creationTimestamp?: string };
  status?: { phase?: string };
}

export interface BudgetState {
  record: BudgetRecord;
  /** The Rejected runs counted, newest first. */
  rejected: string[];
  /** What re-armed the budget in this reconcile, if anything did. */
  rearmedBy?: string;
}

/** The budget of `m` given its RetrainJobs for the Model (`runs`, any order). */
export function retrainBudget(m: Pick<DriftMonitor, 'metadata' | 'spec' | 'status'>, runs: readonly BudgetRun[], now: Date): BudgetState {
  const prev = m.status?.retrainBudget;
  const generation = m.metadata.generation ?? 0;
  const rearm = m.metadata.annotations?.[RETRAIN_REARM_ANNOTATION];
  let rearmedBy: string | undefined;
  // Without a record (a new monitor, or one from before the budget) every run counts; nothing was re-armed.
  if (prev && generation !== prev.generation) rearmedBy = `a spec change (generation ${generation})`;
  else if (prev && rearm !== undefined && rearm !== prev.rearm) rearmedBy = `annotation ${RETRAIN_REARM_ANNOTATION}="${rearm}"`;
  const armedAt = rearmedBy ? kubeTime(now) : prev?.armedAt;
  const armedBy = rearmedBy ?? prev?.armedBy;

  // Newest first; creation times have second resolution, so the name breaks ties (stably).
  const counted = runs
    .filter((r) => !armedAt || (r.metadata.creationTimestamp ?? '') >= armedAt)
    .sort((a, b) => (b.metadata.creationTimestamp ?? '').localeCompare(a.metadata.creationTimestamp ?? '') || b.metadata.name.localeCompare(a.metadata.name));
  const rejected: string[] = [];
  for (const r of counted) {
    const phase = r.status?.phase;
    if (phase === 'Failed') continue;
    if (phase !== 'Rejected') break;
    rejected.push(r.metadata.name);
  }
  const max = m.spec.retrain.maxConsecutiveRejections;
  return {
    record: {
      generation,
      ...(rearm !== undefined ? { rearm } : {}),
      ...(armedAt ? { armedAt } : {}),
      ...(armedBy ? { armedBy } : {}),
      consecutiveRejections: rejected.length,
      // Counted while retrain is disabled too (re-enabling it is a spec change, which re-arms), but only a retrain policy can run out.
      exhausted: m.spec.retrain.enabled && rejected.length >= max,
    },
    rejected: rejected.slice(0, max),
    ...(rearmedBy ? { rearmedBy } : {}),
  };
}

/** The Stalled/Ready message of an exhausted budget: which runs, and how to re-arm. */
export function budgetMessage(m: Pick<DriftMonitor, 'metadata' | 'spec'>, rejected: readonly string[]): string {
  const newest = rejected[0] ?? '';
  return (
    `the last ${rejected.length} RetrainJobs this monitor started for Model "${m.spec.modelRef.name}" all ended Rejected (${rejected.join(', ')}; ` +
    `retrain.maxConsecutiveRejections ${m.spec.retrain.maxConsecutiveRejections}): it starts no more. ` +
    `\`kubectl describe retrainjob ${newest}\` says why; re-arm it by changing its spec, or with ` +
    `\`kubectl annotate driftmonitor ${m.metadata.name} ${RETRAIN_REARM_ANNOTATION}="$(date +%s)" --overwrite\``
  );
}
