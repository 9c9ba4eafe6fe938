// Drift checks that read the prediction log, end to end against a real MinIO:
// a real `fluxora serve` process serves the logistic fixture model with its
// prediction log on MinIO, takes traffic, and is stopped (SIGTERM flushes the
// log); then DriftMonitors with current.source PredictionLog get their
// verdicts from what it wrote, on the features and on the model's output.
// Each check runs as the CronJob's pod would: the container args the
// operator put in the CronJob, the check ServiceAccount's token, and exactly
// the environment the CronJob's envFrom gives (the reference's AWS_*
// variables, the Model's log credentials under FLUXORA_PREDICTION_LOG_).
import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { gzipSync } from 'node:zlib';
import { beforeAll, describe, expect, it } from 'vitest';
import type { DriftMonitor, DriftMonitorSpecInput, Model } from '../../src/api/index.js';
import { DriftMonitorType, ModelType } from '../../src/controllers/fluxora-types.js';
import { CronJobResource, SecretResource } from '../../src/controllers/resource-types.js';
import { getCondition } from '../../src/runtime/conditions.js';
import { resourcePath, type KubeObject } from '../../src/runtime/kube-client.js';
import { objectUri } from '../../src/serving/prediction-log.js';
import { listObjects, readObject, writeObject, type S3Options } from '../../src/storage/index.js';
import { LOGISTIC } from '../fixtures/models/generate.js';
import { fixtureUri, http, inferBody, spawnServe } from '../fixtures/models/serve-harness.js';
import { operatorNamespace, root, waitFor } from '../support/cluster.js';
import { createBucket, MINIO_START_TIMEOUT_MS, s3Options, startMinio, type MinioEndpoint } from '../support/minio.js';

const run = promisify(execFile);

interface EnvFrom {
  prefix?: string;
  secretRef: { name: string };
}
interface CronJob extends KubeObject {
  spec: { jobTemplate: { spec: { template: { spec: { containers: { args: string[]; envFrom?: EnvFrom[] }[] } } } } };
}
interface Secret extends KubeObject {
  data?: Record<string, string>;
}

/** Seeded rows [tenure, spend, visits]; `shift` moves tenure and visits by whole standard deviations. */
function rows(n: number, seed: number, shift = 0): number[][] {
  let s = seed;
  const rnd = () => (s = (s * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  const normal = () => (rnd() + rnd() + rnd() + rnd() - 2) * Math.sqrt(3); // mean 0, sd 1
  return Array.from({ length: n }, () => [2 + normal() + shift, 1 + normal(), normal() + shift]);
}

/** The logistic fixture's output: sigmoid(x·w + b), with `biasShift` for "another model". */
const probability = (r: number[], biasShift = 0) => 1 / (1 + Math.exp(-(r.reduce((a, x, i) => a + x * LOGISTIC.weights[i]![0], 0) + LOGISTIC.bias[0] + biasShift)));

const csv = (data: number[][], output?: (r: number[]) => number) =>
  [output ? 'tenure,spend,visits,churn_probability' : 'tenure,spend,visits', ...data.map((r) => [...r, ...(output ? [output(r)] : [])].map((v) => v.toFixed(6)).join(','))].join('\n') + '\n';

describe('drift-check with current.source PredictionLog', () => {
  const { client, ns } = operatorNamespace('drift-log', {
    nodes: 'kwok',
    why: 'the serving process runs on this machine (its log is the subject), and each check runs as a process with the CronJob pod identity; real pods: real-loop.test.ts',
  });
  let minio: MinioEndpoint;
  let s3: S3Options;
  const bucket = `drift-log-${Date.now().toString(36)}`;
  const logPrefix = `s3://${bucket}/predictions`;
  const requestsLogged: Record<string, number> = {};

  const b64 = (s: string) => Buffer.from(s).toString('base64');
  async function secret(name: string, keys: Record<string, string>) {
    await client.create(SecretResource, { apiVersion: 'v1', kind: 'Secret', metadata: { name, namespace: ns }, data: Object.fromEntries(Object.entries(keys).map(([k, v]) => [k, b64(v)])) } as KubeObject);
  }

  async function model(name: string, predictionLog?: Record<string, unknown>) {
    await client.create(ModelType, {
      apiVersion: 'fluxora.io/v1alpha1',
      kind: 'Model',
      metadata: { name, namespace: ns },
      spec: {
        artifact: { uri: `s3://${bucket}/models/logistic.onnx`, credentialsSecretRef: { name: 'artifact-s3' } },
        features: [{ name: 'tenure', type: 'numeric' }, { name: 'spend', type: 'numeric' }, { name: 'visits', type: 'numeric' }],
        ...(predictionLog ? { serving: { predictionLog } } : {}),
      },
    } as unknown as Model);
  }

  const ks = { method: 'ks' as const, threshold: 0.01 };
  const outputs = [{ name: 'churn_probability', output: 'probability', ...ks }];

  async function monitor(name: string, spec: Partial<DriftMonitorSpecInput>) {
    await client.create(DriftMonitorType, {
      apiVersion: 'fluxora.io/v1alpha1',
      kind: 'DriftMonitor',
      metadata: { name, namespace: ns },
      spec: {
        schedule: '0 * * * *',
        reference: { uri: `s3://${bucket}/reference.csv`, credentialsSecretRef: { name: 'data-s3' } },
        current: { source: 'PredictionLog', window: '1h', minSamples: 200 },
        features: ['tenure', 'spend', 'visits'].map((f) => ({ name: f, ...ks })),
        outputs,
        ...spec,
      },
    } as unknown as DriftMonitor);
    return waitFor('cronjob', () => client.getOrUndefined<CronJob>(CronJobResource, ns, `${name}-drift-check`));
  }

  /** The container's environment as the kubelet builds it from envFrom (prefix + key; a later source wins). */
  async function podEnv(cj: CronJob): Promise<Record<string, string>> {
    const env: Record<string, string> = {};
    for (const e of cj.spec.jobTemplate.spec.template.spec.containers[0]!.envFrom ?? []) {
      const s = await client.get<Secret>(SecretResource, ns, e.secretRef.name);
      for (const [k, v] of Object.entries(s.data ?? {})) env[`${e.prefix ?? ''}${k}`] = Buffer.from(v, 'base64').toString('utf8');
    }
    return env;
  }

  /** Runs the CronJob's container as a process, as its ServiceAccount, with the pod's environment only. */
  async function runCheck(monitorName: string): Promise<{ code: number; out: string }> {
    const cj = await client.get<CronJob>(CronJobResource, ns, `${monitorName}-drift-check`);
    const tok = await client.request<{ status: { token: string } }>('POST', `/api/v1/namespaces/${ns}/serviceaccounts/${monitorName}-drift-check/token`, {
      body: { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec: { expirationSeconds: 600 } },
    });
    const cluster = client.kubeConfig.getCurrentCluster()!;
    const kubeconfig = join(tmpdir(), `dcl-${monitorName}-${Date.now()}.yaml`);
    await writeFile(kubeconfig, JSON.stringify({
      apiVersion: 'v1', kind: 'Config', 'current-context': 'c',
      clusters: [{ name: 'c', cluster: { server: cluster.server, 'certificate-authority': cluster.caFile } }],
      users: [{ name: 'u', user: { token: tok.status.token } }],
      contexts: [{ name: 'c', context: { cluster: 'c', user: 'u' } }],
    }));
    // Nothing of this process's own storage settings leaks in: only what the pod would have.
    const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('AWS_') && !k.startsWith('FLUXORA_PREDICTION_LOG_')));
    const args = cj.spec.jobTemplate.spec.template.spec.containers[0]!.args;
    try {
      const r = await run(process.execPath, ['--import', 'tsx', join(root, 'src/cli/main.ts'), ...args, `--kubeconfig=${kubeconfig}`], { cwd: root, env: { ...base, ...(await podEnv(cj)) } });
      return { code: 0, out: r.stdout + r.stderr };
    } catch (e) {
      const err = e as { code: number; stdout: string; stderr: string };
      return { code: err.code, out: err.stdout + err.stderr };
    }
  }

  /** A merge patch of a Model's spec, as `kubectl patch --type merge` sends it. */
  const patchModel = (name: string, spec: Record<string, unknown>) =>
    client.request('PATCH', resourcePath(ModelType, ns, name), { body: { spec }, contentType: 'application/merge-patch+json' });
  const getMonitor = (name: string) => client.get<DriftMonitor>(DriftMonitorType, ns, name);
  const driftCondition = async (name: string) => getCondition((await getMonitor(name)).status?.conditions, 'DriftDetected');

  /** Serves `modelName` with `fluxora serve`, its log on MinIO, answers `data` in requests of 10 rows, and stops it (SIGTERM flushes the log). */
  async function serveTraffic(modelName: string, data: number[][]) {
    const p = await spawnServe(
      ['--model-name', modelName, '--model-uri', fixtureUri('logistic.onnx'), '--model-version', 'v1', '--host', '127.0.0.1', '--port', '0', '--admin-port', '0'],
      {
        FLUXORA_PREDICTION_LOG_URI: logPrefix,
        FLUXORA_PREDICTION_LOG_FLUSH_INTERVAL_SECONDS: '1',
        FLUXORA_PREDICTION_LOG_MAX_BATCH_RECORDS: '25',
        FLUXORA_POD_NAME: `${modelName}-7d9f8c-x2x4q`,
        // The serving pod's own variables: the artifact's Secret, which the log falls back to.
        AWS_ACCESS_KEY_ID: minio.accessKeyId,
        AWS_SECRET_ACCESS_KEY: minio.secretAccessKey,
        AWS_ENDPOINT_URL: minio.endpoint,
      },
    );
    try {
      for (let i = 0; i < data.length; i += 10) {
        const r = await http(p.port, { path: `/v2/models/${modelName}/infer`, body: inferBody(data.slice(i, i + 10)) });
        expect(r.status, r.text).toBe(200);
      }
    } finally {
      p.child.kill('SIGTERM');
    }
    expect(await p.exited).toBe(0);
    const closed = p.logs.find((l) => l.msg === 'prediction log closed') as { written: number; dropped: number; failed: number } | undefined;
    expect(closed).toMatchObject({ written: data.length / 10, dropped: 0, failed: 0 });
    requestsLogged[modelName] = closed!.written;
  }

  beforeAll(async () => {
    minio = await startMinio();
    s3 = s3Options(minio);
    await createBucket(minio, bucket);
    const reference = rows(800, 1);
    // The reference as users keep it: training rows scored by the serving model (the output column)...
    await writeObject(`s3://${bucket}/reference.csv`, csv(reference, (r) => probability(r)), { s3 });
    // ...scored by another model (the same inputs, other outputs)...
    await writeObject(`s3://${bucket}/reference-other-model.csv`, csv(reference, (r) => probability(r, 1.5)), { s3 });
    // ...and not scored at all.
    await writeObject(`s3://${bucket}/reference-unscored.csv`, csv(reference), { s3 });
    const keys = { AWS_ACCESS_KEY_ID: minio.accessKeyId, AWS_SECRET_ACCESS_KEY: minio.secretAccessKey, AWS_ENDPOINT_URL: minio.endpoint };
    await secret('data-s3', keys);
    await secret('artifact-s3', keys);
    await secret('wrong-log-s3', { AWS_ACCESS_KEY_ID: 'not-a-key', AWS_SECRET_ACCESS_KEY: 'not-a-secret' });

    await serveTraffic('same', rows(600, 2));
    await serveTraffic('shifted', rows(600, 3, 1.5));
    for (const name of ['same', 'shifted', 'damaged', 'moved']) await model(name, { uri: logPrefix });
    await model('nolog');
  }, MINIO_START_TIMEOUT_MS);

  it('reference-like traffic: no drift on the features or the output, from the log alone', async () => {
    await monitor('same', { modelRef: { name: 'same' } });
    const r = await runCheck('same');
    expect(r.code, r.out).toBe(0);
    const m = await getMonitor('same');
    expect(m.status).toMatchObject({ driftDetected: false, predictionDrift: false, driftShare: 0, sampleCount: 600, consecutiveDriftChecks: 0 });
    expect(m.status?.features?.map((f) => [f.name, f.method, f.drifted])).toEqual([
      ['tenure', 'ks', false],
      ['spend', 'ks', false],
      ['visits', 'ks', false],
    ]);
    expect(m.status?.outputs?.map((f) => [f.name, f.method, f.drifted])).toEqual([['churn_probability', 'ks', false]]);
    expect((await driftCondition('same'))?.message).toBe('0 of 3 features drifted; share 0 < 0.5; 0 of 1 outputs drifted');
  });

  it('shifted traffic: the features that moved, and the output, drift', async () => {
    await monitor('shifted', { modelRef: { name: 'shifted' } });
    const r = await runCheck('shifted');
    expect(r.code, r.out).toBe(0);
    const m = await getMonitor('shifted');
    expect(m.status).toMatchObject({ driftDetected: true, predictionDrift: true, sampleCount: 600, consecutiveDriftChecks: 1 });
    expect(m.status?.features?.map((f) => [f.name, f.drifted])).toEqual([
      ['tenure', true],
      ['spend', false],
      ['visits', true],
    ]);
    expect(m.status?.outputs?.[0]).toMatchObject({ name: 'churn_probability', drifted: true });
    expect((await driftCondition('shifted'))?.message).toBe(`2 of 3 features drifted (tenure, visits); share 0.667 >= 0.5; 1 of 1 outputs drifted (churn_probability)`);
  });

  it('prediction drift alone: inputs as in the reference, outputs not (another model scored it) is drift', async () => {
    await monitor('output-only', { modelRef: { name: 'same' }, reference: { uri: `s3://${bucket}/reference-other-model.csv`, credentialsSecretRef: { name: 'data-s3' } } });
    expect((await runCheck('output-only')).code).toBe(0);
    const m = await getMonitor('output-only');
    expect(m.status).toMatchObject({ driftDetected: true, predictionDrift: true, driftShare: 0 });
    expect(m.status?.outputs?.[0]).toMatchObject({ name: 'churn_probability', drifted: true });
    expect(await driftCondition('output-only')).toMatchObject({ status: 'True', reason: 'DriftDetected', message: '0 of 3 features drifted; share 0 < 0.5; 1 of 1 outputs drifted (churn_probability)' });
  });

  it('a damaged object in the log is skipped: the check still gives a verdict, names it in the condition and records a Warning Event', async () => {
    // The "same" traffic under Model "damaged", beside an object that is not gzip and one with a line that is not JSON.
    const from = `${logPrefix}/model=same/`;
    for (const uri of await listObjects(from, { s3 })) {
      await writeObject(uri.replace('/model=same/', '/model=damaged/'), await readObject(uri, { s3 }), { s3 });
    }
    const t = Date.now() - 60_000;
    const notGzip = objectUri({ prefix: logPrefix, model: 'damaged', version: 'v1', pod: 'damaged-7d9f8c-zzzzz', worker: 0, seq: 1, firstTime: t });
    await writeObject(notGzip, 'this is not a gzip object', { s3 });
    const badLine = objectUri({ prefix: logPrefix, model: 'damaged', version: 'v1', pod: 'damaged-7d9f8c-zzzzz', worker: 0, seq: 2, firstTime: t + 1 });
    await writeObject(badLine, gzipSync('{"id": "half a record"\n'), { s3 });

    await monitor('damaged', { modelRef: { name: 'damaged' } });
    const r = await runCheck('damaged');
    expect(r.code, r.out).toBe(0);
    const m = await getMonitor('damaged');
    expect(m.status).toMatchObject({ driftDetected: false, sampleCount: 600 });
    const c = await driftCondition('damaged');
    expect(c).toMatchObject({ status: 'False', reason: 'NoDrift' });
    expect(c?.message).toContain('0 of 1 outputs drifted; 2 log objects or lines skipped (');
    expect(c?.message).toContain(`${notGzip}: not a gzip object`);
    const events = await client.request<{ items: { type: string; reason: string; message: string; involvedObject: { kind?: string; name: string } }[] }>('GET', `/api/v1/namespaces/${ns}/events`);
    const skipped = events.items.find((e) => e.involvedObject.kind === 'DriftMonitor' && e.involvedObject.name === 'damaged' && e.reason === 'PredictionLogRecordsSkipped');
    expect(skipped?.type).toBe('Warning');
    expect(skipped?.message).toContain(notGzip);
  });

  it('too little traffic in the window is no verdict, saying where it looked', async () => {
    await monitor('strict', { modelRef: { name: 'same' }, current: { source: 'PredictionLog', window: '1h', minSamples: 1000 } });
    expect((await runCheck('strict')).code).toBe(0);
    expect(await driftCondition('strict')).toMatchObject({
      status: 'Unknown',
      reason: 'InsufficientSamples',
      message: `only 600 rows in the prediction log ${logPrefix} within the last 1h (current.window), 1000 needed (current.minSamples); no verdict`,
    });
  });

  it('a Model without a prediction log: the check fails with PredictionLogNotConfigured, saying what to set', async () => {
    await monitor('nolog', { modelRef: { name: 'nolog' } });
    const r = await runCheck('nolog');
    expect(r.code).toBe(1);
    const c = await driftCondition('nolog');
    expect(c).toMatchObject({ status: 'Unknown', reason: 'PredictionLogNotConfigured' });
    expect(c?.message).toContain('Model "nolog" has no prediction log: set spec.serving.predictionLog.uri on the Model');
    expect((await getMonitor('nolog')).status?.lastCheckTime).toBeUndefined();
  });

  it('a reference without the output column: ReferenceMissingOutput, telling the user to add it', async () => {
    await monitor('unscored', { modelRef: { name: 'same' }, reference: { uri: `s3://${bucket}/reference-unscored.csv`, credentialsSecretRef: { name: 'data-s3' } } });
    expect((await runCheck('unscored')).code).toBe(1);
    const c = await driftCondition('unscored');
    expect(c).toMatchObject({ status: 'Unknown', reason: 'ReferenceMissingOutput' });
    expect(c?.message).toContain(`reference s3://${bucket}/reference-unscored.csv has no column "churn_probability" for spec.outputs "churn_probability": add the model's outputs on the reference rows as that column`);
  });

  it("the CronJob pod gets the Model's log credentials, follows changes of them, and the check reads the log with them", async () => {
    const cj = await monitor('moved', { modelRef: { name: 'moved' } });
    const envFrom = () => client.get<CronJob>(CronJobResource, ns, 'moved-drift-check').then((c) => c.spec.jobTemplate.spec.template.spec.containers[0]!.envFrom);
    // No log Secret of its own: the artifact's, under the serving pod's prefix, beside the reference's own.
    expect(cj.spec.jobTemplate.spec.template.spec.containers[0]!.envFrom).toEqual([
      { secretRef: { name: 'data-s3' } },
      { prefix: 'FLUXORA_PREDICTION_LOG_', secretRef: { name: 'artifact-s3' } },
    ]);
    // A log Secret that does not exist: the monitor says so (the pod could not even start).
    await patchModel('moved', { serving: { predictionLog: { uri: logPrefix, credentialsSecretRef: { name: 'absent-s3' } } } });
    const notReady = await waitFor('CredentialsNotFound', async () => {
      const c = getCondition((await getMonitor('moved')).status?.conditions, 'Ready');
      return c?.reason === 'CredentialsNotFound' ? c : undefined;
    });
    expect(notReady.message).toContain('Secret "absent-s3" (spec.serving.predictionLog.credentialsSecretRef of Model "moved", for current.source PredictionLog) does not exist');
    // The log's own Secret (here with keys the store refuses): the CronJob follows the Model.
    await patchModel('moved', { serving: { predictionLog: { uri: logPrefix, credentialsSecretRef: { name: 'wrong-log-s3' } } } });
    await waitFor('the CronJob follows the Model', async () => ((await envFrom())?.length === 3 && (await envFrom())?.[2]?.secretRef.name === 'wrong-log-s3' ? true : undefined));
    expect(await envFrom()).toEqual([
      { secretRef: { name: 'data-s3' } },
      { prefix: 'FLUXORA_PREDICTION_LOG_', secretRef: { name: 'artifact-s3' } },
      { prefix: 'FLUXORA_PREDICTION_LOG_', secretRef: { name: 'wrong-log-s3' } },
    ]);
    // The log is read with those keys (the reference, with the valid AWS_* ones, is read fine): the store refuses the listing.
    const r = await runCheck('moved');
    expect(r.code).toBe(1);
    const c = await driftCondition('moved');
    expect(c).toMatchObject({ status: 'Unknown', reason: 'PredictionLogUnreadable' });
    expect(c?.message).toContain(`prediction log ${logPrefix} (spec.serving.predictionLog.uri of Model "moved")`);
    expect(c?.message).toContain('InvalidAccessKeyId');
    expect(c?.message).toContain(
      'the check reads the log with Secret "wrong-log-s3" (spec.serving.predictionLog.credentialsSecretRef), falling back to Secret "artifact-s3" (spec.artifact.credentialsSecretRef)',
    );
  });

  it('the traffic each server answered was logged', () => {
    expect(requestsLogged).toEqual({ same: 60, shifted: 60 });
  });
});
