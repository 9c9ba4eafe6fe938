// The example scikit-learn container trainer (manifests/examples/sklearn-trainer)
// proves the trainer contract with code we did not write in TypeScript. It
// runs as a process with exactly the environment its Job pod would get: the
// example Model and RetrainJob go through the real API server (CRD defaults
// and validation), buildTrainerJob() builds the Job from what the server
// returned, the envFrom Secret is read back from the API as the kubelet would,
// and the data set and the served v1 model sit in real MinIO. What the
// trainer writes is read back through src/storage and judged by the
// operator's own parseTrainerMetrics/applyAcceptance.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseDocument } from 'yaml';
import type { Model, RetrainJob } from '../../src/api/index.js';
import { ModelType, RetrainJobType } from '../../src/controllers/fluxora-types.js';
import { applyAcceptance, parseTrainerMetrics, type TrainerMetrics } from '../../src/controllers/retrain-job/acceptance.js';
import { buildTrainerJob, outputPrefix } from '../../src/controllers/retrain-job/job.js';
import { SecretResource } from '../../src/controllers/resource-types.js';
import type { KubeClient, KubeObject } from '../../src/runtime/kube-client.js';
import { signatureFromSession } from '../../src/serving/model-signature.js';
import { buildLogisticModel } from '../../src/serving/onnx-builder.js';
import { resolveFeatureLayout } from '../../src/serving/sample-capture.js';
import { objectExists, readObject, writeObject, type S3Options } from '../../src/storage/index.js';
import { seededRandom } from '../../src/training/random.js';
import { ensurePythonVenv } from '../fixtures/models/python-venv.js';
import { operatorNamespace, root } from '../support/cluster.js';
import { createBucket, s3Options, startMinio, type MinioEndpoint } from '../support/minio.js';

const EXAMPLE = join(root, 'manifests', 'examples', 'sklearn-trainer');
const TRAIN_PY = join(EXAMPLE, 'train.py');
// A cold venv (scikit-learn, onnxruntime, boto3, ...) takes a minute or two on 2 cores; later runs reuse it.
const VENV_TIMEOUT_MS = 20 * 60_000;

interface Container {
  image: string;
  command?: string[];
  env: { name: string; value?: string }[];
  envFrom?: { secretRef: { name: string } }[];
}
interface Job extends KubeObject {
  spec: { template: { spec: { containers: Container[] } } };
}
interface Secret extends KubeObject {
  data?: Record<string, string>;
  stringData?: Record<string, string>;
}

// ---- the data, drawn for whatever features the example Model declares

type Feature = { name: string; type: 'numeric' | 'categorical' };
type Sample = { x: number[]; churned: 0 | 1 };

/** Deterministic PRNG (mulberry32): the same data set, split and metrics on every run. */
const prng = seededRandom;

// What drives churn: a weight per numeric column (by position), an effect per category code.
const WEIGHTS = [1.2, -0.8, 1.0, 0.6, -0.4];
const weight = (j: number) => WEIGHTS[j % WEIGHTS.length]!;
const CATEGORY_EFFECT = [0.8, 0, -0.5];
const BIAS = -0.3;

/** The true churn probability the labels are drawn from. */
function churnProbability(features: readonly Feature[], x: readonly number[]): number {
  const z = features.reduce((s, f, j) => s + (f.type === 'numeric' ? weight(j) * x[j]! : CATEGORY_EFFECT[x[j]!]!), BIAS);
  return 1 / (1 + Math.exp(-z));
}

/** Numeric columns in standardised units (normal, mean 0, sd 1); categorical ones as codes 0, 1, 2. */
function draw(features: readonly Feature[], n: number, seed: number): Sample[] {
  const rand = prng(seed);
  const normal = () => Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
  return Array.from({ length: n }, () => {
    const x = features.map((f) => (f.type === 'numeric' ? Number(normal().toFixed(4)) : Math.floor(rand() * 3)));
    return { x, churned: rand() < churnProbability(features, x) ? 1 : 0 };
  });
}

/** The most and the least likely churner the truth allows, two standard deviations out. */
const extremes = (features: readonly Feature[]) =>
  [-1, 1].map((side) => features.map((f, j) => (f.type === 'numeric' ? 2 * side * Math.sign(weight(j)) : side < 0 ? 2 : 0)));

const csv = (features: readonly Feature[], data: readonly Sample[]) =>
  [[...features.map((f) => f.name), 'churned'].join(','), ...data.map((s) => [...s.x, s.churned].join(','))].join('\n') + '\n';
const jsonLines = (features: readonly Feature[], data: readonly Sample[]) =>
  data.map((s) => JSON.stringify({ ...Object.fromEntries(features.map((f, j) => [f.name, s.x[j]])), churned: s.churned === 1 })).join('\n') + '\n';

/** A served v1 that has it backwards: every numeric weight of the truth with the wrong sign. */
const backwardsModel = (features: readonly Feature[]) =>
  buildLogisticModel({ weights: features.map((f, j) => [f.type === 'numeric' ? -weight(j) : 0]), bias: [0], inputName: 'x', outputName: 'probability' });

// ---- the trainer as a process

interface Run {
  code: number | null;
  stderr: string;
}

/** The environment a container gets: envFrom Secrets first, then env, which wins (as the kubelet does it). */
async function podEnvironment(client: KubeClient, job: Job): Promise<Record<string, string>> {
  const [container] = job.spec.template.spec.containers;
  const env: Record<string, string> = {};
  for (const { secretRef } of container!.envFrom ?? []) {
    const secret = await client.get<Secret>(SecretResource, job.metadata.namespace, secretRef.name);
    for (const [k, v] of Object.entries(secret.data ?? {})) env[k] = Buffer.from(v, 'base64').toString('utf8');
  }
  for (const e of container!.env) env[e.name] = e.value ?? '';
  return env;
}

function runTrainer(python: string, podEnv: Record<string, string>, home: string): Promise<Run> {
  return new Promise((resolve, reject) => {
    // Nothing from the test's own environment leaks in (no AWS_* of ours): only what the pod would have.
    const child = spawn(python, [TRAIN_PY], {
      cwd: home,
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: home, PYTHONDONTWRITEBYTECODE: '1', ...podEnv },
      stdio: ['ignore', 'ignore', 'pipe'],
      timeout: 5 * 60_000,
    });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stderr }));
  });
}

// The examples as shipped: the RetrainJob runs against the example Model, with that Model's features.
const exampleDoc = <T>(file: string) => parseDocument(readFileSync(file, 'utf8')).toJS() as T;
const MODEL_YAML = exampleDoc<Model>(join(root, 'manifests', 'examples', 'model.yaml'));
const RETRAIN_JOB_YAML = exampleDoc<RetrainJob>(join(EXAMPLE, 'retrain-job.yaml'));
const FEATURES: Feature[] = MODEL_YAML.spec.features.map(({ name, type }) => ({ name, type }));
const NAMES = FEATURES.map((f) => f.name);
const TRAINING = draw(FEATURES, 1200, 7);
const TARGET = 'churned';

describe('example scikit-learn container trainer', () => {
  let python: string;
  let minio: MinioEndpoint;
  let s3: S3Options;
  const { client, ns } = operatorNamespace(
    'sklearn-trainer',
    {
      nodes: 'none',
      why: 'the Python trainer runs as a process with its Job pod environment: the project builds no Python image',
    },
    { operator: false },
  );
  let home: string;
  let model: Model;
  let retrainJob: RetrainJob;
  const bucket = `fluxora-sk-${randomBytes(4).toString('hex')}`;
  const uri = (key: string) => `s3://${bucket}/${key}`;
  const servedV1 = uri('models/churn/v1/model.onnx');

  /** A variant of the example run: another name (so another output prefix), data set or trainer settings. */
  function variant(name: string, o: { dataset?: string; env?: Record<string, string> } = {}): RetrainJob {
    const container = retrainJob.spec.trainer.container!;
    const env = (container.env ?? []).map((e) => ({ ...e, value: o.env?.[e.name] ?? e.value }));
    return {
      ...retrainJob,
      metadata: { ...retrainJob.metadata, name },
      spec: { ...retrainJob.spec, dataset: { ...retrainJob.spec.dataset, uri: o.dataset ?? retrainJob.spec.dataset.uri }, trainer: { container: { ...container, env } } },
    };
  }

  /** Runs the trainer as the Job for `rj` would (for `forModel`, serving `servingUri`). */
  async function train(rj: RetrainJob, servingUri: string | undefined, o: { forModel?: Model; edit?: (env: Record<string, string>) => void } = {}) {
    const job = buildTrainerJob(rj, o.forModel ?? model, servingUri, 'fluxora:unused-for-container-trainers') as Job;
    const env = await podEnvironment(client, job);
    o.edit?.(env);
    return { job, env, run: await runTrainer(python, env, home) };
  }

  const readMetrics = async (rj: RetrainJob): Promise<TrainerMetrics> =>
    parseTrainerMetrics((await readObject(`${outputPrefix(rj)}metrics.json`, { s3 })).toString('utf8'));

  async function withSession<T>(artifact: string, use: (session: ort.InferenceSession) => Promise<T>): Promise<T> {
    const session = await ort.InferenceSession.create(await readObject(artifact, { s3 }), { intraOpNumThreads: 1 });
    try {
      return await use(session);
    } finally {
      await session.release();
    }
  }

  async function probabilities(session: ort.InferenceSession, rows: readonly (readonly number[])[]): Promise<number[]> {
    const x = new ort.Tensor('float32', Float32Array.from(rows.flat()), [rows.length, rows[0]!.length]);
    return Array.from((await session.run({ x })).probability!.data as Float32Array);
  }

  beforeAll(async () => {
    python = await ensurePythonVenv(
      { name: 'sklearn-trainer', purpose: 'the example scikit-learn trainer', requirements: [join(EXAMPLE, 'requirements.txt'), join(EXAMPLE, 'requirements-dev.txt')] },
      (l) => process.stderr.write(`${l}\n`),
    );
    minio = await startMinio();
    s3 = s3Options(minio);
    await createBucket(bucket);
    await writeObject(uri('data/churn/train.csv'), csv(FEATURES, TRAINING), { s3 });
    await writeObject(uri('data/churn/train.jsonl'), jsonLines(FEATURES, TRAINING), { s3 });
    await writeObject(servedV1, backwardsModel(FEATURES), { s3 });
    home = await mkdtemp(join(tmpdir(), 'fluxora-sklearn-trainer-'));

    // The Secret the example refers to, holding this test's MinIO settings, as envFrom will pass them.
    const secretName = RETRAIN_JOB_YAML.spec.dataset.credentialsSecretRef!.name;
    await client.create<Secret>(SecretResource, {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: secretName, namespace: ns },
      stringData: { AWS_ENDPOINT_URL: minio.endpoint, AWS_REGION: 'us-east-1', AWS_ACCESS_KEY_ID: minio.accessKeyId, AWS_SECRET_ACCESS_KEY: minio.secretAccessKey },
    });
    // The examples go through the API server (schema, defaults, CEL rules), pointed at this test's bucket.
    model = await client.create<Model>(ModelType, {
      ...MODEL_YAML,
      metadata: { ...MODEL_YAML.metadata, namespace: ns },
      spec: { ...MODEL_YAML.spec, artifact: { uri: servedV1, credentialsSecretRef: { name: secretName } } },
    });
    retrainJob = await client.create<RetrainJob>(RetrainJobType, {
      ...RETRAIN_JOB_YAML,
      metadata: { ...RETRAIN_JOB_YAML.metadata, namespace: ns },
      spec: {
        ...RETRAIN_JOB_YAML.spec,
        modelRef: { name: model.metadata.name },
        dataset: { ...RETRAIN_JOB_YAML.spec.dataset, uri: uri('data/churn/train.csv') },
        output: { ...RETRAIN_JOB_YAML.spec.output, uri: uri('models/churn/') },
      },
    });
  }, VENV_TIMEOUT_MS);

  afterAll(async () => {
    if (home) await rm(home, { recursive: true, force: true });
  });

  it('trains v2 with the Job pod environment, writes model.onnx and metrics.json, and the gate accepts it', async () => {
    const { job, env, run } = await train(retrainJob, servedV1);
    // The example runs the image's ENTRYPOINT, which is this script.
    const [container] = job.spec.template.spec.containers;
    expect(container!.image).toContain('fluxora-sklearn-trainer');
    expect(container!.command).toBeUndefined();
    expect(await readFile(join(EXAMPLE, 'Dockerfile'), 'utf8')).toContain('ENTRYPOINT ["python", "/app/train.py"]');
    expect(env).toMatchObject({ FLUXORA_SERVING_URI: servedV1, FLUXORA_FEATURES: JSON.stringify(model.spec.features), TARGET_COLUMN: TARGET, AWS_ENDPOINT_URL: minio.endpoint });
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toMatch(/read 1200 rows from s3:/);

    // metrics.json as the operator reads it.
    const m = await readMetrics(retrainJob);
    const classification = ['accuracy', 'auc', 'f1', 'logloss', 'precision', 'recall'];
    expect(Object.keys(m.metrics).sort()).toEqual(classification);
    expect(Object.keys(m.serving ?? {}).sort()).toEqual(classification);
    expect(m.metrics.auc).toBeGreaterThan(0.8);
    expect(m.serving!.auc).toBeLessThan(0.5); // v1 has it backwards
    const raw = JSON.parse((await readObject(`${outputPrefix(retrainJob)}metrics.json`, { s3 })).toString('utf8')) as Record<string, unknown>;
    expect(raw).toMatchObject({ features: NAMES, rows: { total: 1200, train: 960, holdout: 240 }, training: { algorithm: 'logistic', seed: 42 } });

    const gate = applyAcceptance(retrainJob.spec.acceptance, m, undefined);
    expect(gate).toMatchObject({ accepted: true, message: expect.stringContaining("beats the serving version's") as unknown });
    expect(applyAcceptance({ metric: 'auc', min: 0.99, mustBeatServing: false }, m, undefined)).toMatchObject({ accepted: false, reason: 'BelowMinimum' });

    // model.onnx: the serving layout under the served model's own tensor names, and sensible answers.
    await withSession(`${outputPrefix(retrainJob)}model.onnx`, async (session) => {
      const sig = signatureFromSession(session);
      expect(sig.inputs).toEqual([{ name: 'x', datatype: 'FP32', shape: [-1, FEATURES.length], rankKnown: true }]);
      expect(sig.outputs).toEqual([{ name: 'probability', datatype: 'FP32', shape: [-1, 1], rankKnown: true }]);
      expect(sig.batchable).toBe(true);
      expect(resolveFeatureLayout(FEATURES, sig)).toEqual({ columns: NAMES.map((key, column) => ({ key, input: 'x', column })) });

      const fresh = draw(FEATURES, 300, 99).map((s) => s.x);
      const p = await probabilities(session, fresh);
      expect(p).toHaveLength(fresh.length);
      expect(p.every((v) => v >= 0 && v <= 1)).toBe(true);
      const meanError = p.reduce((sum, v, i) => sum + Math.abs(v - churnProbability(FEATURES, fresh[i]!)), 0) / p.length;
      expect(meanError).toBeLessThan(0.06);
      const [stays, leaves] = await probabilities(session, extremes(FEATURES));
      expect(stays).toBeLessThan(0.1);
      expect(leaves).toBeGreaterThan(0.9);
    });
  });

  it('evaluates a served v2 it wrote itself on the same holdout; the same run again does not beat it', async () => {
    const v2 = `${outputPrefix(retrainJob)}model.onnx`;
    const first = await readMetrics(retrainJob);

    // JSON Lines of the same rows and gradient boosting: the holdout is the same, so v2 scores as before.
    const jsonl = variant('churn-retrain-sklearn-2', { dataset: uri('data/churn/train.jsonl'), env: { ALGORITHM: 'gradient_boosting' } });
    const second = await train(jsonl, v2);
    expect(second.run.code, second.run.stderr).toBe(0);
    const m2 = await readMetrics(jsonl);
    for (const [k, v] of Object.entries(first.metrics)) expect(m2.serving?.[k], k).toBeCloseTo(v, 9);
    expect(m2.metrics.auc).toBeGreaterThan(0.75);
    expect(JSON.parse((await readObject(`${outputPrefix(jsonl)}metrics.json`, { s3 })).toString('utf8'))).toMatchObject({ training: { algorithm: 'gradient_boosting' } });

    // The first run's settings again: an equal model is not a better one.
    const again = variant('churn-retrain-sklearn-3');
    const third = await train(again, v2);
    expect(third.run.code, third.run.stderr).toBe(0);
    const m3 = await readMetrics(again);
    expect(m3.metrics.auc).toBeCloseTo(m3.serving!.auc!, 6);
    expect(applyAcceptance(retrainJob.spec.acceptance, m3, undefined)).toMatchObject({ accepted: false, reason: 'NotBetterThanServing' });
  });

  it('still trains when the served model cannot be evaluated, and says why in metrics.json', async () => {
    const rj = variant('churn-retrain-sklearn-4');
    const { run } = await train(rj, uri('models/churn/v0/missing.onnx'));
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toMatch(/warning: cannot evaluate the served model: cannot read s3:\/\/.*NoSuchKey/);
    const m = await readMetrics(rj);
    expect(m.serving).toBeUndefined();
    // Without the trainer's own baseline the gate falls back to the serving version's recorded metrics.
    expect(applyAcceptance(retrainJob.spec.acceptance, m, { auc: 0.5 })).toMatchObject({ accepted: true });
    expect(applyAcceptance(retrainJob.spec.acceptance, m, undefined)).toMatchObject({ accepted: false, reason: 'NoServingBaseline' });
  });

  it('one-hot encodes a categorical feature given as codes, unseen codes included', async () => {
    const plan = ['plan', 'contract', 'segment'].find((n) => !NAMES.includes(n))!;
    const features: Feature[] = [...FEATURES, { name: plan, type: 'categorical' }];
    const withPlan = { ...model, spec: { ...model.spec, features } };
    const data = draw(features, 1200, 11);
    await writeObject(uri('data/churn/with-plan.csv'), csv(features, data), { s3 });
    const rj = variant('churn-retrain-sklearn-plan', { dataset: uri('data/churn/with-plan.csv') });
    const { run } = await train(rj, undefined, { forModel: withPlan });
    expect(run.code, run.stderr).toBe(0);
    expect((await readMetrics(rj)).metrics.auc).toBeGreaterThan(0.8);
    await withSession(`${outputPrefix(rj)}model.onnx`, async (session) => {
      const row = FEATURES.map(() => 0);
      const [plan0, plan2, unseen] = await probabilities(session, [[...row, 0], [...row, 2], [...row, 7]]);
      expect(plan0).toBeGreaterThan(plan2!); // the truth: +0.8 for plan 0, -0.5 for plan 2
      expect(unseen).toBeGreaterThan(0);
      expect(unseen).toBeLessThan(1);
    });
    // A label where a code belongs is refused, saying why.
    await writeObject(uri('data/bad/plan-labels.csv'), `${[...NAMES, plan, TARGET].join(',')}\n${[...FEATURES.map(() => 0), 'basic', 1].join(',')}\n`, { s3 });
    const bad = await train(variant('bad-plan-labels', { dataset: uri('data/bad/plan-labels.csv') }), undefined, { forModel: withPlan });
    expect(bad.run.code).toBe(1);
    expect(bad.run.stderr).toMatch(new RegExp(`line 2: feature '${plan}' is not numeric: .*'basic' \\(categorical features must be numeric codes`));
  });

  const header = [...NAMES, TARGET].join(',');
  const zeros = NAMES.map(() => '0');
  // 40 good rows (file lines 2-41 after the header), so a bad row is not refused for being alone.
  const good = csv(FEATURES, TRAINING.slice(0, 40)).split('\n').slice(1, 41).join('\n');
  const [first, second] = NAMES;
  it.each([
    ['no target column', 'missing-target.csv', `${NAMES.join(',')}\n${zeros.join(',')}\n`, new RegExp(`the data set has no target column '${TARGET}' \\(its columns: ${NAMES.join(', ')}\\)`)],
    ['a non-numeric feature', 'non-numeric.csv', `${header}\n${good}\n${['abc', ...zeros.slice(1), 1].join(',')}\n`, new RegExp(`line 42: feature '${first}' is not numeric: could not convert string to float: 'abc'`)],
    ['a missing feature value', 'missing-value.csv', `${header}\n${good}\n${[zeros[0], '', ...zeros.slice(2), 0].join(',')}\n`, new RegExp(`line 42: feature '${second}' is missing`)],
    ['a target that is not binary', 'target.csv', `${header}\n${[...zeros, 'maybe'].join(',')}\n${good}`, new RegExp(`line 2: target '${TARGET}': 'maybe' is not a binary label`)],
    ['a header and no rows', 'header-only.csv', `${header}\n`, /the data set has a header but no rows/],
    ['an empty file', 'empty.csv', '', /the data set is empty \(no header row\)/],
    ['a single class', 'one-class.csv', `${header}\n${Array.from({ length: 30 }, (_, i) => [i, ...zeros.slice(1), 0].join(',')).join('\n')}\n`, new RegExp(`target '${TARGET}' has a single class \\(0\\)`)],
    ['broken JSON Lines', 'broken.jsonl', `${JSON.stringify(Object.fromEntries([...NAMES, TARGET].map((n) => [n, 1])))}\n{"${first}": 2,\n`, /line 2: not valid JSON/],
  ])('exits 1 on %s, naming the problem, and writes nothing', async (_what, file, text, message) => {
    await writeObject(uri(`data/bad/${file}`), text, { s3 });
    const rj = variant(`bad-${file.replace(/\W+/g, '-')}`, { dataset: uri(`data/bad/${file}`) });
    const { run } = await train(rj, servedV1);
    expect(run.code, run.stderr).toBe(1);
    expect(run.stderr).toMatch(message);
    expect(run.stderr).toMatch(/^sklearn-trainer: error: /m);
    expect(run.stderr).not.toMatch(/Traceback/);
    expect(await objectExists(`${outputPrefix(rj)}model.onnx`, { s3 })).toBe(false);
    expect(await objectExists(`${outputPrefix(rj)}metrics.json`, { s3 })).toBe(false);
  });

  it("exits 1 when the data set does not exist, with the store's reason", async () => {
    const rj = variant('bad-no-such-object', { dataset: uri('data/churn/nope.csv') });
    const { run } = await train(rj, servedV1);
    expect(run.code, run.stderr).toBe(1);
    expect(run.stderr).toMatch(/error: cannot read s3:\/\/fluxora-sk-[0-9a-f]+\/data\/churn\/nope.csv: NoSuchKey/);
  });

  it('exits 2 when its own settings are wrong', async () => {
    const missing = await train(variant('bad-config-1'), servedV1, { edit: (env) => delete env.TARGET_COLUMN });
    expect(missing.run.code).toBe(2);
    expect(missing.run.stderr).toMatch(/error: TARGET_COLUMN is not set/);
    const algorithm = await train(variant('bad-config-2', { env: { ALGORITHM: 'svm' } }), servedV1);
    expect(algorithm.run.code).toBe(2);
    expect(algorithm.run.stderr).toMatch(/error: ALGORITHM for classification must be one of logistic, gradient_boosting, got "svm"/);
  });

  it('train.py passes ruff (pinned in requirements-dev.txt)', async () => {
    const lint = await new Promise<Run & { stdout: string }>((resolve, reject) => {
      const child = spawn(python, ['-m', 'ruff', 'check', '--no-cache', TRAIN_PY], { cwd: EXAMPLE, stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
      child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
      child.on('error', reject);
      child.on('close', (code) => resolve({ code, stdout, stderr }));
    });
    expect(lint.code, lint.stdout + lint.stderr).toBe(0);
  });
});
