// Vitest global setup for the integration project: a real control plane.
// Reuses one when FLUXORA_KUBECONFIG points at it (or hack/control-plane.sh
// already runs), else builds/starts it. Then installs the CRDs and the
// operator's ClusterRole, bound to the "fluxora-operator" user the control
// plane issues a token for, so tests run the operator with production RBAC.
import { execFileSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { parseAllDocuments } from 'yaml';
import { clusterRole } from '../../src/controllers/rbac.js';
import { serverSideApply } from '../../src/runtime/apply.js';
import { KubeClient, type KubeObject, type ResourceType } from '../../src/runtime/kube-client.js';

declare module 'vitest' {
  export interface ProvidedContext {
    kubeconfig: string;
    operatorKubeconfig: string;
    auditLog: string;
  }
}

const root = join(import.meta.dirname, '..', '..');
const CRD: ResourceType = { group: 'apiextensions.k8s.io', version: 'v1', kind: 'CustomResourceDefinition', plural: 'customresourcedefinitions', namespaced: false };
const CLUSTER_ROLE: ResourceType = { group: 'rbac.authorization.k8s.io', version: 'v1', kind: 'ClusterRole', plural: 'clusterroles', namespaced: false };
const CLUSTER_ROLE_BINDING: ResourceType = { ...CLUSTER_ROLE, kind: 'ClusterRoleBinding', plural: 'clusterrolebindings' };

const controlPlane = (cmd: string) =>
  execFileSync('bash', [join(root, 'hack/control-plane.sh'), cmd], { stdio: ['ignore', 'pipe', 'inherit'], encoding: 'utf8' });

export default async function setup(project: TestProject): Promise<() => void> {
  const reuse = process.env.FLUXORA_KUBECONFIG;
  let startedHere = false;
  if (!reuse) {
    try {
      controlPlane('status');
    } catch {
      startedHere = true; // not running: we start it, and stop it when the run ends
    }
  }
  const kubeconfig = reuse ?? controlPlane('up').trim().split('\n').at(-1)!;
  const cpDir = dirname(kubeconfig);
  const client = KubeClient.fromFile(kubeconfig);
  try {
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
      metadata: { name: 'fluxora-operator' },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'fluxora-operator' },
      subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: 'fluxora-operator' }],
    } as KubeObject);
  } finally {
    client.close();
  }
  project.provide('kubeconfig', kubeconfig);
  project.provide('operatorKubeconfig', join(cpDir, 'operator.kubeconfig'));
  project.provide('auditLog', join(cpDir, 'logs', 'audit.log'));
  // A control plane that was already running (a developer's) is left running.
  return () => {
    if (startedHere && !process.env.FLUXORA_KEEP_CONTROL_PLANE) controlPlane('down');
  };
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
