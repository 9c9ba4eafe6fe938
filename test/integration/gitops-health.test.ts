// Flux (kstatus) and Argo CD (our Lua health checks) judge real Model
// objects, captured from the API server in each state the operator produces.
import { describe, expect, it } from 'vitest';
import type { Model } from '../../src/api/index.js';
import { ModelType } from '../../src/controllers/fluxora-types.js';
import { getCondition } from '../../src/runtime/conditions.js';
import type { KubeClient } from '../../src/runtime/kube-client.js';
import { operatorNamespace, waitFor } from '../support/cluster.js';
import { argoHealth, kstatus } from '../support/gitops.js';

const patch = (client: KubeClient, ns: string, name: string, body: unknown) =>
  client.request('PATCH', `/apis/fluxora.io/v1alpha1/namespaces/${ns}/models/${name}`, { body, contentType: 'application/merge-patch+json' });

function judge(obj: Model) {
  return { flux: kstatus([obj])[0]!.status, argo: argoHealth('model', obj).status };
}

describe('GitOps health of Models', () => {
  const suite = operatorNamespace(
    'gitops',
    {
      nodes: 'kwok',
      why: 'Argo CD and Flux judge the status the operator writes; kwok pods become Ready at once, so each state is cheap to reach (real-loop.test.ts judges objects of real pods)',
    },
    { operator: false },
  );
  const { client, ns } = suite;

  it('new (no status yet): Argo Progressing; kstatus cannot tell yet', async () => {
    const created = await client.create(ModelType, {
      apiVersion: 'fluxora.io/v1alpha1',
      kind: 'Model',
      metadata: { name: 'churn', namespace: ns },
      spec: { artifact: { uri: 'file:///m/v1.onnx' }, features: [{ name: 'x', type: 'numeric' }], serving: { replicas: 1 } },
    } as unknown as Model);
    // kstatus treats a custom resource without any status as Current: it has
    // no generation to compare with. The operator's first reconcile writes
    // observedGeneration and conditions (well under a second), after which
    // Flux judges by them, as the next cases show.
    expect(judge(created)).toEqual({ flux: 'Current', argo: 'Progressing' });
  });

  it('Ready: Flux Current, Argo Healthy', async () => {
    await suite.startOperator();
    const ready = await waitFor('Ready', async () => {
      const m = await client.get<Model>(ModelType, ns, 'churn');
      return getCondition(m.status?.conditions, 'Ready')?.status === 'True' ? m : undefined;
    });
    expect(judge(ready)).toEqual({ flux: 'Current', argo: 'Healthy' });
  });

  it('spec changed but not yet observed: Flux InProgress, Argo Progressing', async () => {
    await suite.op!.stop();
    suite.op = undefined;
    await patch(client, ns, 'churn', { spec: { serving: { replicas: 2 } } });
    const stale = await client.get<Model>(ModelType, ns, 'churn');
    expect(stale.status?.observedGeneration).toBeLessThan(stale.metadata.generation!);
    expect(judge(stale)).toEqual({ flux: 'InProgress', argo: 'Progressing' });
  });

  it('rolling out (pods cannot be scheduled): Reconciling, Flux InProgress, Argo Progressing', async () => {
    await suite.startOperator();
    // Requests no kwok node can satisfy: the new pod stays Pending, the rollout waits.
    await patch(client, ns, 'churn', { spec: { serving: { resources: { requests: { cpu: '500' } } } } });
    const rolling = await waitFor('Reconciling', async () => {
      const m = await client.get<Model>(ModelType, ns, 'churn');
      const fresh = m.status?.observedGeneration === m.metadata.generation;
      return fresh && getCondition(m.status?.conditions, 'Reconciling')?.status === 'True' ? m : undefined;
    });
    expect(getCondition(rolling.status?.conditions, 'Ready')?.status).toBe('False');
    expect(judge(rolling)).toEqual({ flux: 'InProgress', argo: 'Progressing' });
    await patch(client, ns, 'churn', { spec: { serving: { resources: null } } });
  });

  it('needs a human (pinned version unknown): Stalled, Flux Failed, Argo Degraded', async () => {
    await patch(client, ns, 'churn', { spec: { pinnedVersion: 'v42' } });
    const stalled = await waitFor('Stalled', async () => {
      const m = await client.get<Model>(ModelType, ns, 'churn');
      return getCondition(m.status?.conditions, 'Stalled')?.status === 'True' && m.status?.observedGeneration === m.metadata.generation ? m : undefined;
    });
    const verdict = judge(stalled);
    expect(verdict).toEqual({ flux: 'Failed', argo: 'Degraded' });
    expect(argoHealth('model', stalled).message).toContain('PinnedVersionNotFound');
  });
});

describe('Argo CD health checks of the other kinds', () => {
  // The DriftMonitor and RetrainJob controllers will produce these states; until
  // their integration tests capture real objects, the checks are exercised on
  // status shapes the CRDs accept.
  const base = { metadata: { name: 'x', generation: 1 } };
  it('DriftMonitor', () => {
    expect(argoHealth('driftmonitor', { ...base }).status).toBe('Progressing');
    expect(argoHealth('driftmonitor', { ...base, spec: { suspend: true }, status: { observedGeneration: 1 } }).status).toBe('Suspended');
    const ok = { ...base, spec: {}, status: { observedGeneration: 1, conditions: [{ type: 'Ready', status: 'True', message: 'scheduled' }, { type: 'DriftDetected', status: 'True', message: '3 of 4 features drifted' }] } };
    expect(argoHealth('driftmonitor', ok)).toEqual({ status: 'Healthy', message: 'Drift detected: 3 of 4 features drifted' });
    const stuck = { ...base, spec: {}, status: { observedGeneration: 1, conditions: [{ type: 'Stalled', status: 'True', reason: 'ModelNotFound', message: 'no Model "a"' }] } };
    expect(argoHealth('driftmonitor', stuck).status).toBe('Degraded');
  });
  it('RetrainJob', () => {
    const phase = (p: string) => argoHealth('retrainjob', { ...base, status: { phase: p } }).status;
    expect(['Pending', 'Running', 'Evaluating', 'Succeeded', 'Failed', 'Rejected'].map(phase)).toEqual([
      'Progressing',
      'Progressing',
      'Progressing',
      'Healthy',
      'Degraded',
      'Degraded',
    ]);
  });
});
