// The training data set built from the prediction log (src/training/logged-dataset.ts):
// log objects as `fluxora serve` writes them and label files, on file://.
// What the trainer reads (dataset.csv) and what the operator records
// (dataset.json), byte for byte the same for the same window.
import { mkdtemp, readFile, rm, utimes, writeFile, mkdir } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sha256Hex, StorageError } from '../../src/storage/index.js';
import { parseTable } from '../../src/table/index.js';
import { TrainingError } from '../../src/training/errors.js';
import { buildLoggedDataset, DatasetTooSmallError, type LoggedDatasetSpec } from '../../src/training/logged-dataset.js';
import { logRecord, writeLogObject, type LogRecord } from '../fixtures/models/prediction-log-records.js';

const T0 = Date.UTC(2026, 2, 14, 12, 0, 0);
const MIN = 60_000;
const HOUR = 60 * MIN;
const FEATURES = [
  { name: 'tenure', type: 'numeric' as const },
  { name: 'spend', type: 'numeric' as const },
];

let dir: string;
const log = () => `file://${dir}/log`;
const labels = () => `file://${dir}/labels/`;
const run = (name: string) => `file://${dir}/runs/${name}/`;

const spec = (name: string, o: Partial<LoggedDatasetSpec> = {}): LoggedDatasetSpec => ({
  logUri: log(),
  model: 'churn',
  features: FEATURES,
  from: new Date(T0 - 24 * HOUR),
  to: new Date(T0),
  labels: { uri: labels(), idColumn: 'id', labelColumn: 'label' },
  target: 'churned',
  minRows: 3,
  outputUri: run(name),
  ...o,
});

const files = async (name: string) => ({
  csv: await readFile(join(dir, 'runs', name, 'dataset.csv'), 'utf8'),
  json: JSON.parse(await readFile(join(dir, 'runs', name, 'dataset.json'), 'utf8')) as Record<string, unknown>,
});

async function writeLabels(name: string, text: string, modified?: number) {
  await mkdir(join(dir, 'labels'), { recursive: true });
  const path = join(dir, 'labels', name);
  await writeFile(path, text);
  if (modified !== undefined) await utimes(path, modified / 1000, modified / 1000);
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fluxora-logged-dataset-'));
  // Two hours of one version, one of another; a request of two rows; one after the window; one with other inputs.
  await writeLogObject(log(), [logRecord('a', T0 - 20 * HOUR, [[1, 10]]), logRecord('b', T0 - 20 * HOUR + MIN, [[2, 20]])], { seq: 1 });
  await writeLogObject(log(), [logRecord('m', T0 - 3 * HOUR, [[3, 30], [4, 40]]), logRecord('c', T0 - 2 * HOUR, [[5, 50.25]])], { seq: 2 });
  await writeLogObject(log(), [logRecord('d', T0 - HOUR, [[6, 1e-7]], { version: 'v2' }), logRecord('wide', T0 - HOUR + MIN, [[7, 70, 700]], { version: 'v2' })], { seq: 1 });
  await writeLogObject(log(), [logRecord('late', T0 + MIN, [[8, 80]], { version: 'v2' })], { seq: 2 });
  // A damaged object in the window: skipped and reported.
  await writeLogObject(log(), [logRecord('x', T0 - 4 * HOUR, [[0, 0]])], { seq: 9, raw: 'not gzip' });
  // Labels: the joined ones, one for a request after the window, one for an id never logged, a
  // broken file, and an old file (before the window) that would contradict them if it were read.
  await writeLabels('day1.csv', 'id,label\na,0\nb,1\nm/0,1\nm/1,0\nc,1\nd,0\nlate,1\nghost,1\nwide,1\n');
  await writeLabels('broken.csv', 'id,label\n"unclosed,1\n');
  await writeLabels('old.csv', 'id,label\na,1\nb,0\n', T0 - 48 * HOUR);
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe('buildLoggedDataset', () => {
  it("writes the window's labelled rows as the Model's features plus the target, oldest first, and describes them in dataset.json", async () => {
    const { manifest, reused } = await buildLoggedDataset(spec('first'));
    expect(reused).toBe(false);
    const { csv, json } = await files('first');
    expect(csv).toBe('tenure,spend,churned\n1,10,0\n2,20,1\n3,30,1\n4,40,0\n5,50.25,1\n6,1e-7,0\n');
    expect(json).toEqual(JSON.parse(JSON.stringify(manifest)));
    expect(manifest).toMatchObject({
      uri: `${run('first')}dataset.csv`,
      sha256: sha256Hex(csv),
      rows: 6,
      labelled: 6,
      // a, b, m (2 rows), c, d: "wide" does not hold the two features and "late" is after the window.
      predictions: 6,
      coverage: 1,
      duplicateIds: 0,
      unmatchedLabels: 3, // late, ghost, wide
      requests: 6,
      window: { from: '2026-03-13T12:00:00.000Z', to: '2026-03-14T12:00:00.000Z' },
      logUri: log(),
      labelsUri: labels(),
      columns: ['tenure', 'spend', 'churned'],
      labels: { files: 1, rows: 9, conflicting: 0 },
    });
    // What could not be used is named, not fatal: the damaged object, the request of other inputs, the broken label file.
    const { log: badLog, requests: badRequests, labels: badLabels } = manifest.skipped;
    expect([badLog.count, badRequests.count, badLabels.count]).toEqual([1, 1, 1]);
    expect(badLog.first[0]?.message).toContain('not a gzip object');
    expect(badRequests.first[0]).toMatchObject({ uri: 'request wide' });
    expect(badRequests.first[0]?.message).toContain('neither as the columns');
    expect(badLabels.first[0]).toMatchObject({ uri: `${labels()}broken.csv` });
    expect(badLabels.first[0]?.message).toContain('never closed');
    // The trainer's reader reads it back as numbers.
    const table = parseTable(csv, 'dataset.csv', 'csv');
    expect([...(table.columns.get('spend') as Float64Array)]).toEqual([10, 20, 30, 40, 50.25, 1e-7]);
  });

  it('gives the same bytes for the same window, and a retry keeps the data set it built even when labels arrive in between', async () => {
    await buildLoggedDataset(spec('again'));
    const [a, b] = [await files('first'), await files('again')];
    expect(b.csv).toBe(a.csv);
    expect(b.json.sha256).toBe(a.json.sha256);

    await writeLabels('day2.csv', 'id,label\nwide,0\n');
    try {
      const retry = await buildLoggedDataset(spec('first'));
      expect(retry.reused).toBe(true);
      expect((await files('first')).csv).toBe(a.csv);
      // Another window in the same prefix (a RetrainJob created again under the same name) is built afresh.
      const other = await buildLoggedDataset(spec('first', { from: new Date(T0 - 3 * HOUR) }));
      expect(other.reused).toBe(false);
      expect((await files('first')).csv).toBe('tenure,spend,churned\n3,30,1\n4,40,0\n5,50.25,1\n6,1e-7,0\n');
      expect(other.manifest.window.from).toBe('2026-03-14T09:00:00.000Z');
    } finally {
      await rm(join(dir, 'labels', 'day2.csv'));
    }
  });

  it('a dataset.csv that no longer matches its dataset.json is built again, never trusted', async () => {
    await buildLoggedDataset(spec('tampered'));
    await writeFile(join(dir, 'runs', 'tampered', 'dataset.csv'), 'tenure,spend,churned\n');
    const again = await buildLoggedDataset(spec('tampered'));
    expect(again.reused).toBe(false);
    expect((await files('tampered')).csv).toBe((await files('again')).csv);
  });

  it('below minRows: DatasetTooSmallError with the counts, and nothing written', async () => {
    const e = await buildLoggedDataset(spec('small', { minRows: 7 })).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(DatasetTooSmallError);
    const err = e as DatasetTooSmallError;
    expect(err.counts).toEqual({ labelled: 6, predictions: 6, minRows: 7 });
    expect(err.message).toMatch(/^6 labelled rows in the window 2026-03-13T12:00:00.000Z to 2026-03-14T12:00:00.000Z, fewer than minRows 7: 6 prediction rows logged/);
    expect(err.message).toContain('coverage 100.0%');
    expect(err.message).toContain('1 label files skipped');
    expect(existsSync(join(dir, 'runs', 'small'))).toBe(false);
  });

  it('an empty window (no log at all) is too small, not an error of the store', async () => {
    const e = await buildLoggedDataset(spec('nolog', { logUri: `file://${dir}/no-log` })).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(DatasetTooSmallError);
    expect((e as Error).message).toContain('0 prediction rows logged (0 requests in 0 objects');
  });

  it('joins labels to each row of a multi-row request by "<id>/<row>", keeps categorical features as text, and names the label column as asked', async () => {
    const prefix = `file://${dir}/log-cat`;
    const rec = (id: string, time: number, plans: string[], tenure: number[]): LogRecord => ({
      id,
      model: 'plans',
      version: 'v1',
      time: new Date(time).toISOString(),
      inputs: [
        { name: 'plan', datatype: 'BYTES', shape: [plans.length, 1], data: plans as unknown as number[] },
        { name: 'tenure', datatype: 'FP32', shape: [tenure.length, 1], data: tenure },
      ],
      outputs: [],
    });
    await writeLogObject(prefix, [rec('r1', T0 - HOUR, ['gold, "annual"', ' basic'], [3, 4]), rec('r2', T0 - HOUR + 1, ['free'], [5])]);
    await mkdir(join(dir, 'labels-cat'), { recursive: true });
    await writeFile(join(dir, 'labels-cat', 'l.jsonl'), '{"request_id": "r1/0", "outcome": "stayed"}\n{"request_id": "r1/1", "outcome": "left, angry"}\n{"request_id": "r2", "outcome": "stayed"}\n');
    const { manifest } = await buildLoggedDataset(
      spec('cat', {
        logUri: prefix,
        model: 'plans',
        features: [{ name: 'plan', type: 'categorical' }, { name: 'tenure', type: 'numeric' }],
        labels: { uri: `file://${dir}/labels-cat/`, idColumn: 'request_id', labelColumn: 'outcome' },
        target: 'outcome',
        minRows: 1,
      }),
    );
    expect(manifest).toMatchObject({ rows: 3, predictions: 3, coverage: 1, requests: 2, columns: ['plan', 'tenure', 'outcome'] });
    const { csv } = await files('cat');
    expect(csv).toBe('plan,tenure,outcome\n"gold, ""annual""",3,stayed\n" basic",4,"left, angry"\nfree,5,stayed\n');
    const table = parseTable(csv, 'dataset.csv', 'csv', { types: new Map([['plan', 'categorical']]) });
    expect(table.columns.get('plan')).toEqual(['gold, "annual"', ' basic', 'free']);
    expect(table.columns.get('outcome')).toEqual(['stayed', 'left, angry', 'stayed']);
  });

  it('refuses a target that is also a feature, and an empty window', async () => {
    await expect(buildLoggedDataset(spec('clash', { target: 'spend' }))).rejects.toThrow(TrainingError);
    await expect(buildLoggedDataset(spec('clash', { target: 'spend' }))).rejects.toThrow('the label column "spend" is also a feature');
    await expect(buildLoggedDataset(spec('empty', { from: new Date(T0), to: new Date(T0) }))).rejects.toThrow('the window is empty');
  });

  it('a store that cannot be listed is a StorageError (the step fails as DatasetUnreadable), not an empty data set', async () => {
    const e = await buildLoggedDataset(spec('http', { labels: { uri: 'https://example.com/labels/', idColumn: 'id', labelColumn: 'label' } })).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(StorageError);
    expect((e as StorageError).code).toBe('Unsupported');
  });
});
