import { describe, expect, it } from 'vitest';
import { getCondition } from '../../runtime/conditions.js';
import { serverFailure, summarizeServerPod } from './server-failure.js';
import { modelConditions, rolloutState } from './status.js';

/** A serving pod as the API server returns it, its server container in `status`. */
const pod = (name: string, version: string, containerStatus?: object) => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name, namespace: 'ml', labels: { 'fluxora.io/model': 'churn' }, resourceVersion: '7' },
  spec: { containers: [{ name: 'server', image: 'fluxora:1', env: [{ name: 'FLUXORA_MODEL_NAME', value: 'churn' }, { name: 'FLUXORA_MODEL_VERSION', value: version }] }] },
  status: { phase: 'Running', containerStatuses: containerStatus ? [{ name: 'server', ...containerStatus }] : [] },
});
const crashLooping = (message?: string) => ({
  state: { waiting: { reason: 'CrashLoopBackOff' } },
  lastState: { terminated: { exitCode: 1, reason: 'Error', ...(message ? { message } : {}) } },
  restartCount: 4,
});

describe('summarizeServerPod', () => {
  it('keeps the version and a failing server run, and drops the rest of the pod', () => {
    const s = summarizeServerPod(pod('churn-a', 'v2', crashLooping('NotFound: s3://m/churn/v2.onnx does not exist\n')));
    expect(s).toEqual({
      name: 'churn-a',
      deleting: false,
      version: 'v2',
      failed: { exitCode: 1, reason: 'Error', message: 'NotFound: s3://m/churn/v2.onnx does not exist' },
    });
  });
  it('reports nothing for a running server, even one that failed before it came up', () => {
    expect(summarizeServerPod(pod('a', 'v1', { state: { running: {} }, lastState: { terminated: { exitCode: 1 } }, restartCount: 1 })).failed).toBeUndefined();
    expect(summarizeServerPod(pod('a', 'v1', { state: { waiting: { reason: 'ContainerCreating' } } })).failed).toBeUndefined();
    expect(summarizeServerPod(pod('a', 'v1')).failed).toBeUndefined();
  });
  it('reports a server that exited with an error and was not restarted yet', () => {
    expect(summarizeServerPod(pod('a', 'v1', { state: { terminated: { exitCode: 1, message: 'InvalidModel: not ONNX' } } })).failed?.message).toBe('InvalidModel: not ONNX');
    expect(summarizeServerPod(pod('a', 'v1', { state: { terminated: { exitCode: 0 } } })).failed).toBeUndefined();
  });
});

describe('serverFailure', () => {
  const pods = (...p: ReturnType<typeof pod>[]) => p.map(summarizeServerPod);
  it("names the first failing pod of the serving version with the server's own line", () => {
    const f = serverFailure(pods(pod('churn-b', 'v2', crashLooping('NotFound: gone')), pod('churn-a', 'v2', crashLooping('NotFound: gone')), pod('churn-c', 'v2', { state: { running: {} } })), 'v2');
    expect(f).toEqual({ reason: 'ServingFailed', message: 'the server of v2 cannot start (2 of 3 pods failing): pod churn-a: NotFound: gone' });
  });
  it('falls back to the exit code when the server wrote no line', () => {
    expect(serverFailure(pods(pod('p', 'v1', crashLooping())), 'v1')?.message).toBe('the server of v1 cannot start: pod p: exit code 1 (Error); see kubectl logs --previous');
  });
  it('ignores pods of other versions', () => {
    expect(serverFailure(pods(pod('old', 'v1', crashLooping('boom'))), 'v2')).toBeUndefined();
  });
});

describe('modelConditions with a failing server', () => {
  const failure = { reason: 'ServingFailed', message: 'the server of v2 cannot start: pod p: NotFound: gone' };
  const NOW = new Date('2026-01-01T00:00:00Z');
  it('is not Ready, Degraded and Stalled with the reason while the rollout is incomplete', () => {
    const rollout = rolloutState({ metadata: { generation: 1 }, spec: { replicas: 1 }, status: { observedGeneration: 1, replicas: 1, updatedReplicas: 1, availableReplicas: 0 } });
    const c = modelConditions([], { generation: 1, rollout, serverFailure: failure, servingVersion: 'v2' }, NOW);
    expect(getCondition(c, 'Ready')).toMatchObject({ status: 'False', reason: 'ServingFailed', message: failure.message });
    expect(getCondition(c, 'Degraded')).toMatchObject({ status: 'True', reason: 'ServingFailed' });
    expect(getCondition(c, 'Stalled')).toMatchObject({ status: 'True', reason: 'ServingFailed' });
    expect(getCondition(c, 'Reconciling')).toBeUndefined();
  });
  it('is Ready once every replica is available, whatever a pod went through', () => {
    const rollout = rolloutState({ metadata: { generation: 1 }, spec: { replicas: 1 }, status: { observedGeneration: 1, replicas: 1, updatedReplicas: 1, availableReplicas: 1 } });
    const c = modelConditions([], { generation: 1, rollout, serverFailure: failure, servingVersion: 'v2' }, NOW);
    expect(getCondition(c, 'Ready')).toMatchObject({ status: 'True', reason: 'Available' });
  });
});
