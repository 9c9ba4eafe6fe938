// `fluxora dataset-build` as a RetrainJob's init container runs it: settings
// from the environment only, the exit code the Job's podFailurePolicy and the
// RetrainJob controller read (src/training/exit-codes.ts), and the one line
// written to the termination message. The real CLI in a child process, on
// file:// stores (MinIO: test/integration/dataset-build-s3.test.ts).
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile, mkdir } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXIT_BAD_INPUT, EXIT_DATASET_TOO_SMALL, EXIT_RETRYABLE, EXIT_USAGE } from '../../src/training/exit-codes.js';
import { closedPort } from '../corpus/artifacts/harness.js';
import { documentedExitStatuses } from '../support/cli-help.js';
import { logRecord, writeLogObject } from '../fixtures/models/prediction-log-records.js';

const run = promisify(execFile);
const root = join(import.meta.dirname, '..', '..');
const T0 = Date.UTC(2026, 2, 14, 12, 0, 0);

let dir: string;
let termination: string;

async function datasetBuild(env: Record<string, string>, args: string[] = []): Promise<{ code: number; stdout: string; stderr: string; termination: string }> {
  await writeFile(termination, '');
  // Only what the operator sets: nothing from this process's AWS_* leaks in.
  const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('AWS_') && !k.startsWith('FLUXORA_')));
  const opts = { cwd: root, env: { ...base, FLUXORA_TERMINATION_LOG: termination, ...env } };
  let r: { code: number; stdout: string; stderr: string };
  try {
    const { stdout, stderr } = await run(process.execPath, ['--import', 'tsx', join(root, 'src/cli/main.ts'), 'dataset-build', ...args], opts);
    r = { code: 0, stdout, stderr };
  } catch (e) {
    const err = e as { code?: number; stdout?: string; stderr?: string };
    r = { code: typeof err.code === 'number' ? err.code : -1, stdout: err.stdout ?? '', stderr: err.stderr ?? '' };
  }
  return { ...r, termination: await readFile(termination, 'utf8') };
}

/** The environment buildTrainerJob() gives the init container. */
const operatorEnv = (o: Record<string, string> = {}): Record<string, string> => ({
  FLUXORA_PREDICTION_LOG_URI: `file://${dir}/log`,
  FLUXORA_MODEL_NAME: 'churn',
  FLUXORA_FEATURES: JSON.stringify([{ name: 'tenure', type: 'numeric' }, { name: 'spend', type: 'numeric' }]),
  FLUXORA_DATASET_WINDOW_FROM: new Date(T0 - 3_600_000).toISOString(),
  FLUXORA_DATASET_WINDOW_TO: new Date(T0).toISOString(),
  FLUXORA_LABELS_URI: `file://${dir}/labels/`,
  FLUXORA_LABELS_ID_COLUMN: 'id',
  FLUXORA_LABELS_LABEL_COLUMN: 'label',
  FLUXORA_DATASET_TARGET: 'churned',
  FLUXORA_DATASET_MIN_ROWS: '2',
  FLUXORA_OUTPUT_URI: `file://${dir}/runs/rj-1/`,
  ...o,
});

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fluxora-dataset-build-'));
  termination = join(dir, 'termination-log');
  await writeLogObject(`file://${dir}/log`, [logRecord('a', T0 - 30 * 60_000, [[1, 10]]), logRecord('b', T0 - 20 * 60_000, [[2, 20]]), logRecord('c', T0 - 10 * 60_000, [[3, 30]])]);
  await mkdir(join(dir, 'labels'));
  await writeFile(join(dir, 'labels', 'l.csv'), 'id,label\na,0\nb,1\nc,1\n');
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe('fluxora dataset-build', { timeout: 60_000 }, () => {
  it('--help documents every exit code the step returns', async () => {
    const { stdout } = await run(process.execPath, ['--import', 'tsx', join(root, 'src/cli/main.ts'), 'dataset-build', '--help'], { cwd: root });
    const codes = documentedExitStatuses(stdout);
    expect(codes.get(0)).toMatch(/built/);
    expect(codes.get(EXIT_RETRYABLE)).toMatch(/retry may help.*unreachable/);
    expect(codes.get(EXIT_USAGE)).toMatch(/flags/);
    expect(codes.get(EXIT_BAD_INPUT)).toMatch(/cannot be read/);
    expect(codes.get(EXIT_DATASET_TOO_SMALL)).toMatch(/fewer labelled rows/);
  });

  it('builds dataset.csv and dataset.json from the environment the operator sets, and exits 0', async () => {
    const r = await datasetBuild(operatorEnv());
    expect(r.code, r.stderr).toBe(0);
    expect(await readFile(join(dir, 'runs', 'rj-1', 'dataset.csv'), 'utf8')).toBe('tenure,spend,churned\n1,10,0\n2,20,1\n3,30,1\n');
    const done = r.stdout.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>).at(-1);
    expect(done).toMatchObject({ msg: 'data set written', rows: 3, coverage: 1, reused: false });
    expect(r.termination).toBe('');
    // A retried pod keeps what the first one built.
    const again = await datasetBuild(operatorEnv());
    expect(again.code).toBe(0);
    expect(again.stdout).toContain('already built; kept');
  });

  it('too few labelled rows: exit 4 and the counts in the termination message', async () => {
    const r = await datasetBuild(operatorEnv({ FLUXORA_DATASET_MIN_ROWS: '4', FLUXORA_OUTPUT_URI: `file://${dir}/runs/small/` }));
    expect(r.code, r.stderr).toBe(EXIT_DATASET_TOO_SMALL);
    expect(r.termination).toMatch(/^3 labelled rows in the window 2026-03-14T11:00:00.000Z to 2026-03-14T12:00:00.000Z, fewer than minRows 4: 3 prediction rows logged/);
    expect(r.stderr).toBe(`fluxora dataset-build: ${r.termination}\n`);
    expect(existsSync(join(dir, 'runs', 'small'))).toBe(false);
  });

  it('labels it may not list: exit 3 (a retry reads the same)', async () => {
    const r = await datasetBuild(operatorEnv({ FLUXORA_LABELS_URI: 'https://example.com/labels/', FLUXORA_OUTPUT_URI: `file://${dir}/runs/http/` }));
    expect(r.code, r.stderr).toBe(EXIT_BAD_INPUT);
    expect(r.termination).toContain('cannot be listed');
  });

  it('a log store that does not answer: exit 1 (retried), with the store in the message', async () => {
    const port = await closedPort();
    const r = await datasetBuild(
      operatorEnv({
        FLUXORA_PREDICTION_LOG_URI: 's3://logs/predictions',
        FLUXORA_PREDICTION_LOG_AWS_ENDPOINT_URL: `http://127.0.0.1:${port}`,
        FLUXORA_PREDICTION_LOG_AWS_ACCESS_KEY_ID: 'k',
        FLUXORA_PREDICTION_LOG_AWS_SECRET_ACCESS_KEY: 's',
        FLUXORA_OUTPUT_URI: `file://${dir}/runs/down/`,
      }),
    );
    expect(r.code, r.stderr).toBe(EXIT_RETRYABLE);
    expect(r.termination).toContain('s3://logs/predictions');
  });

  it.each([
    ['no window end', { FLUXORA_DATASET_WINDOW_TO: '' }, '--to (or FLUXORA_DATASET_WINDOW_TO) is required'],
    ['a time without a zone', { FLUXORA_DATASET_WINDOW_FROM: '2026-03-14T11:00:00' }, '--from must be an RFC 3339 time'],
    ['an end before the start', { FLUXORA_DATASET_WINDOW_FROM: '2026-03-14T13:00:00Z' }, '--from (2026-03-14T13:00:00.000Z) must be before --to'],
    ['a target that is a feature', { FLUXORA_DATASET_TARGET: 'spend' }, 'the label column of dataset.csv, "spend", is also a feature'],
    ['no rows wanted', { FLUXORA_DATASET_MIN_ROWS: '0' }, '--min-rows must be an integer of at least 1'],
  ])('%s: exit 2 with one line', async (_what, env, message) => {
    const r = await datasetBuild(operatorEnv(env));
    expect(r.code).toBe(EXIT_USAGE);
    expect(r.stderr.split('\n')[0]).toContain(message);
    expect(r.termination).toContain(message);
  });
});
