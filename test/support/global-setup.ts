// Vitest global setup for the integration project: a real control plane.
// Reuses one when FLUXORA_KUBECONFIG points at it (or hack/control-plane.sh
// already runs), else builds/starts it. Then installs the CRDs and the
// operator's ClusterRole, bound to the "fluxora-operator" user the control
// plane issues a token for, so tests run the operator with production RBAC.
import { execFileSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { KubeClient } from '../../src/runtime/kube-client.js';
import { installCrdsAndOperatorRbac } from './install-crds-rbac.js';

declare module 'vitest' {
  export interface ProvidedContext {
    kubeconfig: string;
    operatorKubeconfig: string;
    auditLog: string;
  }
}

const root = join(import.meta.dirname, '..', '..');

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
    await installCrdsAndOperatorRbac(client);
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
