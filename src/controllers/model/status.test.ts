import { describe, expect, it } from 'vitest';
import { getCondition } from '../../runtime/conditions.js';
import { modelConditions, rolloutState, type DeploymentState } from './status.js';

const dep = (over: Partial<NonNullable<DeploymentState['status']>>, replicas = 2, generation = 3): DeploymentState => ({
  metadata: { generation },
  spec: { replicas },
  status: { observedGeneration: generation, replicas, updatedReplicas: replicas, readyReplicas: replicas, availableReplicas: replicas, ...over },
});
const NOW = new Date('2026-01-01T00:00:00Z');

describe('rolloutState', () => {
  it('is complete when every desired replica is updated and available', () => {
    expect(rolloutState(dep({}))).toMatchObject({ complete: true, stuck: false, readyReplicas: 2 });
  });
  it('is not complete while old replicas linger or the new ones are not available', () => {
    expect(rolloutState(dep({ replicas: 3 })).complete).toBe(false);
    expect(rolloutState(dep({ updatedReplicas: 1 })).complete).toBe(false);
    expect(rolloutState(dep({ availableReplicas: 1 })).message).toBe('1 of 2 updated replicas available');
  });
  it('is not complete until the Deployment controller observed the latest generation', () => {
    expect(rolloutState(dep({ observedGeneration: 2 })).complete).toBe(false);
  });
  it('is stuck on ProgressDeadlineExceeded', () => {
    const s = rolloutState(dep({ availableReplicas: 0, conditions: [{ type: 'Progressing', status: 'False', reason: 'ProgressDeadlineExceeded', message: 'timed out' }] }));
    expect(s).toMatchObject({ complete: false, stuck: true });
    expect(s.message).toContain('timed out');
  });
});

describe('modelConditions', () => {
  it('Ready=True, no Reconciling/Stalled when complete', () => {
    const c = modelConditions(undefined, { generation: 3, rollout: rolloutState(dep({})), servingVersion: 'v1' }, NOW);
    expect(getCondition(c, 'Ready')).toMatchObject({ status: 'True', reason: 'Available', observedGeneration: 3 });
    expect(getCondition(c, 'Reconciling')).toBeUndefined();
    expect(getCondition(c, 'Stalled')).toBeUndefined();
  });
  it('Reconciling=True while rolling out; Stalled=True when stuck', () => {
    const rolling = modelConditions(undefined, { generation: 1, rollout: rolloutState(dep({ updatedReplicas: 1 })) }, NOW);
    expect(getCondition(rolling, 'Reconciling')?.status).toBe('True');
    expect(getCondition(rolling, 'Ready')?.reason).toBe('RollingOut');
    const stuck = modelConditions(rolling, {
      generation: 1,
      rollout: rolloutState(dep({ availableReplicas: 0, conditions: [{ type: 'ReplicaFailure', status: 'True', message: 'quota' }] })),
    }, NOW);
    expect(getCondition(stuck, 'Reconciling')).toBeUndefined();
    expect(getCondition(stuck, 'Stalled')?.status).toBe('True');
    expect(getCondition(stuck, 'Degraded')?.status).toBe('True');
  });
  it('keeps lastTransitionTime when a status does not change', () => {
    const a = modelConditions(undefined, { generation: 1, rollout: rolloutState(dep({})) }, NOW);
    const b = modelConditions(a, { generation: 1, rollout: rolloutState(dep({})) }, new Date('2026-02-01T00:00:00Z'));
    expect(b).toEqual(a);
  });
});
