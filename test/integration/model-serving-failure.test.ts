// A Model whose server cannot load its artifact says so in its status, on
// the real control plane. kwok would run the serving pod as healthy at once,
// so it is paused while the pod exists: the test runs the real `fluxora
// serve` with the Deployment's args and env (hack/run-local.ts), which fails
// on the missing artifact and writes its termination message, and then
// writes the pod's status as a kubelet would (CrashLoopBackOff, the
// message in the last terminated state); the operator, which reads a Model's
// pods while its rollout is unfinished, reports it. Then the pod comes up
// healthy and the Model is Ready again.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { localCommand } from '../../hack/run-local.js';
import type { Model } from '../../src/api/index.js';
import { ModelType } from '../../src/controllers/fluxora-types.js';
import { getCondition } from '../../src/runtime/conditions.js';
import { PodResource } from '../../src/controllers/resource-types.js';
import type { KubeClient } from '../../src/runtime/kube-client.js';
import { runFluxora } from '../support/captured-process.js';
import { adminClient, createNamespace, NamespaceResource, startOperator, waitFor, type OperatorProcess } from '../support/cluster.js';
import { argoHealth, kstatus } from '../support/gitops.js';
import { kubeletTime, kwokControl, writePodStatus, type TestPod } from '../support/kwok.js';

describe('a Model whose server cannot start', () => {
  let client: KubeClient;
  let ns: string;
  let dir: string;
  let op: OperatorProcess | undefined;
  const kwok = kwokControl(inject('kubeconfig'));
  const model = () => client.get<Model>(ModelType, ns, 'churn');

  beforeAll(async () => {
    client = adminClient();
    ns = await createNamespace(client, 'serving-failure');
    dir = await mkdtemp(join(tmpdir(), 'fluxora-serving-failure-'));
    op = await startOperator([`--namespace=${ns}`]);
  });
  afterAll(async () => {
    if (kwok.paused) kwok.pause(false);
    await op?.stop();
    await client.delete(NamespaceResource, undefined, ns).catch(() => undefined);
    client.close();
    await rm(dir, { recursive: true, force: true });
  });

  it("reports the server's reason as ServingFailed, and is Ready once the pod runs", async () => {
    kwok.pause(true);
    try {
      await client.create(ModelType, {
        apiVersion: 'fluxora.io/v1alpha1',
        kind: 'Model',
        metadata: { name: 'churn', namespace: ns },
        spec: { artifact: { uri: `file://${dir}/missing/churn-v1.onnx` }, features: [{ name: 'tenure', type: 'numeric' }] },
      } as unknown as Model);
      const pod = await waitFor('serving pod bound to a Node (Pending while kwok is paused)', async () => {
        const pods = await client.list<TestPod>(PodResource, ns, 'fluxora.io/model=churn');
        return pods.find((p) => p.spec.nodeName);
      });
      expect(getCondition((await model()).status?.conditions, 'Ready')).toMatchObject({ status: 'False', reason: 'RollingOut' });

      // The real server with the Deployment's env: the artifact is missing.
      const terminationLog = join(dir, 'termination-log');
      await writeFile(terminationLog, '');
      const cmd = await localCommand(client, ns, 'deployment/churn', dir);
      const server = await runFluxora(cmd.args, { ...cmd.env, FLUXORA_HOST: '127.0.0.1', FLUXORA_PORT: '0', FLUXORA_ADMIN_PORT: '0', FLUXORA_TERMINATION_LOG: terminationLog });
      expect(server.code, server.stdout + server.stderr).toBe(1);
      const message = await readFile(terminationLog, 'utf8');
      expect(message).toMatch(/^NotFound: .*churn-v1\.onnx/);

      const container = pod.spec.containers[0]!;
      const now = kubeletTime();
      await writePodStatus(client, pod, {
        phase: 'Running',
        conditions: [
          { type: 'Initialized', status: 'True', lastTransitionTime: now },
          { type: 'Ready', status: 'False', reason: 'ContainersNotReady', lastTransitionTime: now },
          { type: 'ContainersReady', status: 'False', reason: 'ContainersNotReady', lastTransitionTime: now },
        ],
        containerStatuses: [
          {
            name: container.name,
            image: container.image,
            imageID: '',
            ready: false,
            started: false,
            restartCount: 1,
            state: { waiting: { reason: 'CrashLoopBackOff', message: 'back-off 10s restarting failed container' } },
            lastState: { terminated: { exitCode: 1, reason: 'Error', message, startedAt: now, finishedAt: now } },
          },
        ],
      });
      // The operator reads the pods of a rollout still unfinished after 10 s, then every 15 s.
      const failing = await waitFor('Model ServingFailed', async () => {
        const m = await model();
        return getCondition(m.status?.conditions, 'Ready')?.reason === 'ServingFailed' ? m : undefined;
      }, 45_000);
      const ready = getCondition(failing.status?.conditions, 'Ready');
      expect(ready?.status).toBe('False');
      expect(ready?.message).toBe(`the server of v1 cannot start: pod ${pod.metadata.name}: ${message.trim()}`);
      expect(getCondition(failing.status?.conditions, 'Stalled')).toMatchObject({ status: 'True', reason: 'ServingFailed' });
      // GitOps tools show it as failed, with the reason, instead of progressing until a timeout.
      expect(argoHealth('model', failing)).toEqual({ status: 'Degraded', message: `ServingFailed: ${ready?.message}` });
      expect(kstatus([failing])[0]!.status).toBe('Failed');

      // The artifact is fixed (or the store came back) and the server runs: Available again.
      const later = kubeletTime();
      await writePodStatus(client, pod, {
        conditions: [
          { type: 'Ready', status: 'True', lastTransitionTime: later },
          { type: 'ContainersReady', status: 'True', lastTransitionTime: later },
        ],
        containerStatuses: [
          {
            name: container.name,
            image: container.image,
            imageID: '',
            ready: true,
            started: true,
            restartCount: 2,
            state: { running: { startedAt: later } },
            lastState: { terminated: { exitCode: 1, reason: 'Error', message, startedAt: now, finishedAt: now } },
          },
        ],
      });
      const healthy = await waitFor('Model Ready', async () => {
        const m = await model();
        return getCondition(m.status?.conditions, 'Ready')?.status === 'True' ? m : undefined;
      });
      expect(getCondition(healthy.status?.conditions, 'Ready')?.reason).toBe('Available');
      expect(getCondition(healthy.status?.conditions, 'Stalled')).toBeUndefined();
      expect(argoHealth('model', healthy).status).toBe('Healthy');
      expect(kstatus([healthy])[0]!.status).toBe('Current');
    } finally {
      kwok.pause(false);
    }
  });
});
