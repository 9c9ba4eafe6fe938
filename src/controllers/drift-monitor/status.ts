// A DriftMonitor's Ready/Stalled/Reconciling from what the operator found.
// Pure logic.
//
// Ready is True only when checks can run and the last one of the current
// spec did not fail. Problems, most fundamental first:
//   ChildRejected       the API server refused the CronJob or its RBAC  (Stalled)
//   CredentialsNotFound a data set's credentialsSecretRef names no Secret (Stalled)
//   ModelNotFound       the Model does not exist (yet): not Stalled, a GitOps
//                       tool may be about to create it
//   UnknownFeature      spec.features names features the Model lacks     (Stalled)
//   NoReferenceForVersion  reference.fromServingVersion, and the serving version
//                       records no training data set: no check runs (not Stalled:
//                       a promotion or the Model's spec.artifact.trainingData ends it)
//   <check reason>      the last check of this generation failed (ReferenceUnreadable,
//                       SamplesUnavailable, ...), as the check wrote in DriftDetected (Stalled)
//   RetrainBudgetExhausted  the newest retrain.maxConsecutiveRejections RetrainJobs
//                       were all Rejected: checks go on, retrains do not until
//                       re-armed (Stalled)
import type { DriftMonitor } from '../../api/index.js';
import { getCondition, setAbnormalCondition, setCondition, type Condition } from '../../runtime/conditions.js';
import { NO_REFERENCE_REASON } from './reference.js';

export interface MonitorFindings {
  generation: number;
  /** The API server's refusal of a child, if any. */
  refused?: string;
  /** Secrets referenced by the data sets that do not exist, with the field that names each. */
  missingSecrets: { field: string; name: string }[];
  /** The Model, if it exists: its feature names. */
  modelFeatures?: readonly string[];
  /** reference.fromServingVersion found no data set for the serving version: why. */
  noReference?: string;
  /** The retrain budget is exhausted: the message that says which runs and how to re-arm. */
  budgetExhausted?: string;
}

export const BUDGET_EXHAUSTED_REASON = 'RetrainBudgetExhausted';

/** DriftDetected says the last check failed: Unknown with a reason other than a skip. */
export function failedCheck(conditions: readonly Condition[] | undefined, generation: number): Condition | undefined {
  const c = getCondition(conditions, 'DriftDetected');
  if (!c || c.status !== 'Unknown' || c.reason === 'InsufficientSamples') return undefined;
  // A failure of an older spec is not news: the next check runs the current one.
  if (c.observedGeneration !== undefined && c.observedGeneration < generation) return undefined;
  return c;
}

export function monitorConditions(monitor: DriftMonitor, f: MonitorFindings, now: Date): Condition[] {
  const g = f.generation;
  const ns = monitor.metadata.namespace ?? '';
  const modelName = monitor.spec.modelRef.name;
  let problem: { reason: string; message: string; stalled: boolean } | undefined;
  if (f.refused) {
    problem = { reason: 'ChildRejected', message: f.refused, stalled: true };
  } else if (f.missingSecrets.length) {
    const list = f.missingSecrets.map((s) => `Secret "${s.name}" (${s.field})`).join(', ');
    problem = { reason: 'CredentialsNotFound', message: `${list} does not exist in namespace ${ns}; no check can run until it does`, stalled: true };
  } else if (!f.modelFeatures) {
    problem = { reason: 'ModelNotFound', message: `Model "${modelName}" does not exist in namespace ${ns}; checks will fail until it does`, stalled: false };
  } else {
    const have = new Set(f.modelFeatures);
    const unknown = (monitor.spec.features ?? []).map((x) => x.name).filter((n) => !have.has(n));
    let failed = failedCheck(monitor.status?.conditions, g);
    // A check that found no reference, when the operator now finds one, is history: the next check has it.
    if (failed?.reason === NO_REFERENCE_REASON && !f.noReference) failed = undefined;
    if (unknown.length) {
      problem = {
        reason: 'UnknownFeature',
        message: `spec.features names ${unknown.map((n) => `"${n}"`).join(', ')}, which Model "${modelName}" does not have (it has: ${f.modelFeatures.join(', ')})`,
        stalled: true,
      };
    } else if (f.noReference && !monitor.spec.suspend) {
      problem = { reason: NO_REFERENCE_REASON, message: f.noReference, stalled: false };
    } else if (failed && !monitor.spec.suspend) {
      problem = { reason: failed.reason, message: `the last check failed: ${failed.message}`, stalled: true };
    } else if (f.budgetExhausted) {
      problem = { reason: BUDGET_EXHAUSTED_REASON, message: f.budgetExhausted, stalled: true };
    }
  }
  let c = [...(monitor.status?.conditions ?? [])];
  if (problem) {
    c = setCondition(c, { type: 'Ready', status: 'False', reason: problem.reason, message: problem.message, observedGeneration: g }, now);
  } else {
    c = setCondition(c, {
      type: 'Ready',
      status: 'True',
      reason: monitor.spec.suspend ? 'Suspended' : 'Scheduled',
      message: monitor.spec.suspend ? 'checks are suspended' : `checks run on schedule "${monitor.spec.schedule}"`,
      observedGeneration: g,
    }, now);
  }
  c = setAbnormalCondition(c, 'Reconciling', false, '', '', g, now);
  c = setAbnormalCondition(c, 'Stalled', problem?.stalled ?? false, problem?.reason ?? '', problem?.message ?? '', g, now);
  return c;
}
