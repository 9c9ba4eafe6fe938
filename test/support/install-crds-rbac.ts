// What a cluster needs before `fluxora operator` can run there as the
// "fluxora-operator" user: the CRDs (Established) and the operator's
// ClusterRole bound to that user, so it runs with production RBAC. Shared by
// the integration tests' global setup and the scale benchmark.
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { clusterRole } from '../../src/controllers/rbac.js';
import { serverSideApply } from '../../src/runtime/apply.js';
import type { KubeClient, KubeObject, ResourceType } from '../../src/runtime/kube-client.js';

const root = join(import.meta.dirname, '..', '..');
const CRD: ResourceType = { group: 'apiextensions.k8s.io', version: 'v1', kind: 'CustomResourceDefinition', plural: 'customresourcedefinitions', namespaced: false };
const CLUSTER_ROLE: ResourceType = { group: 'rbac.authorization.k8s.io', version: 'v1', kind: 'ClusterRole', plural: 'clusterroles', namespaced: false };
const CLUSTER_ROLE_BINDING: ResourceType = { ...CLUSTER_ROLE, kind: 'ClusterRoleBinding', plural: 'clusterrolebindings' };

/** Applies crds/*.yaml and the operator's ClusterRole + binding (server-side apply: re-running is harmless). */
export async function installCrdsAndOperatorRbac(client: KubeClient, operatorUser = 'fluxora-operator'): Promise<void> {
  for (const f of readdirSync(join(root, 'crds')).filter((n) => n.endsWith('.yaml'))) {
    for (const doc of parseAllDocuments(readFileSync(join(root, 'crds', f), 'utf8'))) {
      const crd = doc.toJS() as KubeObject | null;
      if (crd) await serverSideApply(client, CRD, crd);
    }
  }
  await waitForCrdsEstablished(client);
  await serverSideApply(client, CLUSTER_ROLE, clusterRole() as KubeObject);
  await serverSideApply(client, CLUSTER_ROLE_BINDING, {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'ClusterRoleBinding',
    // Not "fluxora-operator": manifests/install and the chart bind that name to
    // their ServiceAccount, and a test that installs them would unbind this user.
    metadata: { name: 'fluxora-operator-test-user' },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'fluxora-operator' },
    subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: operatorUser }],
  } as KubeObject);
}

async function waitForCrdsEstablished(client: KubeClient): Promise<void> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const list = await client.request<{ items: { metadata: { name: string }; status?: { conditions?: { type: string; status: string }[] } }[] }>(
      'GET',
      '/apis/apiextensions.k8s.io/v1/customresourcedefinitions',
    );
    const ours = list.items.filter((c) => c.metadata.name.endsWith('.fluxora.io'));
    if (ours.length > 0 && ours.every((c) => c.status?.conditions?.some((x) => x.type === 'Established' && x.status === 'True'))) return;
    if (Date.now() > deadline) throw new Error('CRDs not Established within 60s');
    await new Promise((r) => setTimeout(r, 200));
  }
}
