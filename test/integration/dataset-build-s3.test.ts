// Training on logged traffic against a real S3 store (MinIO), with the real
// processes a RetrainJob's pod runs: `fluxora serve` logs the requests it
// answers, labels arrive as files, `fluxora dataset-build` (the init
// container) joins a window of the log with them into dataset.csv and
// dataset.json, and `fluxora train` (the built-in trainer) trains on that
// file. Each store is read with the credentials the operator gives it: the
// log's and the labels' under their own prefixes, the output's as AWS_*.
// Needs no control plane, only hack/minio.sh.
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readObject, sha256Hex, writeObject } from '../../src/storage/index.js';
import { EXIT_BAD_INPUT, EXIT_DATASET_TOO_SMALL } from '../../src/training/exit-codes.js';
import { FEATURES, fixtureUri, http, inferBody, REPO_ROOT, spawnServe, type ServeProcess } from '../fixtures/models/serve-harness.js';
import { createBucket, MINIO_START_TIMEOUT_MS, s3Options, startMinio, type MinioEndpoint } from '../support/minio.js';

const run = promisify(execFile);
const [LOG_BUCKET, LABELS_BUCKET, RUNS_BUCKET] = ['fluxora-tw-log', 'fluxora-tw-labels', 'fluxora-tw-runs'];
const tag = Date.now().toString(36);
const LOG = `s3://${LOG_BUCKET}/${tag}/`;
const LABELS = `s3://${LABELS_BUCKET}/${tag}/`;
const RUNS = `s3://${RUNS_BUCKET}/${tag}/`;

/** The ground truth the labels carry: not what the served model predicts, so a retrain has something to learn. */
const truth = (r: readonly number[]) => 3 * r[0]! - 2 * r[1]! + 0.5 * r[2]! + 1;
const rowOf = (i: number) => [i % 17, (i * 7) % 11, (i * 3) % 5];

let minio: MinioEndpoint;
let serve: ServeProcess | undefined;
let from: Date;
let to: Date;
/** Request id -> its rows, as answered. */
const answered = new Map<string, number[][]>();

async function fluxora(command: string, env: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }> {
  const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('AWS_') && !k.startsWith('FLUXORA_')));
  try {
    const { stdout, stderr } = await run(process.execPath, ['--import', 'tsx', join(REPO_ROOT, 'src/cli/main.ts'), command], { cwd: REPO_ROOT, env: { ...base, ...env } });
    return { code: 0, stdout, stderr };
  } catch (e) {
    const err = e as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof err.code === 'number' ? err.code : -1, stdout: err.stdout ?? '', stderr: err.stderr ?? '' };
  }
}

/** The init container's environment, as buildTrainerJob() sets it, with the Secrets' keys under their prefixes. */
const stepEnv = (output: string, o: Record<string, string> = {}): Record<string, string> => ({
  FLUXORA_PREDICTION_LOG_URI: LOG,
  FLUXORA_MODEL_NAME: 'churn',
  FLUXORA_FEATURES: JSON.stringify(FEATURES),
  FLUXORA_DATASET_WINDOW_FROM: from.toISOString(),
  FLUXORA_DATASET_WINDOW_TO: to.toISOString(),
  FLUXORA_LABELS_URI: LABELS,
  FLUXORA_LABELS_ID_COLUMN: 'request_id',
  FLUXORA_LABELS_LABEL_COLUMN: 'actual',
  FLUXORA_DATASET_TARGET: 'y',
  FLUXORA_DATASET_MIN_ROWS: '100',
  FLUXORA_OUTPUT_URI: output,
  // The output's Secret (envFrom, no prefix), the Model's log Secret and the labels' Secret (envFrom with a prefix).
  AWS_ENDPOINT_URL: minio.endpoint,
  AWS_ACCESS_KEY_ID: minio.accessKeyId,
  AWS_SECRET_ACCESS_KEY: minio.secretAccessKey,
  FLUXORA_PREDICTION_LOG_AWS_ACCESS_KEY_ID: minio.accessKeyId,
  FLUXORA_PREDICTION_LOG_AWS_SECRET_ACCESS_KEY: minio.secretAccessKey,
  FLUXORA_LABELS_AWS_ACCESS_KEY_ID: minio.accessKeyId,
  FLUXORA_LABELS_AWS_SECRET_ACCESS_KEY: minio.secretAccessKey,
  FLUXORA_TERMINATION_LOG: '/nonexistent/termination-log',
  ...o,
});

beforeAll(async () => {
  minio = await startMinio();
  for (const b of [LOG_BUCKET, LABELS_BUCKET, RUNS_BUCKET]) await createBucket(minio, b);
  from = new Date(Math.floor(Date.now() / 1000) * 1000 - 60_000);
  // A real server logs 240 requests (every fifth of two rows), each under the client's id, and flushes at SIGTERM.
  serve = await spawnServe(
    ['--model-name', 'churn', '--model-uri', fixtureUri('linear.onnx'), '--model-version', 'v1', '--host', '127.0.0.1', '--port', '0', '--admin-port', '0'],
    {
      FLUXORA_PREDICTION_LOG_URI: LOG,
      FLUXORA_PREDICTION_LOG_FLUSH_INTERVAL_SECONDS: '1',
      FLUXORA_PREDICTION_LOG_MAX_BATCH_RECORDS: '50',
      FLUXORA_POD_NAME: 'churn-7c9f-x2k4q',
      FLUXORA_PREDICTION_LOG_AWS_ACCESS_KEY_ID: minio.accessKeyId,
      FLUXORA_PREDICTION_LOG_AWS_SECRET_ACCESS_KEY: minio.secretAccessKey,
      FLUXORA_PREDICTION_LOG_AWS_ENDPOINT_URL: minio.endpoint,
    },
  );
  for (let i = 0; i < 240; i++) {
    const rows = i % 5 === 0 ? [rowOf(i), rowOf(i + 1000)] : [rowOf(i)];
    const r = await http(serve.port, { path: '/v2/models/churn/infer', body: inferBody(rows, { id: `req-${i}` }) });
    expect(r.status).toBe(200);
    answered.set(`req-${i}`, rows);
  }
  serve.child.kill('SIGTERM');
  expect(await serve.exited).toBe(0);
  to = new Date(Date.now() + 1000);

  // Labels arrive in two files (CSV, then gzipped JSON Lines), for most requests, per row for the two-row ones;
  // with them a label for an id never logged and a file that is not CSV at all.
  const label = (id: string, row: number[]) => ({ request_id: id, actual: truth(row) });
  const labels: { request_id: string; actual: number }[] = [];
  for (const [id, rows] of answered) {
    if (Number(id.slice(4)) % 8 === 7) continue; // not labelled (yet)
    if (rows.length === 1) labels.push(label(id, rows[0]!));
    else rows.forEach((row, r) => labels.push(label(`${id}/${r}`, row)));
  }
  labels.push({ request_id: 'never-logged', actual: 1 });
  const s3 = { s3: s3Options(minio) };
  const half = Math.floor(labels.length / 2);
  await writeObject(`${LABELS}2026-03-14.csv`, `request_id,actual\n${labels.slice(0, half).map((l) => `${l.request_id},${l.actual}`).join('\n')}\n`, s3);
  await writeObject(`${LABELS}2026-03-15.jsonl.gz`, gzipSync(labels.slice(half).map((l) => JSON.stringify(l)).join('\n') + '\n'), s3);
  await writeObject(`${LABELS}notes.csv`, 'request_id,actual\n"half a line\n', s3);
}, MINIO_START_TIMEOUT_MS);

afterAll(() => {
  if (serve && serve.child.exitCode === null) serve.child.kill('SIGKILL');
});

describe('fluxora dataset-build on MinIO, then fluxora train on what it wrote', () => {
  it('joins the logged window with its labels, and the built-in trainer learns the labels from dataset.csv', { timeout: 120_000 }, async () => {
    const output = `${RUNS}rj-1/`;
    const built = await fluxora('dataset-build', stepEnv(output));
    expect(built.code, built.stderr).toBe(0);
    const s3 = { s3: s3Options(minio) };
    const csv = await readObject(`${output}dataset.csv`, s3);
    const manifest = JSON.parse((await readObject(`${output}dataset.json`, s3)).toString('utf8')) as Record<string, unknown> & { skipped: Record<string, { count: number }> };
    // 240 requests, 48 of two rows: 288 rows; ids ending in 7 mod 8 (30 requests, 6 of them of two rows) have no label.
    expect(manifest).toMatchObject({
      uri: `${output}dataset.csv`,
      sha256: sha256Hex(csv),
      predictions: 288,
      rows: 252,
      labelled: 252,
      requests: 240,
      duplicateIds: 0,
      unmatchedLabels: 1,
      window: { from: from.toISOString(), to: to.toISOString() },
      logUri: LOG,
      labelsUri: LABELS,
      columns: ['tenure', 'spend', 'visits', 'y'],
      labels: { files: 2, conflicting: 0 },
    });
    // Per row id: the 288 rows, 252 of them labelled.
    expect(manifest.coverage).toBeCloseTo(252 / 288, 10);
    expect(manifest.skipped.labels!.count).toBe(1);
    expect(manifest.skipped.log!.count).toBe(0);
    const lines = csv.toString('utf8').trim().split('\n');
    expect(lines[0]).toBe('tenure,spend,visits,y');
    expect(lines).toHaveLength(253);

    // Another run of the same window (another pod, another prefix) writes the same bytes.
    const again = await fluxora('dataset-build', stepEnv(`${RUNS}rj-1-again/`));
    expect(again.code, again.stderr).toBe(0);
    expect(sha256Hex(await readObject(`${RUNS}rj-1-again/dataset.csv`, s3))).toBe(manifest.sha256);

    // The trainer container of the same Job: it sees an ordinary file.
    const trained = await fluxora('train', {
      FLUXORA_DATASET_URI: `${output}dataset.csv`,
      FLUXORA_OUTPUT_URI: output,
      FLUXORA_SERVING_URI: fixtureUri('linear.onnx'),
      FLUXORA_TRAINER_CONFIG: JSON.stringify({ algorithm: 'linear', target: 'y', seed: 3 }),
      FLUXORA_FEATURES: JSON.stringify(FEATURES),
      FLUXORA_MODEL_NAME: 'churn',
      AWS_ENDPOINT_URL: minio.endpoint,
      AWS_ACCESS_KEY_ID: minio.accessKeyId,
      AWS_SECRET_ACCESS_KEY: minio.secretAccessKey,
    });
    expect(trained.code, trained.stderr).toBe(0);
    const metrics = JSON.parse((await readObject(`${output}metrics.json`, s3)).toString('utf8')) as { r2: number; rmse: number; serving: { r2: number }; dataset: { sha256: string; rows: number } };
    // The labels are an exact linear function of the features: the retrained model fits them, the served one does not.
    expect(metrics.r2).toBeGreaterThan(0.999);
    expect(metrics.serving.r2).toBeLessThan(0.5);
    // Lineage: the file the trainer read is the one dataset.json records.
    expect(metrics.dataset).toMatchObject({ sha256: manifest.sha256, rows: 252 });
    expect((await readObject(`${output}model.onnx`, s3)).length).toBeGreaterThan(0);
  });

  it('refused labels credentials: exit 3, naming the store; the log and output credentials are not used for them', { timeout: 60_000 }, async () => {
    const r = await fluxora('dataset-build', stepEnv(`${RUNS}denied/`, { FLUXORA_LABELS_AWS_SECRET_ACCESS_KEY: 'wrong-secret' }));
    expect(r.code, r.stderr).toBe(EXIT_BAD_INPUT);
    expect(r.stderr).toContain(LABELS);
  });

  it('refused log credentials: exit 3; too few labelled rows: exit 4 with the counts', { timeout: 60_000 }, async () => {
    const denied = await fluxora('dataset-build', stepEnv(`${RUNS}denied-log/`, { FLUXORA_PREDICTION_LOG_AWS_ACCESS_KEY_ID: 'nobody' }));
    expect(denied.code, denied.stderr).toBe(EXIT_BAD_INPUT);
    expect(denied.stderr).toContain(LOG_BUCKET);
    const small = await fluxora('dataset-build', stepEnv(`${RUNS}small/`, { FLUXORA_DATASET_MIN_ROWS: '1000' }));
    expect(small.code, small.stderr).toBe(EXIT_DATASET_TOO_SMALL);
    expect(small.stderr).toContain('252 labelled rows in the window');
    expect(small.stderr).toContain('fewer than minRows 1000: 288 prediction rows logged (240 requests');
  });
});
