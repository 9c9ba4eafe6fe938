// The performance part of `fluxora drift-check`, end to end against a real
// MinIO and the real API server: prediction log objects in the server's
// layout and format (objectUri, gzip JSON Lines), label files arriving later
// (CSV and JSON Lines, a malformed one, unknown ids, a duplicate id,
// corrections, a multi-row request labelled "<id>/<row>"), the check run as
// its CronJob's pod (container args, ServiceAccount token, envFrom with the
// labels' and the log's Secrets under their prefixes; no plain AWS_*
// variables at all), and the retrain the operator starts from the verdict.
//
// The expected metrics are computed by scikit-learn on the rows the test
// itself knows are labelled (not through the code under test), in the
// performance venv (hack/requirements-performance.txt).
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DriftMonitor, Model, PerformanceStatus, RetrainJob } from '../../src/api/index.js';
import { DriftMonitorType, ModelType, RetrainJobType } from '../../src/controllers/fluxora-types.js';
import { CronJobResource, SecretResource } from '../../src/controllers/resource-types.js';
import { getCondition } from '../../src/runtime/conditions.js';
import { resourcePath, type KubeObject } from '../../src/runtime/kube-client.js';
import { objectUri } from '../../src/serving/prediction-log.js';
import { writeObject, type S3Options } from '../../src/storage/index.js';
import { seededRandom, normal } from '../../src/training/random.js';
import { localCommand } from '../../hack/run-local.js';
import { ensurePythonVenv } from '../fixtures/models/python-venv.js';
import { operatorNamespace, root, waitFor } from '../support/cluster.js';
import { createBucket, s3Options, startMinio } from '../support/minio.js';

const run = promisify(execFile);
const MINUTE = 60_000;

interface Row {
  id: string;
  p: number;
  /** The label the check must end up with (after corrections), or undefined when the row has none. */
  y?: 0 | 1;
}

interface LogLine {
  id: string;
  model: string;
  version: string;
  time: string;
  inputs: { name: string; datatype: string; shape: number[]; data: number[] }[];
  outputs: { name: string; datatype: string; shape: number[]; data: number[] }[];
}

describe('drift-check: performance from the prediction log and labels', () => {
  const { client, ns } = operatorNamespace('performance', {
    nodes: 'kwok',
    why: 'the check runs as a process with its CronJob pod identity and environment, to control the log, the labels and the timing exactly',
  });
  const bucket = `perf-${Date.now().toString(36)}`;
  let s3: S3Options;
  let dir: string;
  let python: string;
  /** The rows the check must judge, by the test's own bookkeeping. */
  const judged: Row[] = [];

  const rand = seededRandom(15);
  const gauss = normal(rand);
  /** A weak classifier: its score barely follows the label (AUC about 0.65). */
  const draw = (): { y: 0 | 1; p: number } => {
    const y = rand() < 0.4 ? 1 : 0;
    const p = 1 / (1 + Math.exp(-(0.5 * (2 * y - 1) + gauss())));
    return { y, p: Number(p.toFixed(6)) };
  };

  const record = (id: string, time: number, rows: number[], output = 'probability'): LogLine => ({
    id,
    model: 'churn',
    version: 'v1',
    time: new Date(time).toISOString(),
    inputs: [{ name: 'x', datatype: 'FP32', shape: [rows.length, 2], data: rows.flatMap(() => [gauss(), gauss()]) }],
    outputs: [{ name: output, datatype: 'FP32', shape: [rows.length, 1], data: rows }],
  });

  /** One log object per hour partition, as a serving pod would write them. */
  async function writeLog(records: LogLine[]) {
    const byHour = new Map<string, LogLine[]>();
    for (const r of records.sort((a, b) => a.time.localeCompare(b.time))) {
      const hour = r.time.slice(0, 13);
      byHour.set(hour, [...(byHour.get(hour) ?? []), r]);
    }
    let seq = 0;
    for (const batch of byHour.values()) {
      const uri = objectUri({ prefix: `s3://${bucket}/log`, model: 'churn', version: 'v1', pod: 'churn-7d9f8-abcde', worker: 0, seq: ++seq, firstTime: Date.parse(batch[0]!.time) });
      await writeObject(uri, gzipSync(batch.map((r) => JSON.stringify(r)).join('\n') + '\n'), { s3 });
    }
    // A damaged object in the window: skipped and counted, never fatal.
    const when = Date.now() - 60 * MINUTE;
    await writeObject(objectUri({ prefix: `s3://${bucket}/log`, model: 'churn', version: 'v1', pod: 'churn-7d9f8-zzzzz', worker: 0, seq: 1, firstTime: when }), Buffer.from('not gzip at all'), { s3 });
  }

  async function secret(name: string) {
    await client.create(SecretResource, {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name, namespace: ns },
      stringData: { AWS_ENDPOINT_URL: s3.endpoint!, AWS_ACCESS_KEY_ID: s3.accessKeyId!, AWS_SECRET_ACCESS_KEY: s3.secretAccessKey!, AWS_REGION: 'us-east-1' },
    } as KubeObject);
  }

  const monitorSpec = (modelName: string, performance: Record<string, unknown>) => ({
    modelRef: { name: modelName },
    schedule: '0 0 1 1 *',
    reference: { uri: `file://${dir}/reference.csv` },
    // The Models have no serving pods: the drift part never has enough samples, so the performance verdict is the check's.
    current: { source: 'Serving', minSamples: 500 },
    performance: {
      labels: { uri: `s3://${bucket}/labels/`, credentialsSecretRef: { name: 'labels-s3' }, labelColumn: 'churned' },
      prediction: { output: 'probability' },
      task: 'BinaryClassification',
      window: '2h',
      labelDelay: '10m',
      ...performance,
    },
    retrain: {
      enabled: true,
      consecutiveChecks: 2,
      cooldown: '1h',
      template: { trainer: { builtin: { algorithm: 'logistic', target: 'churned' } }, dataset: { uri: `s3://${bucket}/train.csv` }, output: { uri: `s3://${bucket}/models/` } },
    },
  });

  async function createMonitor(name: string, modelName: string, performance: Record<string, unknown>) {
    await client.create(DriftMonitorType, { apiVersion: 'fluxora.io/v1alpha1', kind: 'DriftMonitor', metadata: { name, namespace: ns }, spec: monitorSpec(modelName, performance) } as unknown as DriftMonitor);
    await waitFor('CronJob', () => client.getOrUndefined(CronJobResource, ns, `${name}-drift-check`));
  }

  /** The check as its CronJob's pod runs it: args, environment from the pod spec (Secrets resolved with their prefixes), ServiceAccount token. */
  async function runCheck(monitor: string) {
    const cmd = await localCommand(client, ns, `cronjob/${monitor}-drift-check`, dir);
    // Nothing of the test process's S3 settings: only what the pod gets.
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('AWS_')));
    try {
      const r = await run(process.execPath, ['--import', 'tsx', join(root, 'src/cli/main.ts'), ...cmd.args], { cwd: root, env: { ...env, ...cmd.env } });
      return { code: 0, out: r.stdout + r.stderr, env: cmd.env };
    } catch (e) {
      const err = e as { code: number; stdout: string; stderr: string };
      return { code: err.code, out: err.stdout + err.stderr, env: cmd.env };
    }
  }

  const getMonitor = (name: string) => client.get<DriftMonitor>(DriftMonitorType, ns, name);
  const retrainsOf = async (monitor: string) =>
    (await client.request<{ items: RetrainJob[] }>('GET', resourcePath(RetrainJobType, ns))).items.filter((r) => r.metadata.labels?.['fluxora.io/drift-monitor'] === monitor);

  /** scikit-learn's metrics of the judged rows. */
  async function expectedMetrics(rows: readonly Row[]): Promise<Record<string, number>> {
    const file = join(dir, 'judged.json');
    await writeFile(file, JSON.stringify({ y: rows.map((r) => r.y), p: rows.map((r) => r.p) }));
    const script = [
      'import json, sys, numpy as np',
      'from sklearn.metrics import accuracy_score, roc_auc_score, f1_score, log_loss',
      'd = json.load(open(sys.argv[1])); y = np.array(d["y"]); p = np.array(d["p"]); yhat = (p >= 0.5).astype(int)',
      'print(json.dumps({"accuracy": accuracy_score(y, yhat), "auc": roc_auc_score(y, p), "f1": f1_score(y, yhat), "logLoss": log_loss(y, p, labels=[0, 1])}))',
    ].join('\n');
    const { stdout } = await run(python, ['-c', script, file]);
    return JSON.parse(stdout) as Record<string, number>;
  }

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'fluxora-perf-'));
    python = await ensurePythonVenv({ name: 'performance', purpose: 'the expected metrics of the performance check', requirements: [join(root, 'hack', 'requirements-performance.txt')] });
    s3 = s3Options(await startMinio());
    await createBucket(bucket);
    await writeFile(join(dir, 'reference.csv'), 'x1,x2\n' + Array.from({ length: 600 }, () => `${gauss().toFixed(4)},${gauss().toFixed(4)}`).join('\n') + '\n');
    await secret('log-s3');
    await secret('labels-s3');

    // The Model logs to MinIO with its own Secret; its artifact needs none.
    await client.create(ModelType, {
      apiVersion: 'fluxora.io/v1alpha1',
      kind: 'Model',
      metadata: { name: 'churn', namespace: ns },
      spec: {
        artifact: { uri: 'file:///m/churn.onnx' },
        features: [{ name: 'x1', type: 'numeric' }, { name: 'x2', type: 'numeric' }],
        // No serving pods (the log is written here by the test): the drift part never has samples.
        serving: { replicas: 0, predictionLog: { uri: `s3://${bucket}/log`, credentialsSecretRef: { name: 'log-s3' } } },
      },
    } as unknown as Model);
    // v1 as a retrain would have recorded it: with its trainer's holdout metrics (the baseline).
    // The operator writes this status too: retry on a conflict until the metrics are there.
    await waitFor('v1 recorded with metrics', async () => {
      const m = await client.get<Model>(ModelType, ns, 'churn');
      if (m.status?.servingVersion !== 'v1') return undefined;
      if (m.status.versions?.[0]?.metrics?.auc === 0.9) return m;
      await client
        .request('PATCH', resourcePath(ModelType, ns, 'churn', 'status'), {
          body: { metadata: { resourceVersion: m.metadata.resourceVersion }, status: { versions: m.status.versions!.map((v) => ({ ...v, metrics: { auc: 0.9, logloss: 0.35 } })) } },
          contentType: 'application/merge-patch+json',
        })
        .catch((e: { status?: number }) => {
          if (e.status !== 409) throw e;
        });
      return undefined;
    });

    // The log: judged window [now - 10m - 2h, now - 10m); rows placed well inside it, so three checks a few seconds apart see the same.
    const now = Date.now();
    const inWindow = (i: number, n: number) => now - 125 * MINUTE + Math.round(((i + 0.5) / n) * 100 * MINUTE);
    const records: LogLine[] = [];
    const labelsCsv: string[] = ['id,churned'];
    const labelsJsonl: string[] = [];
    const singles: Row[] = [];
    for (let i = 0; i < 1200; i++) {
      const { y, p } = draw();
      const id = `req-${String(i).padStart(4, '0')}`;
      records.push(record(id, inWindow(i, 1200), [p]));
      singles.push({ id, p, ...(i < 1100 ? { y } : {}) });
      if (i < 1100) labelsCsv.push(`${id},${y}`);
    }
    // req-0007 answered again later under the same id: only that later prediction is judged.
    const again = draw();
    records.push(record('req-0007', now - 30 * MINUTE, [again.p]));
    singles[7]!.p = again.p;
    // Corrections in a later file: five labels flipped (conflicting), one repeated unchanged.
    for (let i = 0; i < 5; i++) {
      singles[i]!.y = singles[i]!.y === 1 ? 0 : 1;
      labelsJsonl.push(JSON.stringify({ id: singles[i]!.id, churned: singles[i]!.y === 1 }));
    }
    // (written as in the CSV: 1 and true are the same class, but not the same value, and would count as a conflict)
    labelsJsonl.push(JSON.stringify({ id: 'req-0010', churned: singles[10]!.y }));
    // A label that is no class (left out, counted) and one without a value.
    labelsJsonl.push(JSON.stringify({ id: 'req-1100', churned: 'maybe' }), JSON.stringify({ id: 'req-1101', churned: null }));
    // Requests of three rows, labelled per row as <id>/<row>.
    const multi: Row[] = [];
    for (let i = 0; i < 50; i++) {
      const rows = [draw(), draw(), draw()];
      records.push(record(`batch-${i}`, inWindow(i, 50) + 1234, rows.map((r) => r.p)));
      rows.forEach((r, k) => {
        multi.push({ id: `batch-${i}/${k}`, p: r.p, y: r.y });
        labelsJsonl.push(JSON.stringify({ id: `batch-${i}/${k}`, churned: r.y === 1 }));
      });
    }
    // A request without the output the monitor reads (another version's signature): skipped, counted.
    records.push(record('req-other', now - 90 * MINUTE, [0.5], 'score'));
    // Predictions outside the window, labelled: their labels match nothing judged.
    for (let i = 0; i < 20; i++) {
      records.push(record(`old-${i}`, now - 180 * MINUTE + i * 1000, [0.5]));
      records.push(record(`fresh-${i}`, now - 4 * MINUTE + i * 1000, [0.5]));
      labelsCsv.push(`old-${i},1`, `fresh-${i},0`, `ghost-${i},1`);
    }
    await writeLog(records);
    judged.push(...singles.filter((r) => r.y !== undefined), ...multi);

    // Labels arrive: a CSV, a JSON Lines file written after it (its corrections win), and a broken CSV.
    await writeObject(`s3://${bucket}/labels/2026-03-14.csv`, labelsCsv.join('\n') + '\n', { s3 });
    await new Promise((r) => setTimeout(r, 1100)); // last-modified has second resolution
    await writeObject(`s3://${bucket}/labels/2026-03-15.jsonl`, labelsJsonl.join('\n') + '\n', { s3 });
    await writeObject(`s3://${bucket}/labels/2026-03-15-broken.csv`, 'id,churned\nreq-1102,"1\nreq-1103,0\n', { s3 });
    await writeObject(`s3://${bucket}/labels/_SUCCESS`, '', { s3 });
  }, 900_000);

  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  let first: PerformanceStatus;

  it('gives the check pod the labels\' and the log\'s Secrets under their prefixes, and nothing else', async () => {
    await createMonitor('churn-perf', 'churn', { trigger: { metric: 'auc', maxDropFromServing: 0.1 } });
    const cmd = await localCommand(client, ns, 'cronjob/churn-perf-drift-check', dir);
    expect(Object.keys(cmd.env).filter((k) => k.includes('AWS_')).sort()).toEqual(
      ['ACCESS_KEY_ID', 'ENDPOINT_URL', 'REGION', 'SECRET_ACCESS_KEY'].flatMap((k) => [`FLUXORA_LABELS_AWS_${k}`, `FLUXORA_PREDICTION_LOG_AWS_${k}`]).sort(),
    );
  });

  it('computes the metrics of the labelled predictions, with the coverage and every bad input counted', async () => {
    const r = await runCheck('churn-perf');
    expect(r.code, r.out).toBe(0);
    const m = await getMonitor('churn-perf');
    const p = m.status!.performance!;
    first = p;
    expect(p).toMatchObject({
      predictions: 1200 + 1 + 150, // single-row requests, the repeated id, three rows of 50 requests
      labelled: judged.length, // 1100 + 150; req-1100's "maybe" is left out
      duplicateIds: 1,
      unmatchedLabels: 60, // before the window, within labelDelay, unknown ids
      conflictingLabels: 5,
      excludedRows: 1,
      labelFiles: 2,
      skippedLabelFiles: 1,
      incompleteLabels: 1,
      skippedRecords: 2, // the damaged object, the request without the output
      baseline: { version: 'v1', metric: 'auc', value: 0.9 },
      degraded: true,
    });
    expect(judged.length).toBe(1250);
    // Joined rows (the 1250 judged and req-1100) over distinct prediction ids.
    expect(p.coverage).toBeCloseTo(1251 / 1350, 12);
    const expected = await expectedMetrics(judged);
    for (const [metric, value] of Object.entries(expected)) {
      const actual = p.metrics[metric as keyof typeof p.metrics];
      expect(Math.abs(actual! - value), `${metric}: ${actual} vs scikit-learn's ${value}`).toBeLessThan(1e-9);
    }
    expect(p.metrics.auc!).toBeLessThan(0.8); // the weak model: more than 0.1 under the holdout 0.9

    const c = getCondition(m.status?.conditions, 'PerformanceDegraded')!;
    expect(c).toMatchObject({ status: 'True', reason: 'DroppedFromServing' });
    expect(c.message).toContain(`auc ${Number(p.metrics.auc!.toPrecision(4))} is `);
    expect(c.message).toContain("worse than the serving version v1's holdout 0.9 (maxDropFromServing 0.1) on 1250 labelled of 1351 predictions");
    for (const named of ['2026-03-15-broken.csv', '60 labels matched no prediction', '1 prediction repeated an id', '5 label rows gave an id another value', 'e.g. "maybe"', 'not a gzip object', 'without output "probability"']) {
      expect(c.message).toContain(named);
    }
    // Too few samples for drift; the performance verdict is the check's verdict.
    expect(getCondition(m.status?.conditions, 'DriftDetected')).toMatchObject({ status: 'Unknown', reason: 'InsufficientSamples' });
    expect(m.status?.lastCheckTime).toBe(p.checkTime);
    expect(m.status).not.toHaveProperty('driftDetected');
    expect(m.status?.consecutiveDriftChecks).toBe(1);

    const events = await client.request<{ items: { reason: string; type: string; message: string }[] }>('GET', `/api/v1/namespaces/${ns}/events`, {
      query: { fieldSelector: 'involvedObject.name=churn-perf' },
    });
    expect(events.items.find((e) => e.reason === 'PerformanceDegraded')).toMatchObject({ type: 'Warning', message: c.message.slice(0, 1024) });
  });

  it('starts exactly one RetrainJob once the streak is reached, whatever further checks find', async () => {
    await new Promise((r) => setTimeout(r, 1500));
    expect(await retrainsOf('churn-perf')).toEqual([]); // 1 of 2 consecutive checks

    await new Promise((r) => setTimeout(r, 1000)); // a new verdict needs a new (second-resolution) time
    expect((await runCheck('churn-perf')).code).toBe(0);
    const m = await getMonitor('churn-perf');
    expect(m.status).toMatchObject({ consecutiveDriftChecks: 2, performance: { degraded: true, labelled: first.labelled } });
    const [rj] = await waitFor('one RetrainJob', async () => {
      const list = await retrainsOf('churn-perf');
      return list.length ? list : undefined;
    });
    expect(rj!.metadata.name).toMatch(/^churn-perf-retrain-[0-9a-f]{8}$/);
    expect(rj!.metadata.annotations).toMatchObject({ 'fluxora.io/retrain-cause': 'performance', 'fluxora.io/drift-check-time': m.status!.lastCheckTime });

    await new Promise((r) => setTimeout(r, 1100));
    expect((await runCheck('churn-perf')).code).toBe(0);
    expect((await getMonitor('churn-perf')).status?.consecutiveDriftChecks).toBe(3);
    await new Promise((r) => setTimeout(r, 2000));
    expect((await retrainsOf('churn-perf')).map((x) => x.metadata.name)).toEqual([rj!.metadata.name]); // cooldown: still one
    expect((await getMonitor('churn-perf')).status?.lastRetrainJob).toBe(rj!.metadata.name);
  });

  it('gives no verdict with too few labelled rows, saying how many and the coverage', async () => {
    await createMonitor('few-labels', 'churn', { minLabelledRows: 5000, trigger: { metric: 'auc', min: 0.99 } });
    expect((await runCheck('few-labels')).code).toBe(0);
    const m = await getMonitor('few-labels');
    const c = getCondition(m.status?.conditions, 'PerformanceDegraded')!;
    expect(c).toMatchObject({ status: 'Unknown', reason: 'InsufficientLabels' });
    expect(c.message).toMatch(/^only 1250 labelled predictions, 5000 needed \(performance.minLabelledRows\); 1250 labelled of 1351 predictions \(coverage 92\.\d+%\)/);
    expect(m.status?.performance).toMatchObject({ labelled: 1250, degraded: false });
    expect(m.status?.lastCheckTime).toBeUndefined();
    await new Promise((r) => setTimeout(r, 1500));
    expect(await retrainsOf('few-labels')).toEqual([]);
  });

  it('says so when the Model keeps no prediction log', async () => {
    await client.create(ModelType, {
      apiVersion: 'fluxora.io/v1alpha1',
      kind: 'Model',
      metadata: { name: 'nolog', namespace: ns },
      spec: { artifact: { uri: 'file:///m/nolog.onnx' }, features: [{ name: 'x1', type: 'numeric' }, { name: 'x2', type: 'numeric' }], serving: { replicas: 0 } },
    } as unknown as Model);
    await createMonitor('nolog-perf', 'nolog', { trigger: { metric: 'auc', min: 0.7 } });
    const r = await runCheck('nolog-perf');
    expect(r.code, r.out).toBe(0);
    const m = await getMonitor('nolog-perf');
    expect(getCondition(m.status?.conditions, 'PerformanceDegraded')).toMatchObject({ status: 'Unknown', reason: 'PredictionLogNotConfigured' });
    expect(m.status?.performance).toBeUndefined();
    expect(m.status?.lastCheckTime).toBeUndefined();
  });
});
