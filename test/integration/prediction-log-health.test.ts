// The Model's PredictionLogLosing condition from what its serving pods report.
// The operator (run from source) rolls out a Model with a prediction log into
// a bucket that does not exist yet, on kwok pods; two of the pods are real
// `fluxora serve` processes run here with the Deployment's environment (the
// operator reaches them through FLUXORA_SAMPLES_ADDRESS_MAP), the third pod's
// address leads to a closed port. Traffic makes every write fail against the
// real MinIO: the condition turns True (WritesFailing) naming the pods, their
// counts and the store's error, with a Warning Event, while Ready stays True.
// The bucket is created: writes succeed again and the message says so. The
// pods restart (as after a rollout) and log their traffic: the condition
// turns False (NoLoss). In between, polls that find nothing new write nothing.
import { randomBytes } from 'node:crypto';
import { ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Model } from '../../src/api/index.js';
import { ModelType } from '../../src/controllers/fluxora-types.js';
import { readyAdminEndpoints, type AdminEndpoint, type EndpointSlice } from '../../src/controllers/pod-admin.js';
import { SecretResource } from '../../src/controllers/resource-types.js';
import { getCondition, type Condition } from '../../src/runtime/conditions.js';
import type { KubeObject } from '../../src/runtime/kube-client.js';
import { localCommand } from '../../hack/run-local.js';
import { FEATURES, fixtureUri, http, inferBody, spawnServe, type ServeProcess } from '../fixtures/models/serve-harness.js';
import { createReadyModel, operatorNamespace, operatorWrites, scrape, waitFor } from '../support/cluster.js';
import { createBucket, startMinio, type MinioEndpoint } from '../support/minio.js';
import { freePort } from '../support/ports.js';

/** The operator asks the pods this often here (60 s by default). */
const PERIOD_SECONDS = 2;
const LOSING = 'PredictionLogLosing';

interface ServingPod {
  name: string;
  /** The pod's admin address as the EndpointSlice has it. */
  address: string;
  adminPort: number;
  proc?: ServeProcess;
}

function reconcileCount(metrics: string): number {
  let total = 0;
  for (const line of metrics.split('\n')) {
    if (line.startsWith('controller_runtime_reconcile_total{') && line.includes('controller="model"')) total += Number(line.split(' ').at(-1));
  }
  return total;
}

describe('PredictionLogLosing from the serving pods', () => {
  const suite = operatorNamespace(
    'log-health',
    {
      nodes: 'kwok',
      why: 'two serving pods are `fluxora serve` processes run here with the pods environment, so their store fails and recovers exactly when the test says; the operator reaching real pod IPs is not shown here (the drift check does that on real pods: drift-check-serving.test.ts)',
    },
    { operator: false },
  );
  const { client, ns } = suite;
  const bucket = `log-health-${randomBytes(4).toString('hex')}`;
  const logUri = `s3://${bucket}/predictions`;
  let minio: MinioEndpoint;
  let serveEnv: Record<string, string>;
  const serving: ServingPod[] = [];
  let silentPod: AdminEndpoint;

  const model = () => client.get<Model>(ModelType, ns, 'churn');
  const condition = async (): Promise<Condition | undefined> => getCondition((await model()).status?.conditions, LOSING);
  const modelEvents = async () =>
    (await client.request<{ items: { type: string; reason: string; message: string; involvedObject: { kind?: string; name: string } }[] }>('GET', `/api/v1/namespaces/${ns}/events`)).items.filter(
      (e) => e.involvedObject.kind === 'Model' && e.involvedObject.name === 'churn',
    );

  async function startServing(pod: ServingPod): Promise<void> {
    pod.proc = await spawnServe([], { ...serveEnv, FLUXORA_ADMIN_PORT: String(pod.adminPort), FLUXORA_POD_NAME: pod.name });
  }

  async function stopServing(pod: ServingPod): Promise<void> {
    const p = pod.proc;
    if (p && p.child.exitCode === null && p.child.signalCode === null) {
      p.child.kill('SIGKILL');
      await p.exited;
    }
  }

  /** `n` answered inferences on each serving process. */
  async function traffic(n: number): Promise<void> {
    for (const pod of serving) {
      for (let i = 0; i < n; i++) {
        const res = await http(pod.proc!.port, { path: '/v2/models/churn/infer', body: inferBody([[i, i / 2, 3 - i]]), headers: { 'content-type': 'application/json' } });
        expect(res.status).toBe(200);
      }
    }
  }

  /** A serving process's own report on its admin port. */
  const podLog = async (pod: ServingPod) =>
    (await http(pod.proc!.adminPort, { path: '/v2/models/churn/prediction-log' })).json() as { written: number; failed: number; losing: boolean; lastError?: string };

  /** The log objects in the bucket (a client of its own, closed after: no socket outlives the test). */
  async function logObjects(): Promise<string[]> {
    const s3 = new S3Client({
      endpoint: minio.endpoint,
      region: 'us-east-1',
      forcePathStyle: true,
      credentials: { accessKeyId: minio.accessKeyId, secretAccessKey: minio.secretAccessKey },
    });
    try {
      const out = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: 'predictions/' }));
      return (out.Contents ?? []).map((o) => o.Key!);
    } finally {
      s3.destroy();
    }
  }

  /** resourceVersion and the operator's writes to the Model over three polls of a steady state. */
  async function steadyState() {
    const before = await model();
    const reconciles = reconcileCount(await scrape(suite.op!.metricsPort));
    const since = Date.now();
    await new Promise((r) => setTimeout(r, (PERIOD_SECONDS * 3 + 1) * 1000));
    const after = await model();
    return {
      before: before.metadata.resourceVersion,
      after: after.metadata.resourceVersion,
      polls: reconcileCount(await scrape(suite.op!.metricsPort)) - reconciles,
      writes: operatorWrites({ namespace: ns, sinceMs: since }).map((w) => `${w.verb} ${w.objectRef?.resource}/${w.objectRef?.subresource ?? ''}/${w.objectRef?.name}`),
    };
  }

  beforeAll(async () => {
    minio = await startMinio();
    await client.create(SecretResource, {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'log-store', namespace: ns },
      stringData: { AWS_ACCESS_KEY_ID: minio.accessKeyId, AWS_SECRET_ACCESS_KEY: minio.secretAccessKey, AWS_ENDPOINT_URL: minio.endpoint, AWS_REGION: 'us-east-1' },
    } as KubeObject);
    // The first operator only rolls the Model out (kwok pods, addresses unknown until then): it checks no log.
    await suite.startOperator(['--prediction-log-check-period=3600']);
    await createReadyModel(client, {
      apiVersion: 'fluxora.io/v1alpha1',
      kind: 'Model',
      metadata: { name: 'churn', namespace: ns },
      spec: {
        artifact: { uri: fixtureUri('linear.onnx') },
        features: FEATURES,
        serving: { replicas: 3, predictionLog: { uri: logUri, flushIntervalSeconds: 1, credentialsSecretRef: { name: 'log-store' } } },
      },
    } as unknown as Model);
    const endpoints = await waitFor('the EndpointSlice lists the 3 ready pods', async () => {
      const slices = await client.request<{ items: EndpointSlice[] }>('GET', `/apis/discovery.k8s.io/v1/namespaces/${ns}/endpointslices`, {
        query: { labelSelector: 'kubernetes.io/service-name=churn' },
      });
      const eps = readyAdminEndpoints(slices.items);
      return eps.length === 3 && eps.every((e) => e.pod.startsWith('churn-')) ? eps : undefined;
    });
    expect(await suite.op!.stop()).toBe(0);

    // Two pods run here with the Deployment's environment (the log's Secret resolved, as the kubelet would).
    const cmd = await localCommand(client, ns, 'deployment/churn');
    serveEnv = { ...cmd.env, FLUXORA_HOST: '127.0.0.1', FLUXORA_PORT: '0', FLUXORA_GRPC_PORT: '0' };
    for (const ep of endpoints.slice(0, 2)) serving.push({ name: ep.pod, address: ep.address, adminPort: await freePort() });
    for (const pod of serving) await startServing(pod);
    // The third pod's address leads to a port nothing listens on.
    silentPod = endpoints[2]!;
    const map = [...serving.map((p) => `${p.address}=127.0.0.1:${p.adminPort}`), `${silentPod.address}=127.0.0.1:${await freePort()}`].join(',');
    await suite.startOperator([`--prediction-log-check-period=${PERIOD_SECONDS}`], { FLUXORA_SAMPLES_ADDRESS_MAP: map });
  }, 300_000);

  afterAll(async () => {
    for (const pod of serving) await stopServing(pod);
  });

  it('no loss yet: False, NoLoss, naming the pod that did not answer', async () => {
    // (The first operator may have left NotReported: it could not reach the simulated pods' addresses.)
    const c = await waitFor('PredictionLogLosing=False', async () => {
      const cond = await condition();
      return cond?.status === 'False' ? cond : undefined;
    }, 30_000);
    expect(c.reason).toBe('NoLoss');
    expect(c.message).toBe(
      `no prediction-log record lost in the last 5 minutes on 2 of 3 ready pods. 1 ready pod did not answer on the admin port and is not counted (${silentPod.pod}: cannot connect (ECONNREFUSED)).`,
    );
    // No Event for a log that never lost anything.
    expect((await modelEvents()).filter((e) => e.reason === 'NoLoss')).toEqual([]);
  });

  it('writes into a missing bucket fail: True, WritesFailing, with the pods, counts, error and advice; Ready stays True', async () => {
    await traffic(10);
    // Batches of the flush interval (1 s), refused by the store at once (no such bucket: no retry).
    await waitFor('both pods report failed records', async () => (await Promise.all(serving.map(podLog))).every((l) => l.failed === 10 && l.losing));
    const c = await waitFor('PredictionLogLosing=True', async () => {
      const cond = await condition();
      // Both pods' full counts, whichever poll came first.
      return cond?.status === 'True' && serving.every((p) => cond.message.includes(`pod ${p.name} (0 dropped, 10 failed`)) ? cond : undefined;
    }, 30_000);
    expect(c.reason).toBe('WritesFailing');
    const [a, b] = serving;
    expect(c.message).toMatch(
      new RegExp(
        `^2 of 3 ready pods lost prediction-log records in the last 5 minutes: pod ${a!.name} \\(0 dropped, 10 failed since the server started; last loss \\S+Z; last error: s3://${bucket}/predictions/model=churn/\\S+: bucket "${bucket}" does not exist\\), pod ${b!.name} \\(`,
      ),
    );
    expect(c.message).toContain(`Writes to ${logUri} fail: check that the bucket exists`);
    expect(c.message).toContain(`1 ready pod did not answer on the admin port and is not counted (${silentPod.pod}: cannot connect (ECONNREFUSED)).`);
    expect(c.message).not.toContain('succeed again');
    // Serving works: Ready and Degraded do not move.
    const m = await model();
    expect(getCondition(m.status?.conditions, 'Ready')).toMatchObject({ status: 'True', reason: 'Available' });
    expect(getCondition(m.status?.conditions, 'Degraded')).toMatchObject({ status: 'False' });
    expect(getCondition(m.status?.conditions, 'Stalled')).toBeUndefined();
    const warning = await waitFor('the Warning Event', async () => (await modelEvents()).find((e) => e.reason === 'WritesFailing'));
    expect(warning.type).toBe('Warning');
    expect(warning.message).toContain(`pod ${a!.name} (0 dropped, `);
  });

  it('while the losses stand still, polls write nothing', async () => {
    const s = await steadyState();
    expect(s.polls).toBeGreaterThanOrEqual(3);
    expect(s.after).toBe(s.before);
    expect(s.writes).toEqual([]);
    expect((await condition())?.status).toBe('True');
  });

  it('the bucket is created: writes succeed again, and the message says when the condition clears', async () => {
    const since = (await condition())!.lastTransitionTime;
    await createBucket(minio, bucket);
    await traffic(5);
    await waitFor('both pods wrote', async () => (await Promise.all(serving.map(podLog))).every((l) => l.written === 5 && l.lastError === undefined));
    const objects = await logObjects();
    for (const p of serving) expect(objects.some((k) => k.includes(`/${p.name}-0-`))).toBe(true);
    const c = await waitFor('the message says writes succeed again', async () => {
      const cond = await condition();
      return cond?.message.includes('failed and succeed again') ? cond : undefined;
    }, 30_000);
    // Still True: each pod lost records within the last 5 minutes.
    expect(c).toMatchObject({ status: 'True', reason: 'WritesFailing', lastTransitionTime: since });
    for (const p of serving) expect(c.message).toMatch(new RegExp(`pod ${p.name} \\(0 dropped, 10 failed since the server started; last loss \\S+; writes succeed again since \\S+\\)`));
    expect(c.message).toContain(`Writes to ${logUri} failed and succeed again; the condition clears 5 minutes after the last loss.`);
    expect(c.message).not.toContain('check that the bucket exists');
    // One Warning for the whole episode.
    expect((await modelEvents()).filter((e) => e.type === 'Warning' && e.reason === 'WritesFailing')).toHaveLength(1);
  });

  it('the pods restart (as after a rollout) and log without loss: False, NoLoss, with a Normal Event, then no writes', async () => {
    for (const pod of serving) {
      await stopServing(pod);
      await startServing(pod);
    }
    await traffic(5);
    await waitFor('both restarted pods wrote', async () => (await Promise.all(serving.map(podLog))).every((l) => l.written === 5 && !l.losing));
    // A poll between the two restarts may find one pod down: it is named as not answering, not counted as losing.
    const c = await waitFor('PredictionLogLosing=False from both restarted pods', async () => {
      const cond = await condition();
      return cond?.status === 'False' && cond.message.includes(' on 2 of 3 ready pods.') ? cond : undefined;
    }, 30_000);
    expect(c.reason).toBe('NoLoss');
    const normal = await waitFor('the Normal Event', async () => (await modelEvents()).find((e) => e.reason === 'NoLoss'));
    expect(normal.type).toBe('Normal');

    // Traffic keeps flowing and being written: the written count moves, the status does not.
    await traffic(5);
    const s = await steadyState();
    expect(s.polls).toBeGreaterThanOrEqual(3);
    expect(s.after).toBe(s.before);
    expect(s.writes).toEqual([]);
  });

  it('without spec.serving.predictionLog the condition goes away', async () => {
    await client.request('PATCH', `/apis/fluxora.io/v1alpha1/namespaces/${ns}/models/churn`, {
      body: { spec: { serving: { predictionLog: null } } },
      contentType: 'application/merge-patch+json',
    });
    await waitFor('PredictionLogLosing removed', async () => (await condition()) === undefined, 30_000);
  });
});
