// The Model controller end to end on the real control plane: the operator
// runs as a child process with production RBAC; kube-controller-manager and
// kwok move the Deployments it creates; the audit log counts its writes.
import { describe, expect, it } from 'vitest';
import type { Model } from '../../src/api/index.js';
import { ModelType } from '../../src/controllers/fluxora-types.js';
import { DeploymentResource, HpaResource, SecretResource, ServiceResource } from '../../src/controllers/resource-types.js';
import { getCondition } from '../../src/runtime/conditions.js';
import type { KubeClient, KubeObject } from '../../src/runtime/kube-client.js';
import { PodResource } from '../../src/controllers/resource-types.js';
import { inject } from 'vitest';
import { denyInNamespace } from '../support/admission-policy.js';
import { kubeletTime, kwokControl, writePodStatus, type TestPod } from '../support/kwok.js';
import { operatorNamespace, operatorWrites, scrape, servingImage, waitFor } from '../support/cluster.js';

interface Deployment extends KubeObject {
  spec: {
    replicas?: number;
    template: {
      metadata: { annotations?: Record<string, string> };
      spec: {
        securityContext: Record<string, unknown>;
        automountServiceAccountToken?: boolean;
        containers: {
          name: string;
          image: string;
          args: string[];
          env: { name: string; value?: string }[];
          securityContext: Record<string, unknown>;
          readinessProbe?: unknown;
          livenessProbe?: unknown;
          ports?: { name: string; containerPort: number }[];
        }[];
      };
    };
  };
  status?: { availableReplicas?: number };
}

const RESYNC_SECONDS = 4;

function modelManifest(ns: string, name: string, uri: string, extra: Record<string, unknown> = {}): Model {
  return {
    apiVersion: 'fluxora.io/v1alpha1',
    kind: 'Model',
    metadata: { name, namespace: ns },
    spec: {
      artifact: { uri },
      features: [
        { name: 'tenure', type: 'numeric' },
        { name: 'spend', type: 'numeric' },
        { name: 'plan', type: 'categorical' },
      ],
      serving: { replicas: 2 },
      ...extra,
    },
  } as unknown as Model;
}

const envOf = (d: Deployment, name: string) => d.spec.template.spec.containers[0]!.env.find((e) => e.name === name)?.value;

async function readyModel(client: KubeClient, ns: string, name: string, version?: string): Promise<Model> {
  return waitFor(`model ${name} Ready${version ? ` on ${version}` : ''}`, async () => {
    const m = await client.get<Model>(ModelType, ns, name);
    const ready = getCondition(m.status?.conditions, 'Ready');
    const fresh = m.status?.observedGeneration === m.metadata.generation;
    if (ready?.status === 'True' && fresh && (!version || m.status?.servingVersion === version)) return m;
    return undefined;
  });
}

describe('Model controller', () => {
  const suite = operatorNamespace(
    'model-ctl',
    {
      nodes: 'kwok',
      why: 'the children, status and write counts of many Models; kwok pods become Ready at once and load nothing (real pods: real-loop.test.ts)',
    },
    { operatorArgs: [`--resync-period=${RESYNC_SECONDS}`, '--workers=2'] },
  );
  const { client, ns } = suite;

  it('creates a Deployment, Service and token Secret, and becomes Ready when the rollout completes', async () => {
    await client.create(ModelType, modelManifest(ns, 'churn', 'file:///models/churn/v1/model.onnx'));
    const model = await readyModel(client, ns, 'churn', 'v1');

    expect(model.status?.endpoint).toBe(`http://churn.${ns}.svc:8080/v2/models/churn`);
    expect(model.status?.replicas).toBe(2);
    expect(model.status?.readyReplicas).toBe(2);
    expect(model.status?.versions?.map((v) => [v.name, v.uri, v.source])).toEqual([['v1', 'file:///models/churn/v1/model.onnx', 'Spec']]);
    expect(getCondition(model.status?.conditions, 'Progressing')?.status).toBe('False');
    expect(getCondition(model.status?.conditions, 'Degraded')?.status).toBe('False');
    // kstatus: Reconciling/Stalled exist only while True.
    expect(getCondition(model.status?.conditions, 'Reconciling')).toBeUndefined();
    expect(getCondition(model.status?.conditions, 'Stalled')).toBeUndefined();

    const dep = await client.get<Deployment>(DeploymentResource, ns, 'churn');
    expect(dep.status?.availableReplicas).toBe(2); // kube-controller-manager + kwok made it so
    expect(dep.metadata.ownerReferences?.[0]).toMatchObject({ kind: 'Model', name: 'churn', uid: model.metadata.uid, controller: true });
    const pod = dep.spec.template.spec;
    const c = pod.containers[0]!;
    expect(c.image).toBe(servingImage());
    expect(c.args).toEqual(['serve']);
    expect(envOf(dep, 'FLUXORA_MODEL_URI')).toBe('file:///models/churn/v1/model.onnx');
    expect(envOf(dep, 'FLUXORA_MODEL_VERSION')).toBe('v1');
    expect(c.readinessProbe).toBeDefined();
    expect(c.livenessProbe).toBeDefined();
    expect(pod.automountServiceAccountToken).toBe(false);
    expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } });
    expect(c.securityContext).toMatchObject({
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      runAsNonRoot: true,
      capabilities: { drop: ['ALL'] },
    });

    expect(c.ports?.map((p) => [p.name, p.containerPort])).toEqual([
      ['http', 8080],
      ['admin', 8081],
      ['grpc', 8085],
    ]);
    expect(envOf(dep, 'FLUXORA_GRPC_PORT')).toBe('8085');

    const svc = await client.get<KubeObject & { spec: { ports: { name: string; port: number; targetPort: string; appProtocol?: string }[] } }>(ServiceResource, ns, 'churn');
    expect(svc.metadata.ownerReferences?.[0]?.uid).toBe(model.metadata.uid);
    expect(svc.spec.ports.find((p) => p.name === 'grpc')).toMatchObject({ port: 8085, targetPort: 'grpc', appProtocol: 'grpc' });
    const secret = await client.get<KubeObject & { data: Record<string, string> }>(SecretResource, ns, 'churn-samples-token');
    expect(Buffer.from(secret.data.token!, 'base64').toString()).toMatch(/^[0-9a-f]{64}$/);

    // Events tell the story in `kubectl describe`.
    const events = await client.request<{ items: { reason: string; involvedObject: { name: string } }[] }>('GET', `/api/v1/namespaces/${ns}/events`);
    const reasons = events.items.filter((e) => e.involvedObject.name === 'churn').map((e) => e.reason);
    expect(reasons).toContain('Available');
    // ...once: a new Model is one Event write (its first version is its creation, not news).
    const modelReasons = events.items.filter((e) => e.involvedObject.name === 'churn' && (e.involvedObject as { kind?: string }).kind === 'Model').map((e) => e.reason);
    expect(modelReasons).toEqual(['Available']);
  });

  it('rolls the Deployment to a new version when spec.artifact changes', async () => {
    const before = await client.get<Deployment>(DeploymentResource, ns, 'churn');
    await client.request('PATCH', `/apis/fluxora.io/v1alpha1/namespaces/${ns}/models/churn`, {
      body: { spec: { artifact: { uri: 'file:///models/churn/v2/model.onnx' } } },
      contentType: 'application/merge-patch+json',
    });
    const model = await readyModel(client, ns, 'churn', 'v2');
    expect(model.status?.versions?.map((v) => v.name)).toEqual(['v1', 'v2']);
    const after = await client.get<Deployment>(DeploymentResource, ns, 'churn');
    expect(after.metadata.generation).toBeGreaterThan(before.metadata.generation!);
    expect(envOf(after, 'FLUXORA_MODEL_URI')).toBe('file:///models/churn/v2/model.onnx');
    expect(after.spec.template.metadata.annotations?.['fluxora.io/version']).toBe('v2');
  });

  it('rolls back through spec.pinnedVersion and reports an unknown pin without dropping the served version', async () => {
    await client.request('PATCH', `/apis/fluxora.io/v1alpha1/namespaces/${ns}/models/churn`, {
      body: { spec: { pinnedVersion: 'v1' } },
      contentType: 'application/merge-patch+json',
    });
    await readyModel(client, ns, 'churn', 'v1');
    expect(envOf(await client.get<Deployment>(DeploymentResource, ns, 'churn'), 'FLUXORA_MODEL_URI')).toBe('file:///models/churn/v1/model.onnx');

    await client.request('PATCH', `/apis/fluxora.io/v1alpha1/namespaces/${ns}/models/churn`, {
      body: { spec: { pinnedVersion: 'v9' } },
      contentType: 'application/merge-patch+json',
    });
    const stalled = await waitFor('PinnedVersionNotFound', async () => {
      const m = await client.get<Model>(ModelType, ns, 'churn');
      return getCondition(m.status?.conditions, 'Stalled')?.reason === 'PinnedVersionNotFound' ? m : undefined;
    });
    expect(stalled.status?.servingVersion).toBe('v1');
    expect(getCondition(stalled.status?.conditions, 'Ready')).toMatchObject({ status: 'False', reason: 'PinnedVersionNotFound' });
    expect(getCondition(stalled.status?.conditions, 'Ready')?.message).toContain('v9');

    await client.request('PATCH', `/apis/fluxora.io/v1alpha1/namespaces/${ns}/models/churn`, {
      body: { spec: { pinnedVersion: null } },
      contentType: 'application/merge-patch+json',
    });
    await readyModel(client, ns, 'churn', 'v2');
  });

  it('re-creates a child deleted by hand and puts back a hand edit', async () => {
    const svc = await client.get(ServiceResource, ns, 'churn');
    await client.delete(ServiceResource, ns, 'churn');
    await waitFor('service re-created', async () => {
      const s = await client.getOrUndefined(ServiceResource, ns, 'churn');
      return s && s.metadata.uid !== svc.metadata.uid ? s : undefined;
    });

    await client.request('PATCH', `/apis/apps/v1/namespaces/${ns}/deployments/churn`, {
      body: { spec: { replicas: 5, template: { spec: { containers: [{ name: 'server', image: 'evil:latest' }] } } } },
      contentType: 'application/strategic-merge-patch+json',
    });
    const repaired = await waitFor('deployment repaired', async () => {
      const d = await client.get<Deployment>(DeploymentResource, ns, 'churn');
      return d.spec.replicas === 2 && d.spec.template.spec.containers[0]!.image === servingImage() ? d : undefined;
    });
    expect(repaired.spec.template.spec.containers).toHaveLength(1);
    await readyModel(client, ns, 'churn', 'v2');

    // Entries appended by hand are not kept beside ours: a second FLUXORA_MODEL_URI
    // (kubectl warns it hides the first) would make the pods load another artifact
    // than the version the Model claims, and a sidecar would run unseen.
    const ours = (await client.get<Deployment>(DeploymentResource, ns, 'churn')).spec.template.spec.containers[0]!.env;
    await client.request('PATCH', `/apis/apps/v1/namespaces/${ns}/deployments/churn`, {
      body: [
        { op: 'add', path: '/spec/template/spec/containers/0/env/-', value: { name: 'FLUXORA_MODEL_URI', value: 's3://elsewhere/model.onnx' } },
        { op: 'add', path: '/spec/template/spec/containers/0/env/-', value: { name: 'DEBUG', value: '1' } },
        { op: 'add', path: '/spec/template/spec/containers/-', value: { name: 'sidecar', image: 'busybox' } },
      ],
      contentType: 'application/json-patch+json',
    });
    const cleaned = await waitFor('appended entries removed', async () => {
      const d = await client.get<Deployment>(DeploymentResource, ns, 'churn');
      const c = d.spec.template.spec.containers;
      return c.length === 1 && c[0]!.env.length === ours.length ? d : undefined;
    });
    expect(cleaned.spec.template.spec.containers[0]!.env).toEqual(ours);

    // A hand-changed port keeps its name: merging ours back by apply would give two ports named
    // "http" (422 forever); the operator replaces the Service's ports instead, keeping its clusterIP.
    const before = await client.get<KubeObject & { spec: { clusterIP: string; ports: { name: string; port: number }[] } }>(ServiceResource, ns, 'churn');
    const httpIndex = before.spec.ports.findIndex((p) => p.name === 'http');
    await client.request('PATCH', `/api/v1/namespaces/${ns}/services/churn`, {
      body: [{ op: 'replace', path: `/spec/ports/${httpIndex}/port`, value: 9999 }],
      contentType: 'application/json-patch+json',
    });
    const restored = await waitFor('service port put back', async () => {
      const svc2 = await client.get<typeof before>(ServiceResource, ns, 'churn');
      return svc2.spec.ports.some((p) => p.port === 9999) ? undefined : svc2;
    });
    expect(restored.spec.ports.map((p) => [p.name, p.port])).toEqual(before.spec.ports.map((p) => [p.name, p.port]));
    expect(restored.spec.clusterIP).toBe(before.spec.clusterIP);
  });

  it('manages an HPA when autoscaling is set and removes it when unset', async () => {
    await client.request('PATCH', `/apis/fluxora.io/v1alpha1/namespaces/${ns}/models/churn`, {
      body: { spec: { serving: { replicas: null, autoscaling: { minReplicas: 2, maxReplicas: 6, targetCPUUtilizationPercentage: 70 } } } },
      contentType: 'application/merge-patch+json',
    });
    const hpa = await waitFor('hpa', () => client.getOrUndefined<KubeObject & { spec: Record<string, unknown> }>(HpaResource, ns, 'churn'));
    expect(hpa.spec).toMatchObject({ minReplicas: 2, maxReplicas: 6, scaleTargetRef: { kind: 'Deployment', name: 'churn' } });
    await client.request('PATCH', `/apis/fluxora.io/v1alpha1/namespaces/${ns}/models/churn`, {
      body: { spec: { serving: { autoscaling: null, replicas: 2 } } },
      contentType: 'application/merge-patch+json',
    });
    await waitFor('hpa removed', async () => ((await client.getOrUndefined(HpaResource, ns, 'churn')) ? undefined : true));
    await readyModel(client, ns, 'churn');
  });

  it('writes nothing while nothing changes, across resync periods', async () => {
    await readyModel(client, ns, 'churn');
    // Let in-flight work (our own last status write and its watch event) settle.
    await new Promise((r) => setTimeout(r, 2000));
    const reconcilesBefore = reconcileCount(await scrape(suite.op!.metricsPort));
    const since = Date.now();
    await new Promise((r) => setTimeout(r, (RESYNC_SECONDS * 3 + 1) * 1000));
    const writes = operatorWrites({ namespace: ns, sinceMs: since });
    const reconcilesAfter = reconcileCount(await scrape(suite.op!.metricsPort));
    // Resyncs did run (the controller looked), and found nothing to write.
    expect(reconcilesAfter - reconcilesBefore).toBeGreaterThanOrEqual(3);
    expect(writes.map((w) => `${w.verb} ${w.objectRef?.resource}/${w.objectRef?.name}`)).toEqual([]);
  });

  it('converges after a restart without duplicating children or writing again', async () => {
    expect(await suite.op!.stop('SIGTERM')).toBe(0);
    const since = Date.now();
    await client.create(ModelType, modelManifest(ns, 'fraud', 'file:///models/fraud/v1/model.onnx'));
    await suite.startOperator([`--resync-period=${RESYNC_SECONDS}`]);
    await readyModel(client, ns, 'fraud', 'v1');
    await new Promise((r) => setTimeout(r, 2000));
    const deployments = await client.request<{ items: KubeObject[] }>('GET', `/apis/apps/v1/namespaces/${ns}/deployments`);
    expect(deployments.items.map((d) => d.metadata.name).sort()).toEqual(['churn', 'fraud']);
    const secrets = await client.request<{ items: KubeObject[] }>('GET', `/api/v1/namespaces/${ns}/secrets`);
    expect(secrets.items.map((s) => s.metadata.name).sort()).toEqual(['churn-samples-token', 'fraud-samples-token']);
    // The converged model "churn" cost no write after the restart.
    const churnWrites = operatorWrites({ namespace: ns, sinceMs: since }).filter((w) => w.objectRef?.name?.startsWith('churn'));
    expect(churnWrites).toEqual([]);
  });

  const patchModel = (name: string, spec: object) =>
    client.request('PATCH', `/apis/fluxora.io/v1alpha1/namespaces/${ns}/models/${name}`, { body: { spec }, contentType: 'application/merge-patch+json' });
  const modelEvents = async (name: string) =>
    (await client.request<{ items: { type: string; reason: string; message: string; involvedObject: { kind?: string; name: string } }[] }>('GET', `/api/v1/namespaces/${ns}/events`)).items.filter(
      (e) => e.involvedObject.kind === 'Model' && e.involvedObject.name === name,
    );

  it('a Deployment the API server refuses is Ready=False/Stalled with its message and a Warning Event, with back-off, until the spec is fixed', async () => {
    // A namespace policy no CRD rule can know: at most 2 cores per container.
    const message = 'cpu limits above 2 cores are not allowed in this namespace';
    const removePolicy = await denyInNamespace(client, ns, 'max-cpu', {
      apiGroups: ['apps'],
      resources: ['deployments'],
      expression: "object.spec.template.spec.containers.all(c, !has(c.resources) || !has(c.resources.limits) || !('cpu' in c.resources.limits) || !quantity(string(c.resources.limits['cpu'])).isGreaterThan(quantity('2')))",
      message,
      probe: {
        type: DeploymentResource,
        object: {
          apiVersion: 'apps/v1',
          kind: 'Deployment',
          metadata: { name: 'probe' },
          spec: {
            selector: { matchLabels: { a: 'b' } },
            template: { metadata: { labels: { a: 'b' } }, spec: { containers: [{ name: 'c', image: 'x', resources: { limits: { cpu: '4' } } }] } },
          },
        } as KubeObject,
      },
    });
    try {
      await client.create(ModelType, modelManifest(ns, 'strict', 'file:///models/strict/v1/model.onnx', { serving: { replicas: 1, resources: { limits: { cpu: '1' } } } }));
      await readyModel(client, ns, 'strict', 'v1');
      await patchModel('strict', { serving: { resources: { limits: { cpu: '4' } } } });
      const refused = await waitFor('ChildRejected', async () => {
        const m = await client.get<Model>(ModelType, ns, 'strict');
        return getCondition(m.status?.conditions, 'Stalled')?.reason === 'ChildRejected' ? m : undefined;
      }, 30_000);
      const ready = getCondition(refused.status?.conditions, 'Ready');
      expect(ready).toMatchObject({ status: 'False', reason: 'ChildRejected', observedGeneration: refused.metadata.generation });
      expect(ready?.message).toContain('the API server refused the Deployment strict');
      expect(ready?.message).toContain(message);
      expect(refused.status?.observedGeneration).toBe(refused.metadata.generation);
      expect(getCondition(refused.status?.conditions, 'Degraded')).toMatchObject({ status: 'True', reason: 'ChildRejected' });
      expect(refused.status?.servingVersion).toBe('v1'); // the old Deployment still serves it
      const warning = await waitFor('Warning Event', async () => (await modelEvents('strict')).find((e) => e.type === 'Warning' && e.reason === 'ChildRejected'));
      expect(warning.message).toContain(message);
      // Back-off, not a hot loop: after the first seconds, retries are seconds apart. In a 6 s window that is at most
      // two back-off retries (the delays double past 2.5 s) and, as in controller-runtime, one more per resync of
      // the Model (every RESYNC_SECONDS here), which reconciles at once whatever the back-off.
      await new Promise((r) => setTimeout(r, 5000));
      const refusedLines = () => suite.op!.logs.filter((l) => l.msg === 'child refused by the API server' && l.name === 'strict').length;
      const before = refusedLines();
      await new Promise((r) => setTimeout(r, 6000));
      expect(refusedLines() - before).toBeLessThanOrEqual(2 + Math.ceil(6 / RESYNC_SECONDS));
      expect(suite.op!.logs.filter((l) => l.msg === 'reconcile failed' && l.name === 'strict')).toEqual([]);

      await patchModel('strict', { serving: { resources: { limits: { cpu: '2' } } } });
      const fixed = await readyModel(client, ns, 'strict', 'v1');
      expect(getCondition(fixed.status?.conditions, 'Stalled')).toBeUndefined();
    } finally {
      await removePolicy();
    }
  });

  it('pods that cannot start show at once: Unschedulable, ImagePullBackOff, CreateContainerConfigError (not AsExpected until the progress deadline)', async () => {
    // Unschedulable: the real scheduler finds no node with 5000 cores (kwok Nodes have 1000).
    await client.create(ModelType, modelManifest(ns, 'huge', 'file:///models/huge/v1/model.onnx', { serving: { replicas: 1, resources: { requests: { cpu: '5000' } } } }));
    // The kubelet's states: kwok is paused while the test writes them, as a kubelet would.
    const kwok = kwokControl(inject('kubeconfig'));
    kwok.pause(true);
    try {
      await client.create(ModelType, modelManifest(ns, 'nopull', 'file:///models/nopull/v1/model.onnx', { serving: { replicas: 1 } }));
      await client.create(ModelType, modelManifest(ns, 'noconfig', 'file:///models/noconfig/v1/model.onnx', { serving: { replicas: 1 } }));
      const podOf = (model: string) =>
        waitFor(`pod of ${model} bound`, async () => {
          const pods = await client.list<TestPod>(PodResource, ns, `fluxora.io/model=${model}`);
          return pods.find((p) => p.spec.nodeName);
        }, 30_000);
      const waitingIn = (reason: string, message: string) => ({
        phase: 'Pending',
        conditions: [{ type: 'PodScheduled', status: 'True', lastTransitionTime: kubeletTime() }, { type: 'Ready', status: 'False', reason: 'ContainersNotReady', lastTransitionTime: kubeletTime() }],
        containerStatuses: [{ name: 'server', image: servingImage(), imageID: '', ready: false, restartCount: 0, started: false, state: { waiting: { reason, message } } }],
      });
      await writePodStatus(client, await podOf('nopull'), waitingIn('ImagePullBackOff', 'Back-off pulling image "fluxora:test"'));
      await writePodStatus(client, await podOf('noconfig'), waitingIn('CreateContainerConfigError', 'secret "s3-creds" not found'));
      const stalledAs = (name: string, reason: string) =>
        waitFor(`${name} Stalled ${reason}`, async () => {
          const m = await client.get<Model>(ModelType, ns, name);
          return getCondition(m.status?.conditions, 'Stalled')?.reason === reason ? m : undefined;
        }, 40_000, 500);
      const [nopull, noconfig] = await Promise.all([stalledAs('nopull', 'ImagePullFailed'), stalledAs('noconfig', 'ContainerConfigError')]);
      expect(getCondition(nopull.status?.conditions, 'Degraded')).toMatchObject({ status: 'True', reason: 'ImagePullFailed' });
      expect(getCondition(nopull.status?.conditions, 'Ready')?.message).toContain('ImagePullBackOff: Back-off pulling image');
      expect(getCondition(noconfig.status?.conditions, 'Ready')?.message).toContain('CreateContainerConfigError: secret "s3-creds" not found');
    } finally {
      kwok.pause(false);
    }
    const huge = await waitFor('huge Stalled Unschedulable', async () => {
      const m = await client.get<Model>(ModelType, ns, 'huge');
      return getCondition(m.status?.conditions, 'Stalled')?.reason === 'Unschedulable' ? m : undefined;
    }, 40_000, 500);
    expect(getCondition(huge.status?.conditions, 'Degraded')).toMatchObject({ status: 'True', reason: 'Unschedulable' });
    expect(getCondition(huge.status?.conditions, 'Ready')?.message).toMatch(/Unschedulable: 0\/\d+ nodes are available/);
    expect((await modelEvents('huge')).some((e) => e.type === 'Warning' && e.reason === 'Unschedulable')).toBe(true);
    await Promise.all(['huge', 'nopull', 'noconfig', 'strict'].map((n) => client.delete(ModelType, ns, n)));
  });

  it('lets the garbage collector delete the children when the Model is deleted', async () => {
    await client.delete(ModelType, ns, 'fraud');
    await waitFor('children garbage-collected', async () => {
      const [d, s, sec] = await Promise.all([
        client.getOrUndefined(DeploymentResource, ns, 'fraud'),
        client.getOrUndefined(ServiceResource, ns, 'fraud'),
        client.getOrUndefined(SecretResource, ns, 'fraud-samples-token'),
      ]);
      return !d && !s && !sec;
    });
  });
});

function reconcileCount(metrics: string): number {
  let total = 0;
  for (const line of metrics.split('\n')) {
    if (line.startsWith('controller_runtime_reconcile_total{') && line.includes('controller="model"')) total += Number(line.split(' ').at(-1));
  }
  return total;
}
