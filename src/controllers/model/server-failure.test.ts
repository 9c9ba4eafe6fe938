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

describe('a server that never starts (issue 13, item 3)', () => {
  const waiting = (reason: string, message?: string) => ({ state: { waiting: { reason, ...(message ? { message } : {}) } }, restartCount: 0 });
  const unschedulable = (name: string, version: string) => ({
    ...pod(name, version),
    status: {
      phase: 'Pending',
      conditions: [{ type: 'PodScheduled', status: 'False', reason: 'Unschedulable', message: '0/2 nodes are available: 2 Insufficient cpu.' }],
    },
  });
  it.each([
    ['ImagePullBackOff', 'Back-off pulling image "registry.example/fluxora:nope"', 'ImagePullFailed'],
    ['ErrImagePull', 'manifest unknown', 'ImagePullFailed'],
    ['InvalidImageName', 'invalid reference format', 'ImagePullFailed'],
    ['CreateContainerConfigError', 'secret "s3" not found', 'ContainerConfigError'],
    ['CreateContainerError', 'context deadline exceeded', 'ContainerConfigError'],
    ['CrashLoopBackOff', 'back-off 5m0s restarting failed container', 'ServingFailed'],
  ])('a container waiting in %s is reported with the kubelet\'s words', (waitingReason, message, reason) => {
    const f = serverFailure([summarizeServerPod(pod('churn-a', 'v1', waiting(waitingReason, message)))], 'v1');
    expect(f).toEqual({ reason, message: `the server of v1 cannot start: pod churn-a: ${waitingReason}: ${message}; see kubectl describe pod churn-a` });
  });
  it('a pod the scheduler cannot place is Unschedulable, with the scheduler\'s message', () => {
    const f = serverFailure(pods2(unschedulable('churn-b', 'v3'), unschedulable('churn-a', 'v3')), 'v3');
    expect(f).toEqual({
      reason: 'Unschedulable',
      message: 'the server of v3 cannot start (2 of 2 pods failing): pod churn-a: Unschedulable: 0/2 nodes are available: 2 Insufficient cpu.; see kubectl describe pod churn-a',
    });
  });
  it('normal steps of a start are not failures', () => {
    for (const r of ['ContainerCreating', 'PodInitializing']) expect(serverFailure([summarizeServerPod(pod('a', 'v1', waiting(r)))], 'v1')).toBeUndefined();
    const scheduling = { ...pod('a', 'v1'), status: { phase: 'Pending', conditions: [{ type: 'PodScheduled', status: 'False', reason: 'SchedulingGated' }] } };
    expect(serverFailure([summarizeServerPod(scheduling)], 'v1')).toBeUndefined();
  });
  it('a crashed run outranks the waiting state that follows it: the server\'s own line is the news', () => {
    expect(serverFailure([summarizeServerPod(pod('p', 'v1', crashLooping('NotFound: gone')))], 'v1')?.message).toBe('the server of v1 cannot start: pod p: NotFound: gone');
  });
  const pods2 = (...p: object[]) => p.map((x) => summarizeServerPod(x as ReturnType<typeof pod>));
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
