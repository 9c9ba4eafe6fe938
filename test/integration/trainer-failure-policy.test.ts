// The trainer Job's podFailurePolicy on the real control plane: the Job
// controller of kube-controller-manager decides, from the exit code the real
// `fluxora train` returns, whether a failed pod is retried.
//
// kwok would complete every pod with exit 0 at once, so it is paused while a
// trainer pod exists (the pod stays Pending, bound to its kwok Node); the test
// runs the real trainer with that pod's args and env (hack/run-local.ts) and
// then writes the pod's status as a kubelet would: Failed, with the trainer
// container terminated with the code the trainer process exited with.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { localCommand } from '../../hack/run-local.js';
import type { Model, RetrainJob } from '../../src/api/index.js';
import { ModelType, RetrainJobType } from '../../src/controllers/fluxora-types.js';
import { JobResource, PodResource } from '../../src/controllers/resource-types.js';
import { getCondition } from '../../src/runtime/conditions.js';
import type { KubeClient, KubeObject } from '../../src/runtime/kube-client.js';
import { EXIT_BAD_INPUT, EXIT_RETRYABLE } from '../../src/training/exit-codes.js';
import { runFluxora } from '../support/captured-process.js';
import { adminClient, createNamespace, NamespaceResource, retrainJobFinished, startOperator, waitFor, type OperatorProcess } from '../support/cluster.js';
import { closedPort } from '../corpus/artifacts/harness.js';
import { kubeletTime, kwokControl, writePodStatus, type TestPod } from '../support/kwok.js';

interface Job extends KubeObject {
  status?: { failed?: number; conditions?: { type: string; status: string; reason?: string; message?: string }[] };
}

describe('trainer Job podFailurePolicy', () => {
  let client: KubeClient;
  let ns: string;
  let dir: string;
  let op: OperatorProcess | undefined;
  const kwok = kwokControl(inject('kubeconfig'));

  const retrainJob = (name: string, dataset: string, backoffLimit: number): RetrainJob =>
    ({
      apiVersion: 'fluxora.io/v1alpha1',
      kind: 'RetrainJob',
      metadata: { name, namespace: ns },
      spec: {
        modelRef: { name: 'churn' },
        trainer: { builtin: { algorithm: 'linear', target: 'spend' } },
        dataset: { uri: dataset },
        output: { uri: `file://${dir}/out/` },
        backoffLimit,
      },
    }) as unknown as RetrainJob;

  const trainerPods = (rj: string) => client.list<TestPod>(PodResource, ns, `fluxora.io/retrain-job=${rj}`);

  /** The pod the Job started last that has no outcome yet (bound to a Node by the scheduler, Pending under paused kwok). */
  const nextPod = (rj: string, seen: number) =>
    waitFor(`trainer pod #${seen + 1} of ${rj}`, async () => {
      const pods = await trainerPods(rj);
      const fresh = pods.find((p) => p.status?.phase === 'Pending' && p.spec.nodeName);
      return pods.length > seen && fresh ? fresh : undefined;
    }, 60_000);

  /** Runs the real trainer with the pod's args and env; its exit code. */
  async function runTrainer(pod: TestPod): Promise<{ code: number | null; out: string }> {
    const cmd = await localCommand(client, ns, `pod/${pod.metadata.name}`, dir);
    const r = await runFluxora(cmd.args, cmd.env);
    return { code: r.code, out: r.stdout + r.stderr };
  }

  /** What the kubelet would write for a pod whose trainer container exited with `exitCode`, or that was evicted. */
  async function failPod(pod: TestPod, outcome: { exitCode: number } | 'evicted') {
    const now = kubeletTime();
    const container = pod.spec.containers[0]!;
    const terminated = { exitCode: outcome === 'evicted' ? 137 : outcome.exitCode, reason: outcome === 'evicted' ? 'Evicted' : 'Error', startedAt: now, finishedAt: now };
    await writePodStatus(client, pod, {
      phase: 'Failed',
      ...(outcome === 'evicted' ? { reason: 'Evicted', message: 'the node was drained' } : {}),
      conditions: [
        { type: 'Ready', status: 'False', lastTransitionTime: now },
        ...(outcome === 'evicted' ? [{ type: 'DisruptionTarget', status: 'True', reason: 'EvictionByEvictionAPI', lastTransitionTime: now }] : []),
      ],
      containerStatuses: [{ name: container.name, image: container.image, imageID: '', ready: false, restartCount: 0, state: { terminated } }],
    });
  }

  const jobFailed = (name: string) =>
    waitFor(`Job ${name} Failed`, async () => {
      const job = await client.get<Job>(JobResource, ns, name);
      return job.status?.conditions?.find((c) => c.type === 'Failed' && c.status === 'True') ? job : undefined;
    }, 60_000);


  beforeAll(async () => {
    client = adminClient();
    ns = await createNamespace(client, 'trainer-policy');
    dir = await mkdtemp(join(tmpdir(), 'fluxora-trainer-policy-'));
    op = await startOperator([`--namespace=${ns}`]);
    await client.create(ModelType, {
      apiVersion: 'fluxora.io/v1alpha1',
      kind: 'Model',
      metadata: { name: 'churn', namespace: ns },
      spec: { artifact: { uri: 'file:///models/churn/v1.onnx' }, features: [{ name: 'tenure', type: 'numeric' }] },
    } as unknown as Model);
    await waitFor('model v1 Ready', async () => {
      const m = await client.get<Model>(ModelType, ns, 'churn');
      return getCondition(m.status?.conditions, 'Ready')?.status === 'True';
    });
  });
  afterAll(async () => {
    if (kwok.paused) kwok.pause(false);
    await op?.stop();
    await client.delete(NamespaceResource, undefined, ns).catch(() => undefined);
    client.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('fails the run at once when the trainer exits 3 (bad input); an evicted pod is retried without counting', async () => {
    // The data set lacks the target column: the trainer exits 3.
    const data = join(dir, 'no-target.csv');
    await writeFile(data, `tenure\n${Array.from({ length: 20 }, (_, i) => i).join('\n')}\n`);
    kwok.pause(true);
    try {
      await client.create(RetrainJobType, retrainJob('rj-bad-data', pathToFileURL(data).href, 0));
      // backoffLimit 0: without the Ignore rule, this eviction alone would fail the Job.
      const evicted = await nextPod('rj-bad-data', 0);
      await failPod(evicted, 'evicted');
      const pod = await nextPod('rj-bad-data', 1);
      const trainer = await runTrainer(pod);
      expect(trainer.code, trainer.out).toBe(EXIT_BAD_INPUT);
      expect(trainer.out).toContain('spend');
      await failPod(pod, { exitCode: EXIT_BAD_INPUT });
      const job = await jobFailed('rj-bad-data');
      expect(job.status?.conditions?.find((c) => c.type === 'Failed')).toMatchObject({ reason: 'PodFailurePolicy' });
      expect(await trainerPods('rj-bad-data')).toHaveLength(2);
    } finally {
      kwok.pause(false);
    }
    const rj = await retrainJobFinished(client, ns, 'rj-bad-data');
    expect(rj.status?.phase).toBe('Failed');
    const failed = getCondition(rj.status?.conditions, 'Failed');
    expect(failed).toMatchObject({ status: 'True', reason: 'InvalidInput' });
    expect(failed?.message).toContain('exit code 3');
    expect(failed?.message).toContain(`kubectl logs -n ${ns} job/rj-bad-data`);
  });

  it('retries when the trainer exits 1 (store unreachable), up to backoffLimit', async () => {
    const port = await closedPort();
    kwok.pause(true);
    try {
      await client.create(RetrainJobType, retrainJob('rj-unreachable', `http://127.0.0.1:${port}/train.csv`, 1));
      for (let attempt = 0; attempt < 2; attempt++) {
        // The Job controller waits ~10 s (its back-off) before the second pod.
        const pod = await nextPod('rj-unreachable', attempt);
        const trainer = await runTrainer(pod);
        expect(trainer.code, trainer.out).toBe(EXIT_RETRYABLE);
        await failPod(pod, { exitCode: EXIT_RETRYABLE });
      }
      const job = await jobFailed('rj-unreachable');
      expect(job.status?.conditions?.find((c) => c.type === 'Failed')).toMatchObject({ reason: 'BackoffLimitExceeded' });
      expect(await trainerPods('rj-unreachable')).toHaveLength(2);
    } finally {
      kwok.pause(false);
    }
    const rj = await retrainJobFinished(client, ns, 'rj-unreachable');
    expect(getCondition(rj.status?.conditions, 'Failed')).toMatchObject({ status: 'True', reason: 'BackoffLimitExceeded' });
  });
});
