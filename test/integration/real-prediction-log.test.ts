// The prediction-log loop in real pods on the real Node, the operator in the
// cluster, MinIO as the store:
//   serve -> log -> drift check from the log -> labels arrive -> performance
//   trigger -> RetrainJob trained on the logged window joined with its labels
//   -> promotion, with the lineage (verdict -> dataset -> version) in status.
// Nothing is simulated: the serving pod writes the log objects, the
// DriftMonitor's CronJob pod reads them and the labels, the trainer Job's
// init container builds the data set from them, and the trainer trains on it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DriftMonitor, Model, RetrainJob } from '../../src/api/index.js';
import { DriftMonitorType, ModelType, RetrainJobType } from '../../src/controllers/fluxora-types.js';
import { CronJobResource } from '../../src/controllers/resource-types.js';
import { readLogWindow } from '../../src/predictions/index.js';
import { getCondition } from '../../src/runtime/conditions.js';
import type { KubeObject } from '../../src/runtime/kube-client.js';
import { readObject, sha256Hex, writeObject } from '../../src/storage/index.js';
import { seededRandom } from '../../src/training/random.js';
import { churned, dataset, NEW_CONCEPT, OLD_CONCEPT, traffic } from '../fixtures/models/churn-world.js';
import { FEATURES, inferBody } from '../fixtures/models/serve-harness.js';
import { runFluxora } from '../support/captured-process.js';
import { operatorNamespace, retrainJobFinished, waitFor } from '../support/cluster.js';
import { createBucket, s3Options, startMinio, type MinioEndpoint } from '../support/minio.js';
import { installOperator, kubectl, minioForPods, removeOperator, requireRealNode, stepTimer } from '../support/real-pods.js';

const BUCKET = 'fluxora-real-log';
const REQUESTS = 800;

interface InferAnswer {
  id: string;
  model_version: string;
  outputs: { data: number[] }[];
}

describe('real pods: prediction log, labels and performance-triggered retraining', () => {
  beforeAll(() => requireRealNode());
  const { client, ns } = operatorNamespace('real-plog', { nodes: 'real' }, { operator: false });
  let m: MinioEndpoint;
  const steps = stepTimer();
  const mark = steps.mark;
  const uri = (key: string) => `s3://${BUCKET}/${ns}/${key}`;
  const s3 = () => ({ s3: s3Options(m) });
  const storage = { name: 'storage' };
  const model = () => client.get<Model>(ModelType, ns, 'churn');
  const serviceIp = async () =>
    (await client.get<KubeObject & { spec: { clusterIP: string } }>({ group: '', version: 'v1', kind: 'Service', plural: 'services', namespaced: true }, ns, 'churn')).spec.clusterIP;

  async function infer(rows: number[][], id?: string): Promise<InferAnswer> {
    const res = await fetch(`http://${await serviceIp()}:8080/v2/models/churn/infer`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: inferBody(rows, id ? { id } : {}),
    });
    const text = await res.text();
    expect(res.status, text).toBe(200);
    return JSON.parse(text) as InferAnswer;
  }

  // The requests sent, by id, and the labels the world gives them later (the new concept).
  const sent = traffic(REQUESTS, 31, 1.5);
  const rnd = seededRandom(32);
  const truth = sent.map((x) => churned(x, NEW_CONCEPT, rnd));
  const id = (i: number) => `req-${String(i).padStart(4, '0')}`;

  beforeAll(async () => {
    m = await startMinio();
    await createBucket(m, BUCKET);
    await minioForPods(client, ns, m);
    await writeObject(uri('data/history.csv'), dataset(3000, 1, 0, OLD_CONCEPT), s3());
    await writeObject(uri('data/reference.csv'), dataset(1000, 2, 0, OLD_CONCEPT), s3());
    const v1 = await runFluxora(['train'], {
      FLUXORA_DATASET_URI: uri('data/history.csv'),
      FLUXORA_OUTPUT_URI: uri('models/churn/v1/'),
      FLUXORA_TRAINER_CONFIG: JSON.stringify({ algorithm: 'logistic', target: 'churned', seed: 1 }),
      FLUXORA_FEATURES: JSON.stringify(FEATURES),
      AWS_ACCESS_KEY_ID: m.accessKeyId,
      AWS_SECRET_ACCESS_KEY: m.secretAccessKey,
      AWS_ENDPOINT_URL: m.endpoint,
      AWS_REGION: 'us-east-1',
    });
    expect(v1.code, v1.stderr).toBe(0);
    await installOperator();
    mark('operator installed from manifests/install');
  }, 300_000);

  afterAll(async () => {
    await removeOperator();
    console.log(steps.report('real-pod prediction-log loop'));
  });

  it('the serving pod logs every answered request, under the id the client sent, to MinIO', async () => {
    await client.create(ModelType, {
      apiVersion: 'fluxora.io/v1alpha1',
      kind: 'Model',
      metadata: { name: 'churn', namespace: ns },
      spec: {
        artifact: { uri: uri('models/churn/v1/model.onnx'), credentialsSecretRef: storage },
        features: FEATURES,
        serving: { replicas: 1, predictionLog: { uri: uri('log'), flushIntervalSeconds: 1 } },
        promotion: { policy: 'Automatic' },
      },
    } as unknown as Model);
    await waitFor('Model churn Ready', async () => getCondition((await model()).status?.conditions, 'Ready')?.status === 'True', 120_000);
    await waitFor('Service routes', async () => (await infer([[0, 0, 0]])).model_version, 30_000, 250);
    mark('Model with a prediction log Ready, Service routes');

    const started = Date.now();
    for (let i = 0; i < REQUESTS; i += 40) {
      const answers = await Promise.all(sent.slice(i, i + 40).map((row, j) => infer([row], id(i + j))));
      answers.forEach((a, j) => expect(a.id).toBe(id(i + j)));
    }
    mark(`${REQUESTS} requests with client ids through the Service`);

    const logged = await waitFor('every request in the log', async () => {
      const w = await readLogWindow({ prefix: uri('log'), model: 'churn', from: new Date(started - 60_000), to: new Date(Date.now() + 60_000), ...s3() });
      const mine = w.records.filter((r) => r.id.startsWith('req-'));
      return mine.length >= REQUESTS ? { w, mine } : undefined;
    }, 60_000, 500);
    mark('all requests found in the log objects');
    expect(logged.mine).toHaveLength(REQUESTS); // none twice
    expect(logged.w.problems.count).toBe(0);
    const byId = new Map(logged.mine.map((r) => [r.id, r]));
    for (const i of [0, 1, REQUESTS - 1]) {
      const r = byId.get(id(i))!;
      expect(r.version).toBe('v1');
      expect(r.inputs[0]!.data).toEqual(sent[i]!.map((v) => Math.fround(v)));
      expect(r.outputs.map((o) => o.name)).toContain('probability');
    }
  });

  it('labels arriving later make a check from the log see degraded AUC; one RetrainJob trains on the logged window and v2 is promoted', async () => {
    // Labels for the first 600 requests now, the rest later; plus ids nobody logged and a malformed file.
    const rows = (from: number, to: number) => Array.from({ length: to - from }, (_, k) => `${id(from + k)},${truth[from + k]}`);
    await writeObject(uri('labels/batch-1.csv'), ['request,churned', ...rows(0, 600), 'unknown-1,1', 'unknown-2,0'].join('\n') + '\n', s3());
    await writeObject(uri('labels/broken.csv'), 'request,churned\n"req-0001,1\n', s3());
    const labels = { uri: uri('labels/'), credentialsSecretRef: storage, idColumn: 'request', labelColumn: 'churned' };

    await client.create(DriftMonitorType, {
      apiVersion: 'fluxora.io/v1alpha1',
      kind: 'DriftMonitor',
      metadata: { name: 'churn-quality', namespace: ns },
      spec: {
        modelRef: { name: 'churn' },
        schedule: '0 0 1 1 *', // the test starts each check itself
        reference: { uri: uri('data/reference.csv'), credentialsSecretRef: storage },
        current: { source: 'PredictionLog', window: '1h', minSamples: 500 },
        performance: {
          labels,
          prediction: { output: 'probability' },
          task: 'BinaryClassification',
          window: '1h',
          minLabelledRows: 500,
          trigger: { metric: 'auc', min: 0.75 },
        },
        retrain: {
          enabled: true,
          consecutiveChecks: 1,
          cooldown: '1h',
          template: {
            trainer: { builtin: { algorithm: 'logistic', target: 'churned', seed: 42 } },
            dataset: { predictionLog: { window: '1h', labels, minRows: 500 } },
            output: { uri: uri('models/churn/runs'), credentialsSecretRef: storage },
            acceptance: { metric: 'auc', min: 0.7, mustBeatServing: true },
          },
        },
      },
    } as unknown as DriftMonitor);
    await waitFor('drift-check CronJob', () => client.getOrUndefined(CronJobResource, ns, 'churn-quality-drift-check'));
    await writeObject(uri('labels/batch-2.csv'), ['request,churned', ...rows(600, REQUESTS)].join('\n') + '\n', s3());
    mark('labels written, DriftMonitor applied');

    await kubectl(['-n', ns, 'create', 'job', 'churn-quality-now', '--from=cronjob/churn-quality-drift-check']);
    const checked = await waitFor('a check with a performance verdict', async () => {
      const mon = await client.get<DriftMonitor>(DriftMonitorType, ns, 'churn-quality');
      return mon.status?.performance?.degraded !== undefined ? mon : undefined;
    }, 120_000);
    mark('check from the log (CronJob pod): drift and performance verdict');
    const s = checked.status!;
    expect(s.driftDetected).toBe(true);
    expect(s.sampleCount).toBeGreaterThanOrEqual(REQUESTS);
    const perf = s.performance!;
    expect(perf.degraded).toBe(true);
    expect(perf.labelled).toBe(REQUESTS);
    expect(perf.unmatchedLabels).toBe(2);
    expect(perf.metrics?.auc).toBeLessThan(0.75);
    expect(perf.coverage).toBeGreaterThan(0.95);
    const degraded = getCondition(s.conditions, 'PerformanceDegraded');
    expect(degraded).toMatchObject({ status: 'True' });
    expect(degraded?.message).toMatch(/auc/i);
    expect(degraded?.message).toContain('broken.csv');

    const rjs = await waitFor('one RetrainJob from the performance verdict', async () => {
      const list = await client.list<RetrainJob>(RetrainJobType, ns);
      return list.length ? list : undefined;
    }, 60_000, 1000);
    expect(rjs).toHaveLength(1);
    mark('RetrainJob created');
    // The verdict that caused it: the monitor, the check and why.
    expect(rjs[0]!.metadata.labels?.['fluxora.io/drift-monitor']).toBe('churn-quality');
    expect(rjs[0]!.metadata.annotations?.['fluxora.io/drift-check-time']).toBe(s.lastCheckTime);
    expect(rjs[0]!.metadata.annotations?.['fluxora.io/retrain-cause']).toMatch(/performance/i);
    const rj = await retrainJobFinished(client, ns, rjs[0]!.metadata.name, 240_000);
    expect(rj.status?.phase, JSON.stringify(rj.status)).toBe('Succeeded');
    expect(rj.status?.promotedVersion).toBe('v2');
    mark('init container built the logged window, trainer trained, gate accepted');
    const ds = rj.status?.dataset;
    expect(ds?.labelled ?? ds?.rows).toBe(REQUESTS);
    const csv = await readObject(ds!.uri, s3());
    expect(sha256Hex(csv)).toBe(ds!.sha256);
    const [header, ...lines] = csv.toString('utf8').trimEnd().split('\n');
    expect(header).toBe('tenure,spend,visits,churned');
    expect(lines).toHaveLength(REQUESTS);

    const mo = await waitFor('Model serves v2', async () => {
      const mo = await model();
      return mo.status?.servingVersion === 'v2' && getCondition(mo.status.conditions, 'Ready')?.status === 'True' ? mo : undefined;
    }, 180_000);
    const v2 = mo.status?.versions?.find((v) => v.name === 'v2');
    expect(v2?.source).toBe(`RetrainJob/${rj.metadata.name}`);
    expect(v2?.dataset).toMatchObject({ uri: ds!.uri, sha256: ds!.sha256 });
    await waitFor('v2 answers through the Service', async () => (await infer([[1, 2, 3]])).model_version === 'v2', 60_000, 500);
    mark('v2 promoted and answering');
  });

  it('the operator in the cluster reads the pods\' log state: no loss, and Ready is untouched', async () => {
    // The operator polls every 60 s; a first poll may have found no ready pod yet.
    const mo = await waitFor('PredictionLogLosing False (NoLoss)', async () => {
      const mo = await model();
      return getCondition(mo.status?.conditions, 'PredictionLogLosing')?.reason === 'NoLoss' ? mo : undefined;
    }, 150_000, 1000);
    expect(getCondition(mo.status?.conditions, 'PredictionLogLosing')?.status).toBe('False');
    expect(getCondition(mo.status?.conditions, 'Ready')?.status).toBe('True');
    mark('operator read the pods\' prediction-log state: NoLoss');
  });
});
