// Model status from the Deployment's real rollout state. Pure logic.
//
// Ready      True once the Deployment has rolled out the current template and
//            all desired replicas are available.
// Progressing True while a rollout is under way.
// Degraded   True when the rollout is stuck (progress deadline exceeded,
//            replica failures), the new version's server fails to start
//            (ServingFailed, Unschedulable, ImagePullFailed,
//            ContainerConfigError), or the spec cannot be honoured
//            (ChildRejected, PinnedVersionNotFound).
// Reconciling / Stalled: kstatus' abnormal-true conditions, present only while True.
import { setAbnormalCondition, setCondition, type Condition } from '../../runtime/conditions.js';

export interface DeploymentState {
  metadata: { generation?: number };
  spec?: { replicas?: number };
  status?: {
    observedGeneration?: number;
    replicas?: number;
    updatedReplicas?: number;
    readyReplicas?: number;
    availableReplicas?: number;
    conditions?: { type: string; status: string; reason?: string; message?: string }[];
  };
}

export interface RolloutState {
  complete: boolean;
  stuck: boolean;
  replicas: number;
  readyReplicas: number;
  message: string;
}

export function rolloutState(d: DeploymentState | undefined): RolloutState {
  if (!d) return { complete: false, stuck: false, replicas: 0, readyReplicas: 0, message: 'Deployment not created yet' };
  const s = d.status ?? {};
  const want = d.spec?.replicas ?? 1;
  const replicas = s.replicas ?? 0;
  const ready = s.readyReplicas ?? 0;
  const cond = (t: string) => s.conditions?.find((c) => c.type === t);
  const progressing = cond('Progressing');
  const replicaFailure = cond('ReplicaFailure');
  const stuck = (progressing?.status === 'False' && progressing.reason === 'ProgressDeadlineExceeded') || replicaFailure?.status === 'True';
  if ((s.observedGeneration ?? 0) < (d.metadata.generation ?? 0)) {
    return { complete: false, stuck, replicas, readyReplicas: ready, message: 'Deployment controller has not observed the latest spec yet' };
  }
  const updated = s.updatedReplicas ?? 0;
  const available = s.availableReplicas ?? 0;
  let message: string;
  let complete = false;
  if (updated < want) message = `${updated} of ${want} replicas updated`;
  else if (replicas > updated) message = `${replicas - updated} old replicas pending termination`;
  else if (available < updated) message = `${available} of ${updated} updated replicas available`;
  else {
    complete = true;
    message = want === 0 ? 'scaled to zero' : `${available} of ${want} replicas available`;
  }
  if (stuck) {
    message = replicaFailure?.status === 'True'
      ? `replica failure: ${replicaFailure.message ?? replicaFailure.reason ?? ''}`
      : `rollout stuck: ${progressing?.message ?? 'progress deadline exceeded'}`;
  }
  return { complete, stuck, replicas, readyReplicas: ready, message };
}

export interface ModelConditionInputs {
  generation: number;
  rollout: RolloutState;
  /** A spec problem the operator cannot fix by retrying (needs a human). */
  problem?: { reason: string; message: string };
  /** The serving version's server pods fail to start (server-failure.ts); counts while the rollout is incomplete. */
  serverFailure?: { reason: string; message: string };
  servingVersion?: string;
}

export function modelConditions(prev: readonly Condition[] | undefined, i: ModelConditionInputs, now: Date): Condition[] {
  const g = i.generation;
  const { rollout } = i;
  // A crashing server (a missing or corrupt artifact) needs a human like a
  // spec problem does; once every replica is available it is history.
  const problem = i.problem ?? (rollout.complete ? undefined : i.serverFailure);
  let c = [...(prev ?? [])];
  const degraded = rollout.stuck || problem !== undefined;
  const progressing = !rollout.complete && !degraded;

  if (problem) {
    c = setCondition(c, { type: 'Ready', status: 'False', reason: problem.reason, message: problem.message, observedGeneration: g }, now);
  } else if (rollout.complete) {
    c = setCondition(c, {
      type: 'Ready',
      status: 'True',
      reason: 'Available',
      message: `serving ${i.servingVersion ?? 'model'}: ${rollout.message}`,
      observedGeneration: g,
    }, now);
  } else {
    c = setCondition(c, {
      type: 'Ready',
      status: 'False',
      reason: rollout.stuck ? 'RolloutStuck' : 'RollingOut',
      message: rollout.message,
      observedGeneration: g,
    }, now);
  }
  c = setCondition(c, {
    type: 'Progressing',
    status: progressing ? 'True' : 'False',
    reason: progressing ? 'RollingOut' : rollout.complete ? 'RolloutComplete' : 'RolloutHalted',
    message: rollout.message,
    observedGeneration: g,
  }, now);
  c = setCondition(c, {
    type: 'Degraded',
    status: degraded ? 'True' : 'False',
    reason: problem?.reason ?? (rollout.stuck ? 'RolloutStuck' : 'AsExpected'),
    message: problem?.message ?? (rollout.stuck ? rollout.message : 'no problems detected'),
    observedGeneration: g,
  }, now);
  c = setAbnormalCondition(c, 'Reconciling', progressing, 'RollingOut', rollout.message, g, now);
  c = setAbnormalCondition(c, 'Stalled', degraded, problem?.reason ?? 'RolloutStuck', problem?.message ?? rollout.message, g, now);
  return c;
}
