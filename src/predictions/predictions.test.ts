import { mkdtemp, rm, utimes } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { objectUri } from '../serving/prediction-log.js';
import { writeObject } from '../storage/index.js';
import { firstTimeOfObject, hourPartitions, joinLabels, readLabels, readLogWindow, toRowTable, type LoggedRecord } from './index.js';

let dir: string;
let prefix: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fluxora-predictions-'));
  prefix = `file://${dir}/log`;
});
afterAll(() => rm(dir, { recursive: true, force: true }));

const T0 = Date.UTC(2026, 2, 14, 15, 0, 0);
const MIN = 60_000;

/** A record as the server logs it: one input x of [rows, 2], outputs y [rows, 2] (probabilities) and label [rows]. */
function record(id: string, time: number, version: string, rows: number[][]) {
  return {
    id,
    model: 'churn',
    version,
    time: new Date(time).toISOString(),
    inputs: [{ name: 'x', datatype: 'FP32', shape: [rows.length, 2], data: rows.flat() }],
    outputs: [
      { name: 'y', datatype: 'FP32', shape: [rows.length, 2], data: rows.flatMap((r) => [1 - r[0]! / 10, r[0]! / 10]) },
      { name: 'label', datatype: 'INT64', shape: [rows.length], data: rows.map((r) => (r[0]! > 5 ? 1 : 0)) },
    ],
  };
}

async function writeBatch(version: string, seq: number, records: ReturnType<typeof record>[], raw?: string) {
  const uri = objectUri({ prefix, model: 'churn', version, pod: 'churn-abc', worker: 0, seq, firstTime: Date.parse(records[0]!.time) });
  await writeObject(uri, gzipSync(raw ?? records.map((r) => JSON.stringify(r)).join('\n') + '\n'));
  return uri;
}

describe('partitions and object names', () => {
  it('lists the hours of a window newest first, including partial hours', () => {
    expect(hourPartitions(new Date(T0 - 30 * MIN), new Date(T0 + 90 * MIN))).toEqual([
      'date=2026-03-14/hour=16',
      'date=2026-03-14/hour=15',
      'date=2026-03-14/hour=14',
    ]);
    // An end exactly on the hour does not include that hour.
    expect(hourPartitions(new Date(T0), new Date(T0 + 60 * MIN))).toEqual(['date=2026-03-14/hour=15']);
  });

  it('reads the first record time from the name the server gives an object', () => {
    const uri = objectUri({ prefix: 's3://b/p', model: 'm', version: 'v1', pod: 'p-1', worker: 2, seq: 7, firstTime: T0 + 12_345 });
    expect(firstTimeOfObject(uri)).toBe(T0 + 12_345);
    expect(firstTimeOfObject('s3://b/p/notes.txt')).toBeUndefined();
  });
});

describe('readLogWindow', () => {
  beforeAll(async () => {
    await writeBatch('v1', 1, [record('a', T0 - 50 * MIN, 'v1', [[1, 1]]), record('b', T0 - 40 * MIN, 'v1', [[2, 2]])]);
    await writeBatch('v1', 2, [record('c', T0 + 5 * MIN, 'v1', [[3, 3], [4, 4]])]);
    await writeBatch('v2', 1, [record('d', T0 + 10 * MIN, 'v2', [[6, 6]])]);
    // One object with a bad line among good ones, and one that is not gzip at all.
    await writeBatch('v2', 2, [record('e', T0 + 20 * MIN, 'v2', [[7, 7]])], `${JSON.stringify(record('e', T0 + 20 * MIN, 'v2', [[7, 7]]))}\n{"id": 3}\nnot json\n`);
    const broken = objectUri({ prefix, model: 'churn', version: 'v2', pod: 'churn-abc', worker: 0, seq: 3, firstTime: T0 + 25 * MIN });
    await writeObject(broken, 'plain text, not gzip');
    // After the window's end: skipped by its name, never read (it is not gzip either, and no problem is reported for it).
    const later = objectUri({ prefix, model: 'churn', version: 'v2', pod: 'churn-abc', worker: 0, seq: 4, firstTime: T0 + 45 * MIN });
    await writeObject(later, 'never read');
  });

  it('returns the records of the window, oldest first, across versions and hours, and reports what it skipped', async () => {
    const w = await readLogWindow({ prefix, model: 'churn', from: new Date(T0 - 45 * MIN), to: new Date(T0 + 30 * MIN) });
    expect(w.records.map((r) => r.id)).toEqual(['b', 'c', 'd', 'e']);
    expect(w.rows).toBe(5);
    expect(w.objects).toBe(5);
    expect(w.problems.count).toBe(3);
    expect(w.problems.items.map((p) => [p.line, p.message.slice(0, 16)])).toEqual(
      expect.arrayContaining([
        [2, 'no "id" string'],
        [3, 'not JSON (Unexpe'],
        [undefined, 'not a gzip objec'],
      ]),
    );
    expect(w.problems.summary('log lines or objects')).toMatch(/^3 log lines or objects skipped \(.*\.jsonl\.gz(:\d)?: .*; …\)$/);
  });

  it('keeps only the versions asked for, and the newest maxRows rows (whole requests)', async () => {
    const v1 = await readLogWindow({ prefix, model: 'churn', from: new Date(T0 - 60 * MIN), to: new Date(T0 + 60 * MIN), versions: ['v1'] });
    expect(v1.records.map((r) => r.id)).toEqual(['a', 'b', 'c']);
    const newest = await readLogWindow({ prefix, model: 'churn', from: new Date(T0 - 60 * MIN), to: new Date(T0 + 30 * MIN), maxRows: 3 });
    expect(newest.records.map((r) => r.id)).toEqual(['d', 'e']); // c has 2 rows: 2 + 1 + 1 would exceed 3
    expect(newest.rows).toBe(2);
  });

  it('an empty or absent log is an empty window', async () => {
    const w = await readLogWindow({ prefix, model: 'nobody', from: new Date(T0 - 60 * MIN), to: new Date(T0) });
    expect(w).toMatchObject({ records: [], rows: 0, objects: 0 });
  });
});

describe('toRowTable', () => {
  const recs = (): LoggedRecord[] =>
    [record('a', T0, 'v1', [[1, 10]]), record('b', T0 + 1, 'v1', [[8, 80], [9, 90]])].map((r) => ({ ...r, time: Date.parse(r.time) }));

  it('reads features from the columns of a single 2-D input, outputs by name and index, one id per row', () => {
    const t = toRowTable(recs(), {
      features: [{ name: 'tenure', type: 'numeric' }, { name: 'plan', type: 'categorical' }],
      outputs: new Map([
        ['score', { output: 'y', index: 1, type: 'numeric' as const }],
        ['class', { output: 'label', type: 'categorical' as const }],
      ]),
    });
    expect(t.rows).toBe(3);
    expect(t.ids).toEqual(['a', 'b/0', 'b/1']);
    expect([...(t.columns.tenure as Float64Array)]).toEqual([1, 8, 9]);
    expect(t.columns.plan).toEqual(['10', '80', '90']);
    expect([...(t.columns.score as Float64Array)].map((v) => +v.toFixed(2))).toEqual([0.1, 0.8, 0.9]);
    expect(t.columns.class).toEqual(['0', '1', '1']);
    expect(t.versions).toEqual(['v1', 'v1', 'v1']);
    expect(t.problems.count).toBe(0);
  });

  it('reads one input per feature by name, and skips (and counts) requests that fit neither layout', () => {
    const named: LoggedRecord = {
      id: 'n',
      time: T0,
      version: 'v2',
      inputs: [
        { name: 'plan', datatype: 'BYTES', shape: [1, 1], data: ['gold'] },
        { name: 'tenure', datatype: 'FP32', shape: [1, 1], data: [12] },
      ],
      outputs: [],
    };
    const odd: LoggedRecord = { id: 'o', time: T0, version: 'v3', inputs: [{ name: 'z', datatype: 'FP32', shape: [1, 3], data: [1, 2, 3] }], outputs: [] };
    const t = toRowTable([named, odd], { features: [{ name: 'tenure', type: 'numeric' }, { name: 'plan', type: 'categorical' }] });
    expect(t.rows).toBe(1);
    expect([...(t.columns.tenure as Float64Array)]).toEqual([12]);
    expect(t.columns.plan).toEqual(['gold']);
    expect(t.problems.count).toBe(1);
    expect(t.problems.items[0]!.message).toMatch(/request o|z\[1,3\]/);
  });

  it('names a missing output or index', () => {
    const t = toRowTable(recs(), { outputs: new Map([['s', { output: 'y', index: 2, type: 'numeric' as const }]]) });
    expect(t.rows).toBe(0);
    expect(t.problems.items[0]!.message).toContain('index 2 does not exist');
    const u = toRowTable(recs(), { outputs: new Map([['s', { output: 'prob', type: 'numeric' as const }]]) });
    expect(u.problems.items[0]!.message).toContain('no output "prob" (outputs: y, label)');
  });
});

describe('labels and the join', () => {
  const labels = () => `file://${dir}/labels/`;
  beforeAll(async () => {
    await writeObject(`${labels()}2026-03-14.csv`, 'id,label\na,0\nb/0,1\nb/1,0\nzz,1\n,1\n');
    await writeObject(`${labels()}late.jsonl.gz`, gzipSync('{"id":"b/1","label":1}\n{"id":"a","label":0}\n'));
    await writeObject(`${labels()}_SUCCESS`, '');
    await writeObject(`${labels()}broken.csv`, 'id,label\n"unterminated,1\n');
    await writeObject(`${labels()}notes.txt`, 'hello');
    await writeObject(`${labels()}old.csv`, 'id,label\na,1\n');
    const path = (u: string) => fileURLToPath(u);
    const at = (s: number) => new Date(T0 + s * 1000);
    await utimes(path(`${labels()}old.csv`), at(-7200), at(-7200));
    await utimes(path(`${labels()}2026-03-14.csv`), at(10), at(10));
    await utimes(path(`${labels()}late.jsonl.gz`), at(20), at(20));
  });

  it('reads CSV and gzipped JSON Lines, later files win, counts repeats, conflicts and incomplete rows, reports bad files', async () => {
    const set = await readLabels({ uri: labels(), idColumn: 'id', labelColumn: 'label', modifiedSince: new Date(T0 - 3600_000) });
    expect(Object.fromEntries(set.byId)).toEqual({ a: 0, 'b/0': 1, 'b/1': 1, zz: 1 });
    expect(set).toMatchObject({ files: 2, rows: 7, repeated: 1, conflicting: 1, incomplete: 1, numeric: true });
    expect(set.problems.count).toBe(2);
    expect(set.problems.items.map((p) => p.uri.split('/').at(-1))).toEqual(expect.arrayContaining(['broken.csv', 'notes.txt']));
    const broken = set.problems.items.find((p) => p.uri.endsWith('broken.csv'))!;
    expect(broken.line).toBe(2);
    expect(set.problems.summary('label files')).not.toMatch(/: :/);
  });

  it('reads old files too when no time bound is given', async () => {
    const set = await readLabels({ uri: labels(), idColumn: 'id', labelColumn: 'label' });
    expect(set.files).toBe(3);
    expect(set.byId.get('a')).toBe(0); // old.csv said 1, but it is older
  });

  it('names a label column that is not there', async () => {
    const set = await readLabels({ uri: labels(), idColumn: 'id', labelColumn: 'truth' });
    expect(set.files).toBe(0);
    expect(set.problems.items[0]!.message).toMatch(/truth/);
  });

  it('joins by id: the latest row of a repeated id only, with coverage and unmatched labels', () => {
    const j = joinLabels(['a', 'b/0', 'b/1', 'c', 'a'], new Map<string, number | string>([['a', 1], ['b/1', 0], ['zz', 1]]));
    expect([...j.rows]).toEqual([2, 4]);
    expect(j.labels).toEqual([0, 1]);
    expect(j).toMatchObject({ predictions: 5, duplicateIds: 1, unmatchedLabels: 1 });
    expect(j.coverage).toBeCloseTo(2 / 4);
  });
});
