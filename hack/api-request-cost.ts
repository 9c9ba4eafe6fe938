// What one request costs the local kube-apiserver in CPU, by kind of write:
// the numbers behind the scale benchmark's control-plane CPU table. Each
// phase sends N requests at concurrency 20 into a fresh namespace and reads
// the API server's CPU time from /proc before and after (plus 2 s for the
// watch fan-out and controllers that follow). Run against a quiet local
// control plane (hack/control-plane.sh up; FLUXORA_CP_DIR selects another):
//
//   npx tsx hack/api-request-cost.ts [N]
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { Model } from '../src/api/index.js';
import { ModelType } from '../src/controllers/fluxora-types.js';
import { patchStatus } from '../src/runtime/apply.js';
import { KubeClient, type ResourceType } from '../src/runtime/kube-client.js';
import { controlPlaneCpuSeconds } from '../bench/support/process-sampler.js';
import { installCrdsAndOperatorRbac } from '../test/support/install-crds-rbac.js';

const dir = process.env.FLUXORA_CP_DIR ?? join(homedir(), '.cache', 'fluxora', 'cp');
const N = Number(process.argv[2] ?? 400);
const C = 20;
const apiServerCpuSeconds = () => controlPlaneCpuSeconds(dir)['kube-apiserver'] ?? NaN;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const Namespace: ResourceType = { group: '', version: 'v1', kind: 'Namespace', plural: 'namespaces', namespaced: false };
const ConfigMap: ResourceType = { group: '', version: 'v1', kind: 'ConfigMap', plural: 'configmaps', namespaced: true };

const client = KubeClient.fromFile(join(dir, 'kubeconfig'), { maxSockets: C + 4 });
const ns = `api-cost-${Date.now().toString(36)}`;

async function phase(name: string, send: (i: number) => Promise<unknown>): Promise<void> {
  await sleep(2000);
  const before = apiServerCpuSeconds();
  let next = 0;
  await Promise.all(
    Array.from({ length: C }, async () => {
      while (next < N) await send(next++);
    }),
  );
  await sleep(2000);
  const ms = (1000 * (apiServerCpuSeconds() - before)) / N;
  console.log(`${name.padEnd(34)} ${ms.toFixed(2).padStart(6)} ms of kube-apiserver CPU per request`);
}

const status = (i: number, ready: boolean) => ({
  observedGeneration: 1,
  servingVersion: 'v1',
  endpoint: `http://m-${i}.${ns}.svc:8080`,
  replicas: 1,
  readyReplicas: ready ? 1 : 0,
  versions: [{ name: 'v1', uri: `file:///models/m-${i}/model.onnx`, source: 'Spec', createdAt: '2026-12-01T00:00:00Z' }],
  conditions: [{ type: 'Ready', status: ready ? 'True' : 'False', reason: ready ? 'Available' : 'RollingOut', message: 'x', lastTransitionTime: '2026-12-01T00:00:00Z', observedGeneration: 1 }],
});

try {
  await installCrdsAndOperatorRbac(client);
  await client.create(Namespace, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } });
  console.log(`${N} requests per phase, concurrency ${C}, namespace ${ns}`);
  await phase('idle (2 s, per N)', () => Promise.resolve());
  await phase('ConfigMap create', (i) => client.create(ConfigMap, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: `c-${i}`, namespace: ns }, data: { a: 'b'.repeat(500) } }));
  await phase('Event create', (i) =>
    client.request('POST', `/api/v1/namespaces/${ns}/events`, {
      body: { apiVersion: 'v1', kind: 'Event', metadata: { name: `e-${i}`, namespace: ns }, involvedObject: { kind: 'Model', name: `m-${i}`, namespace: ns }, reason: 'Available', message: 'x', type: 'Normal', count: 1 },
    }),
  );
  await phase('Model create', (i) =>
    client.create(ModelType, {
      apiVersion: 'fluxora.io/v1alpha1',
      kind: 'Model',
      metadata: { name: `m-${i}`, namespace: ns },
      spec: { artifact: { uri: `file:///models/m-${i}/model.onnx` }, features: [{ name: 'tenure', type: 'numeric' }, { name: 'plan', type: 'categorical' }], serving: { replicas: 1 } },
    } as unknown as Model),
  );
  await phase('Model status patch (minimal)', (i) => patchStatus(client, ModelType, ns, `m-${i}`, { observedGeneration: 1 }));
  await phase('Model status patch (rolling out)', (i) => patchStatus(client, ModelType, ns, `m-${i}`, status(i, false)));
  await phase('Model status patch (ready)', (i) => patchStatus(client, ModelType, ns, `m-${i}`, status(i, true)));
} finally {
  await client.delete(Namespace, undefined, ns).catch(() => undefined);
  client.close();
}
