// kwok runs every pod at once (Ready, or Succeeded with exit 0). A test that
// must play the kubelet itself (a server that crashes, a trainer that exits
// 3) pauses kwok with SIGSTOP while that pod exists: the pod stays Pending,
// bound to its kwok Node, until the test writes its status. Keep pauses
// short: kwok's Nodes stop renewing their leases meanwhile.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { kubeTime } from '../../src/runtime/conditions.js';
import { PodResource } from '../../src/controllers/resource-types.js';
import { resourcePath, type KubeClient, type KubeObject } from '../../src/runtime/kube-client.js';

export interface KwokControl {
  pause(on: boolean): void;
  readonly paused: boolean;
}

/** Controls the kwok of the control plane whose kubeconfig is `kubeconfig` (hack/control-plane.sh keeps its pid next to it). */
export function kwokControl(kubeconfig: string): KwokControl {
  const pid = () => Number(readFileSync(join(dirname(kubeconfig), 'pids', 'kwok'), 'utf8').trim());
  let paused = false;
  return {
    pause(on: boolean) {
      process.kill(pid(), on ? 'SIGSTOP' : 'SIGCONT');
      paused = on;
    },
    get paused() {
      return paused;
    },
  };
}

/** A pod as these tests read it: where it runs and its containers. */
export interface TestPod extends KubeObject {
  spec: { nodeName?: string; containers: { name: string; image: string }[] };
  status?: { phase?: string };
}

/** A timestamp as the kubelet writes it (whole seconds). */
export const kubeletTime = () => kubeTime(new Date());

/** Writes a pod's status as the kubelet would (strategic merge: conditions merge by type). */
export async function writePodStatus(client: KubeClient, pod: TestPod, status: object): Promise<void> {
  await client.request('PATCH', resourcePath(PodResource, pod.metadata.namespace, pod.metadata.name, 'status'), {
    contentType: 'application/strategic-merge-patch+json',
    body: { status },
  });
}
