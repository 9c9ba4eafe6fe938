// The drift check against live traffic, in real pods: the operator (run from
// source) rolls out a Model with two serving pods, traffic from a shifted
// world reaches them through the Service, and each check is a Job made from
// the DriftMonitor's CronJob (`kubectl create job --from=cronjob/...`), whose
// pod runs `fluxora drift-check`: it finds the serving pods through the
// Service's EndpointSlices and pulls their samples with the samples token.
import { beforeAll, describe, expect, it } from 'vitest';
import type { DriftMonitor, Model, RetrainJob } from '../../src/api/index.js';
import { DriftMonitorType, RetrainJobType } from '../../src/controllers/fluxora-types.js';
import { CronJobResource, JobResource } from '../../src/controllers/resource-types.js';
import { getCondition } from '../../src/runtime/conditions.js';
import type { KubeObject } from '../../src/runtime/kube-client.js';
import { readObject, writeObject } from '../../src/storage/index.js';
import { FEATURES, fixtureUri, inferBody } from '../fixtures/models/serve-harness.js';
import { createReadyModel, operatorNamespace, waitFor } from '../support/cluster.js';
import { createBucket, s3Options, startMinio, type MinioEndpoint } from '../support/minio.js';
import { kubectl, minioForPods, requireRealNode } from '../support/real-pods.js';

const BUCKET = 'fluxora-drift-serving';

function gaussian(seed: number) {
  let s = seed;
  const u = () => ((s = (s * 1103515245 + 12345) % 2 ** 31) + 1) / (2 ** 31 + 1);
  return () => Math.sqrt(-2 * Math.log(u())) * Math.cos(2 * Math.PI * u());
}

interface Job extends KubeObject {
  status?: { succeeded?: number; failed?: number };
}

describe('drift-check pods on samples captured by real serving pods', () => {
  beforeAll(() => requireRealNode());
  const suite = operatorNamespace('drift-serving', { nodes: 'real' }, { operator: false });
  const { client, ns } = suite;
  let m: MinioEndpoint;
  let checks = 0;
  const uri = (key: string) => `s3://${BUCKET}/${ns}/${key}`;

  async function infer(rows: number[][]): Promise<number> {
    const svc = await client.get<KubeObject & { spec: { clusterIP: string } }>({ group: '', version: 'v1', kind: 'Service', plural: 'services', namespaced: true }, ns, 'churn');
    const res = await fetch(`http://${svc.spec.clusterIP}:8080/v2/models/churn/infer`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: inferBody(rows) });
    await res.text();
    return res.status;
  }

  async function sendTraffic(rows: number, shift: number, seed: number) {
    const g = gaussian(seed);
    for (let i = 0; i < rows; i += 50) {
      expect(await infer(Array.from({ length: 50 }, () => FEATURES.map(() => g() + shift)))).toBe(200);
    }
  }

  /** One check, as `kubectl create job --from=cronjob/...` starts it; waits for the Job to finish. */
  async function runCheck(): Promise<Job> {
    const name = `check-${++checks}`;
    await kubectl(['-n', ns, 'create', 'job', name, '--from=cronjob/churn-drift-drift-check']);
    return waitFor(`Job ${name} finished`, async () => {
      const job = await client.get<Job>(JobResource, ns, name);
      return job.status?.succeeded || job.status?.failed ? job : undefined;
    }, 90_000, 500);
  }

  const retrains = async () => (await client.list<RetrainJob>(RetrainJobType, ns)).map((r) => r.metadata.name);

  beforeAll(async () => {
    m = await startMinio();
    await createBucket(m, BUCKET);
    await minioForPods(client, ns, m);
    const g = gaussian(11);
    await writeObject(uri('reference.csv'), ['tenure,spend,visits', ...Array.from({ length: 1000 }, () => [g(), g(), g()].map((v) => v.toFixed(5)).join(','))].join('\n') + '\n', { s3: s3Options(m) });
    await writeObject(uri('models/v1/model.onnx'), await readObject(fixtureUri('linear.onnx')), { s3: s3Options(m) });
    await suite.startOperator();
    await createReadyModel(
      client,
      {
        apiVersion: 'fluxora.io/v1alpha1',
        kind: 'Model',
        metadata: { name: 'churn', namespace: ns },
        spec: {
          artifact: { uri: uri('models/v1/model.onnx'), credentialsSecretRef: { name: 'storage' } },
          features: FEATURES,
          serving: { replicas: 2, sampling: { rate: 1, bufferSize: 5000 } },
        },
      } as unknown as Model,
      { timeoutMs: 120_000 },
    );
    // Ready pods route a moment later (EndpointSlice, kube-proxy).
    await waitFor('Service routes', async () => (await infer([[0, 0, 0]]).catch(() => 0)) === 200, 30_000, 250);

    await client.create(DriftMonitorType, {
      apiVersion: 'fluxora.io/v1alpha1',
      kind: 'DriftMonitor',
      metadata: { name: 'churn-drift', namespace: ns },
      spec: {
        modelRef: { name: 'churn' },
        schedule: '*/15 * * * *',
        reference: { uri: uri('reference.csv'), credentialsSecretRef: { name: 'storage' } },
        current: { source: 'Serving', minSamples: 400, maxSamples: 5000 },
        retrain: {
          enabled: true,
          consecutiveChecks: 1,
          cooldown: '1h',
          template: { trainer: { builtin: { algorithm: 'linear', target: 'y' } }, dataset: { uri: uri('train.csv') }, output: { uri: uri('runs') } },
        },
      },
    } as unknown as DriftMonitor);
    await waitFor('CronJob', () => client.getOrUndefined(CronJobResource, ns, 'churn-drift-drift-check'));
  }, 300_000);

  it('too few samples: no verdict, no retrain', async () => {
    await sendTraffic(200, 2, 5);
    const job = await runCheck();
    expect(job.status?.succeeded).toBe(1);
    const mon = await client.get<DriftMonitor>(DriftMonitorType, ns, 'churn-drift');
    // The routing probe above counts too.
    expect(mon.status?.sampleCount).toBe(201);
    expect(mon.status?.lastCheckTime).toBeUndefined();
    expect(getCondition(mon.status?.conditions, 'DriftDetected')).toMatchObject({ status: 'Unknown', reason: 'InsufficientSamples' });
    await new Promise((r) => setTimeout(r, 1500));
    expect(await retrains()).toEqual([]);
  });

  it('shifted live traffic from both pods is detected and starts one retrain', async () => {
    await sendTraffic(600, 2, 6);
    const job = await runCheck();
    expect(job.status?.succeeded).toBe(1);
    const mon = await client.get<DriftMonitor>(DriftMonitorType, ns, 'churn-drift');
    expect(mon.status).toMatchObject({ driftDetected: true, consecutiveDriftChecks: 1, sampleCount: 801, driftShare: 1 });
    expect(mon.status?.features?.map((f) => f.name)).toEqual(['tenure', 'spend', 'visits']);
    const names = await waitFor('retrain', async () => {
      const n = await retrains();
      return n.length ? n : undefined;
    });
    expect(names).toHaveLength(1);
  });
});
