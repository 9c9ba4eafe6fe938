// Vitest global setup for the integration project: a real cluster.
// Reuses one when FLUXORA_KUBECONFIG points at it (or hack/control-plane.sh
// already runs), else builds/starts it. Then installs the CRDs and the
// operator's ClusterRole, bound to the "fluxora-operator" user the control
// plane issues a token for, so tests run the operator with production RBAC.
// When the cluster has a real Node, it builds the project's image from this
// tree (hack/image.sh) and imports it into the node's containerd, so every
// real pod runs the code under test and nothing is pulled.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { KubeClient } from '../../src/runtime/kube-client.js';
import { installCrdsAndOperatorRbac } from './install-crds-rbac.js';

declare module 'vitest' {
  export interface ProvidedContext {
    kubeconfig: string;
    operatorKubeconfig: string;
    auditLog: string;
    /** real | kwok | both: the kinds of Node the cluster has (hack/control-plane.sh). */
    nodeKind: string;
    /** The project's image on the real Node ('' without one). */
    image: string;
  }
}

const root = join(import.meta.dirname, '..', '..');

/** Builds the image from this tree and imports it into the real Node; returns its ref. */
function buildAndImportImage(): string {
  const started = Date.now();
  execFileSync('bash', [join(root, 'hack/image.sh')], { stdio: ['ignore', 'ignore', 'inherit'] });
  const built = JSON.parse(readFileSync(join(cacheDir(), 'images', 'fluxora.oci.tar.json'), 'utf8')) as { ref: string; digest: string; archive: string };
  execFileSync('bash', [join(root, 'hack/node.sh'), 'import', built.archive], { stdio: 'pipe' });
  process.stderr.write(`[global-setup] image ${built.ref} (${built.digest}) built and imported in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
  return built.ref;
}

const cacheDir = () => process.env.FLUXORA_CACHE ?? join(homedir(), '.cache', 'fluxora');

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
  const kindFile = join(cpDir, 'node-kind');
  const nodeKind = existsSync(kindFile) ? readFileSync(kindFile, 'utf8').trim() : 'kwok';
  project.provide('nodeKind', nodeKind);
  project.provide('image', nodeKind === 'kwok' ? '' : buildAndImportImage());
  project.provide('kubeconfig', kubeconfig);
  project.provide('operatorKubeconfig', join(cpDir, 'operator.kubeconfig'));
  project.provide('auditLog', join(cpDir, 'logs', 'audit.log'));
  // A control plane that was already running (a developer's) is left running.
  return () => {
    if (startedHere && !process.env.FLUXORA_KEEP_CONTROL_PLANE) controlPlane('down');
  };
}
