// A RetrainJob trained on the prediction log (dataset.predictionLog), on the
// real control plane: the trainer Job carries the data set step (an init
// container running `fluxora dataset-build`) with the window fixed by the
// RetrainJob's creation time, the log's and the labels' credentials and the
// Model's features; the trainer reads the dataset.csv it writes. After the
// Job succeeds the operator records dataset.json in status.dataset and in the
// new version (lineage). A failed step ends the run with the step's reason
// (DatasetTooSmall, DatasetUnreadable) and line; a Model without a log fails
// the run before any Job.
//
// kwok plays the kubelet: it is paused while the test does what the pod's
// containers would (the real builder writes the data set on file:// stores
// here; the real CLI against MinIO is dataset-build-s3.test.ts), or writes
// the terminated state of a failed step, then the real Job controller of
// kube-controller-manager completes or fails the Job.
import { mkdtemp, mkdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import type { Model, RetrainJob } from '../../src/api/index.js';
import { ModelType, RetrainJobType } from '../../src/controllers/fluxora-types.js';
import { JobResource, PodResource, SecretResource } from '../../src/controllers/resource-types.js';
import { getCondition } from '../../src/runtime/conditions.js';
import type { KubeObject } from '../../src/runtime/kube-client.js';
import { buildLoggedDataset } from '../../src/training/logged-dataset.js';
import { logRecord, writeLogObject } from '../fixtures/models/prediction-log-records.js';
import { createReadyModel, operatorNamespace, retrainJobFinished, servingImage, waitFor } from '../support/cluster.js';
import { kubeletTime, kwokControl, writePodStatus, type TestPod } from '../support/kwok.js';

interface Container {
  name: string;
  image: string;
  args?: string[];
  env: { name: string; value?: string }[];
  envFrom?: unknown[];
  securityContext?: unknown;
}
interface Job extends KubeObject {
  spec: { podFailurePolicy: { rules: unknown[] }; template: { spec: { initContainers?: Container[]; containers: Container[] } } };
  status?: { conditions?: { type: string; status: string; reason?: string; message?: string }[] };
}
interface EventList {
  items: { type: string; reason: string; message: string; involvedObject: { kind?: string; name: string } }[];
}

const FEATURES = [
  { name: 'tenure', type: 'numeric' },
  { name: 'spend', type: 'numeric' },
];
const HOUR = 3_600_000;

describe('RetrainJob on the prediction log', () => {
  const suite = operatorNamespace('retrain-log', {
    nodes: 'kwok',
    why: 'the test plays the pod (the data set step and the trainer) on file:// stores, or writes a failed step; the real CLI runs against MinIO in dataset-build-s3.test.ts',
  });
  const { client, ns } = suite;
  let dir: string;
  const kwok = () => kwokControl(inject('kubeconfig'));

  const retrainJob = (name: string, model: string, minRows = 2): RetrainJob =>
    ({
      apiVersion: 'fluxora.io/v1alpha1',
      kind: 'RetrainJob',
      metadata: { name, namespace: ns },
      spec: {
        modelRef: { name: model },
        trainer: { builtin: { algorithm: 'linear', target: 'y', seed: 1 } },
        dataset: { predictionLog: { window: '24h', labelDelay: '1h', minRows, labels: { uri: 's3://labels/churn/', credentialsSecretRef: { name: 'labels-store' } } } },
        output: { uri: `file://${dir}/runs/` },
        backoffLimit: 1,
        activeDeadlineSeconds: 600,
      },
    }) as unknown as RetrainJob;

  const jobOf = (name: string) => waitFor(`Job ${name}`, () => client.getOrUndefined<Job>(JobResource, ns, name));
  const envOf = (c: Container) => Object.fromEntries(c.env.map((e) => [e.name, e.value]));
  const warnings = (name: string) =>
    waitFor(`a Warning Event on ${name}`, async () => {
      const events = await client.request<EventList>('GET', `/api/v1/namespaces/${ns}/events`);
      const mine = events.items.filter((e) => e.involvedObject.kind === 'RetrainJob' && e.involvedObject.name === name && e.type === 'Warning');
      return mine.length ? mine : undefined;
    }, 15_000);

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'fluxora-retrain-log-'));
    for (const name of ['log-store', 'labels-store', 'artifact-store']) {
      await client.create(SecretResource, { apiVersion: 'v1', kind: 'Secret', metadata: { name, namespace: ns }, stringData: { AWS_ACCESS_KEY_ID: name, AWS_SECRET_ACCESS_KEY: 'x' } } as KubeObject);
    }
    await createReadyModel(
      client,
      {
        apiVersion: 'fluxora.io/v1alpha1',
        kind: 'Model',
        metadata: { name: 'churn', namespace: ns },
        spec: {
          artifact: { uri: 'file:///models/churn/v1.onnx', credentialsSecretRef: { name: 'artifact-store' } },
          features: FEATURES,
          serving: { predictionLog: { uri: 's3://logs/predictions', credentialsSecretRef: { name: 'log-store' } } },
        },
      } as unknown as Model,
      { version: 'v1' },
    );
  });

  it('runs the data set step before the trainer, then records the data set in status.dataset and in the new version', async () => {
    const k = kwok();
    k.pause(true);
    let rj: RetrainJob;
    let job: Job;
    try {
      rj = await client.create<RetrainJob>(RetrainJobType, retrainJob('rj-log', 'churn'));
      job = await jobOf('rj-log');
      // The window is fixed by the creation time: to = created - labelDelay (1h), from = to - window (24h).
      const to = Date.parse(rj.metadata.creationTimestamp!) - HOUR;
      const from = to - 24 * HOUR;
      const { initContainers, containers } = job.spec.template.spec;
      expect(initContainers?.map((c) => c.name)).toEqual(['dataset']);
      const init = initContainers![0]!;
      expect(init).toMatchObject({ image: servingImage(), args: ['dataset-build'] });
      expect(envOf(init)).toMatchObject({
        FLUXORA_PREDICTION_LOG_URI: 's3://logs/predictions',
        FLUXORA_MODEL_NAME: 'churn',
        FLUXORA_DATASET_WINDOW_FROM: new Date(from).toISOString(),
        FLUXORA_DATASET_WINDOW_TO: new Date(to).toISOString(),
        FLUXORA_LABELS_URI: 's3://labels/churn/',
        FLUXORA_LABELS_LABEL_COLUMN: 'label',
        FLUXORA_DATASET_TARGET: 'y',
        FLUXORA_DATASET_MIN_ROWS: '2',
        FLUXORA_OUTPUT_URI: `file://${dir}/runs/rj-log/`,
      });
      expect(JSON.parse(envOf(init).FLUXORA_FEATURES!)).toEqual(FEATURES);
      expect(init.envFrom).toEqual([
        { prefix: 'FLUXORA_PREDICTION_LOG_', secretRef: { name: 'artifact-store' } },
        { prefix: 'FLUXORA_PREDICTION_LOG_', secretRef: { name: 'log-store' } },
        { prefix: 'FLUXORA_LABELS_', secretRef: { name: 'labels-store' } },
      ]);
      expect(init.securityContext).toEqual(containers[0]!.securityContext);
      expect(envOf(containers[0]!).FLUXORA_DATASET_URI).toBe(`file://${dir}/runs/rj-log/dataset.csv`);
      expect(job.spec.podFailurePolicy.rules).toContainEqual({ action: 'FailJob', onExitCodes: { containerName: 'dataset', operator: 'In', values: [2, 3, 4] } });

      // What the pod does: the step builds the data set of that window (here on file:// stores), the trainer writes its output.
      const log = `file://${dir}/log`;
      await writeLogObject(log, [logRecord('a', to - 2 * HOUR, [[1, 10]]), logRecord('b', to - 2 * HOUR + 1000, [[2, 20]]), logRecord('c', to - 2 * HOUR + 2000, [[3, 30]])]);
      await mkdir(join(dir, 'labels'), { recursive: true });
      await writeFile(join(dir, 'labels', 'l.csv'), 'id,label\na,1.5\nb,2.5\nc,3.5\n');
      const built = await buildLoggedDataset({
        logUri: log,
        model: 'churn',
        features: FEATURES as { name: string; type: 'numeric' }[],
        from: new Date(from),
        to: new Date(to),
        labels: { uri: `file://${dir}/labels/`, idColumn: 'id', labelColumn: 'label' },
        target: 'y',
        minRows: 2,
        outputUri: `file://${dir}/runs/rj-log/`,
      });
      await writeFile(join(dir, 'runs', 'rj-log', 'model.onnx'), 'onnx-bytes-of-rj-log');
      await writeFile(join(dir, 'runs', 'rj-log', 'metrics.json'), JSON.stringify({ rmse: 0.1, r2: 0.9 }));
      k.pause(false);

      const done = await retrainJobFinished(client, ns, 'rj-log');
      expect(done.status?.phase).toBe('Succeeded');
      const m = built.manifest;
      expect(done.status?.dataset).toEqual({
        uri: `file://${dir}/runs/rj-log/dataset.csv`,
        sha256: m.sha256,
        rows: 3,
        predictions: 3,
        labelled: 3,
        coverage: 1,
        window: { from: new Date(from).toISOString(), to: new Date(to).toISOString() },
      });
      const model = await client.get<Model>(ModelType, ns, 'churn');
      const version = model.status?.versions?.find((v) => v.name === done.status?.promotedVersion);
      expect(version).toMatchObject({ source: 'RetrainJob/rj-log', dataset: { uri: m.uri, sha256: m.sha256, window: m.window } });
    } finally {
      if (k.paused) k.pause(false);
    }
  });

  it('a Model without a prediction log fails the run at once (PredictionLogNotConfigured), and no Job is created', async () => {
    await client.create(ModelType, {
      apiVersion: 'fluxora.io/v1alpha1',
      kind: 'Model',
      metadata: { name: 'nolog', namespace: ns },
      spec: { artifact: { uri: 'file:///models/nolog/v1.onnx' }, features: FEATURES },
    } as unknown as Model);
    await client.create(RetrainJobType, retrainJob('rj-nolog', 'nolog'));
    const rj = await retrainJobFinished(client, ns, 'rj-nolog');
    expect(rj.status?.phase).toBe('Failed');
    const failed = getCondition(rj.status?.conditions, 'Failed');
    expect(failed).toMatchObject({ status: 'True', reason: 'PredictionLogNotConfigured' });
    expect(failed?.message).toContain('Model "nolog", which has none: set spec.serving.predictionLog');
    expect((await warnings('rj-nolog')).map((e) => e.reason)).toEqual(['PredictionLogNotConfigured']);
    expect(await client.getOrUndefined(JobResource, ns, 'rj-nolog')).toBeUndefined();
  });

  it.each([
    [4, 'DatasetTooSmall', '12 labelled rows in the window 2026-03-13T11:00:00.000Z to 2026-03-14T11:00:00.000Z, fewer than minRows 100: 40 prediction rows logged', 'the prediction log holds too few labelled rows to train on'],
    [3, 'DatasetUnreadable', 's3://labels/churn/: access denied (AccessDenied)', 'the data set step could not read the prediction log or the labels'],
  ] as const)('a data set step that exits %i fails the run as %s, quoting its line, without retries', async (exitCode, reason, line, what) => {
    const name = `rj-exit-${exitCode}`;
    const k = kwok();
    k.pause(true);
    try {
      await client.create(RetrainJobType, retrainJob(name, 'churn', 100));
      const pod = await waitFor(`pod of ${name} bound`, async () => (await client.list<TestPod>(PodResource, ns, `fluxora.io/retrain-job=${name}`)).find((p) => p.spec.nodeName), 30_000);
      // What the kubelet reports when the init container exits: its code and termination message; the trainer never started.
      const terminated = { exitCode, reason: 'Error', message: line, startedAt: kubeletTime(), finishedAt: kubeletTime() };
      await writePodStatus(client, pod, {
        phase: 'Failed',
        conditions: [{ type: 'Initialized', status: 'False', reason: 'ContainersNotInitialized', lastTransitionTime: kubeletTime() }],
        initContainerStatuses: [{ name: 'dataset', image: servingImage(), imageID: '', ready: false, restartCount: 0, state: { terminated } }],
        containerStatuses: [{ name: 'trainer', image: servingImage(), imageID: '', ready: false, restartCount: 0, started: false, state: { waiting: { reason: 'PodInitializing' } } }],
      });
      // The real Job controller applies the podFailurePolicy: no second pod, whatever backoffLimit says.
      const job = await waitFor(`Job ${name} Failed`, async () => {
        const j = await client.get<Job>(JobResource, ns, name);
        return j.status?.conditions?.find((c) => c.type === 'Failed' && c.status === 'True') ? j : undefined;
      }, 60_000, 500);
      expect(job.status?.conditions?.find((c) => c.type === 'Failed')).toMatchObject({ reason: 'PodFailurePolicy' });
    } finally {
      k.pause(false);
    }
    const rj = await retrainJobFinished(client, ns, name);
    expect(rj.status?.phase).toBe('Failed');
    const failed = getCondition(rj.status?.conditions, 'Failed');
    expect(failed).toMatchObject({ status: 'True', reason });
    expect(failed?.message).toBe(`${what}: ${line} (\`kubectl logs -n ${ns} job/${name} -c dataset\`)`);
    expect((await warnings(name)).map((e) => e.reason)).toEqual([reason]);
    expect(rj.status?.dataset).toBeUndefined();
  });
});
