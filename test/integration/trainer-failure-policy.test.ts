// The trainer Job's podFailurePolicy with real pods: the Job controller of
// kube-controller-manager decides, from the exit code the real `fluxora train`
// returns in its container, whether a failed pod is retried; an eviction
// through the Eviction API (what `kubectl drain` does) is retried without
// counting against backoffLimit.
//
// The data set is served by a small HTTP server in the test, on the node's
// address: its first answer never comes, so the first trainer pod is still
// reading when it is evicted; later answers are a file without the target
// column (y), which the trainer refuses with exit code 3.
import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Model, RetrainJob } from '../../src/api/index.js';
import { RetrainJobType } from '../../src/controllers/fluxora-types.js';
import { JobResource, PodResource } from '../../src/controllers/resource-types.js';
import { getCondition } from '../../src/runtime/conditions.js';
import type { KubeObject } from '../../src/runtime/kube-client.js';
import { EXIT_BAD_INPUT, EXIT_RETRYABLE } from '../../src/training/exit-codes.js';
import { readObject } from '../../src/storage/index.js';
import { FEATURES, fixtureUri } from '../fixtures/models/serve-harness.js';
import { closedPort } from '../corpus/artifacts/harness.js';
import { createReadyModel, operatorNamespace, retrainJobFinished, waitFor } from '../support/cluster.js';
import { NODE_IP, requireRealNode, type PodLike } from '../support/real-pods.js';

interface Job extends KubeObject {
  status?: { failed?: number; conditions?: { type: string; status: string; reason?: string; message?: string }[] };
}
type TrainerPod = PodLike & { status?: PodLike['status'] & { conditions?: { type: string; status: string }[] } };

describe('trainer Job podFailurePolicy (real pods)', () => {
  beforeAll(() => requireRealNode());
  const suite = operatorNamespace('trainer-policy', { nodes: 'real' }, { operator: false });
  const { client, ns } = suite;
  let server: http.Server;
  let base: string;
  let datasetRequests = 0;
  const hanging: http.ServerResponse[] = [];

  const retrainJob = (name: string, dataset: string, backoffLimit: number): RetrainJob =>
    ({
      apiVersion: 'fluxora.io/v1alpha1',
      kind: 'RetrainJob',
      metadata: { name, namespace: ns },
      spec: {
        modelRef: { name: 'churn' },
        trainer: { builtin: { algorithm: 'linear', target: 'y' } },
        dataset: { uri: dataset },
        output: { uri: 'file:///tmp/out/' },
        backoffLimit,
      },
    }) as unknown as RetrainJob;

  const trainerPods = (rj: string) => client.list<TrainerPod>(PodResource, ns, `fluxora.io/retrain-job=${rj}`);
  const exitCodes = async (rj: string) =>
    (await trainerPods(rj)).map((p) => p.status?.containerStatuses?.[0]?.state?.terminated?.exitCode).filter((c) => c !== undefined);

  const jobFailed = (name: string) =>
    waitFor(`Job ${name} Failed`, async () => {
      const job = await client.get<Job>(JobResource, ns, name);
      return job.status?.conditions?.find((c) => c.type === 'Failed' && c.status === 'True') ? job : undefined;
    }, 120_000, 500);

  beforeAll(async () => {
    const model = await readObject(fixtureUri('linear.onnx'));
    // Reached by pods at the node's address, as a store outside the cluster would be.
    server = http.createServer((req, res) => {
      if (req.url === '/v1/model.onnx') return res.end(model);
      if (req.url === '/no-target.csv') {
        datasetRequests++;
        if (datasetRequests === 1) return void hanging.push(res); // the pod that gets evicted is still reading
        return res.end(`tenure,spend,visits\n${Array.from({ length: 20 }, (_, i) => `${i},${i * 2},${i % 3}`).join('\n')}\n`);
      }
      res.statusCode = 404;
      res.end();
    });
    server.listen(0, '0.0.0.0');
    await once(server, 'listening');
    base = `http://${NODE_IP}:${(server.address() as AddressInfo).port}`;
    await suite.startOperator();
    await createReadyModel(
      client,
      {
        apiVersion: 'fluxora.io/v1alpha1',
        kind: 'Model',
        metadata: { name: 'churn', namespace: ns },
        spec: { artifact: { uri: `${base}/v1/model.onnx` }, features: FEATURES },
      } as unknown as Model,
      { timeoutMs: 120_000 },
    );
  }, 180_000);
  afterAll(() => {
    for (const res of hanging) res.destroy();
    server?.close();
  });

  it('fails the run at once when the trainer exits 3 (bad input); an evicted pod is retried without counting', async () => {
    // backoffLimit 0: without the Ignore rule, the eviction alone would fail the Job.
    await client.create(RetrainJobType, retrainJob('rj-bad-data', `${base}/no-target.csv`, 0));
    const first = await waitFor('the first trainer pod reading the data set', async () => {
      const [pod] = await trainerPods('rj-bad-data');
      return pod?.status?.phase === 'Running' && datasetRequests === 1 ? pod : undefined;
    }, 60_000, 250);
    // The Eviction API, as `kubectl drain` uses it: the pod gets DisruptionTarget and the kubelet stops it.
    const evictedAt = Date.now();
    await client.request('POST', `/api/v1/namespaces/${ns}/pods/${first.metadata.name}/eviction`, {
      body: { apiVersion: 'policy/v1', kind: 'Eviction', metadata: { name: first.metadata.name, namespace: ns } },
    });
    const marked = await client.get<TrainerPod>(PodResource, ns, first.metadata.name);
    expect(marked.status?.conditions?.find((c) => c.type === 'DisruptionTarget')).toMatchObject({ status: 'True', reason: 'EvictionByEvictionAPI' });
    // The trainer exits on SIGTERM (as PID 1 it would otherwise wait for SIGKILL, 30 s later); the Job replaces the pod.
    await waitFor('the evicted pod gone', async () => (await client.getOrUndefined(PodResource, ns, first.metadata.name)) === undefined, 60_000, 250);
    expect(Date.now() - evictedAt).toBeLessThan(15_000);
    const job = await jobFailed('rj-bad-data');
    expect(job.status?.conditions?.find((c) => c.type === 'Failed')).toMatchObject({ reason: 'PodFailurePolicy' });
    // The evicted pod was deleted and not counted: one failure, the trainer's exit code 3.
    expect(job.status?.failed).toBe(1);
    const pods = await trainerPods('rj-bad-data');
    expect(pods.map((p) => p.metadata.name)).not.toContain(first.metadata.name);
    expect(await exitCodes('rj-bad-data')).toEqual([EXIT_BAD_INPUT]);

    const rj = await retrainJobFinished(client, ns, 'rj-bad-data');
    expect(rj.status?.phase).toBe('Failed');
    const failed = getCondition(rj.status?.conditions, 'Failed');
    expect(failed).toMatchObject({ status: 'True', reason: 'InvalidInput' });
    expect(failed?.message).toContain('exit code 3');
    expect(failed?.message).toContain(`kubectl logs -n ${ns} job/rj-bad-data`);
  }, 180_000);

  it('retries when the trainer exits 1 (store unreachable), up to backoffLimit', async () => {
    const port = await closedPort();
    await client.create(RetrainJobType, retrainJob('rj-unreachable', `http://${NODE_IP}:${port}/train.csv`, 1));
    // The Job controller waits ~10 s (its back-off) before the second pod.
    const job = await jobFailed('rj-unreachable');
    expect(job.status?.conditions?.find((c) => c.type === 'Failed')).toMatchObject({ reason: 'BackoffLimitExceeded' });
    expect(await trainerPods('rj-unreachable')).toHaveLength(2);
    expect(await exitCodes('rj-unreachable')).toEqual([EXIT_RETRYABLE, EXIT_RETRYABLE]);
    const rj = await retrainJobFinished(client, ns, 'rj-unreachable');
    expect(getCondition(rj.status?.conditions, 'Failed')).toMatchObject({ status: 'True', reason: 'BackoffLimitExceeded' });
  }, 180_000);
});
