// The pieces of a drift check that reads its current data from the prediction
// log and checks model outputs: the columns checked, the reference's output
// columns, and the log window as feature and output columns, with what was
// skipped said, not hidden. The log is written where a file:// prefix puts it,
// under the names the server gives its objects.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertSpec, type DriftMonitor, type DriftMonitorSpecInput, type Model } from '../api/index.js';
import { objectUri } from '../serving/prediction-log.js';
import { writeObject } from '../storage/index.js';
import { CheckError, checkedColumns, loadReference } from './check-data.js';
import { readLogCurrent } from './check-log.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fluxora-check-log-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

const NOW = new Date(Date.UTC(2026, 2, 14, 15, 30, 0));
const MIN = 60_000;

function model(logUri?: string): Model {
  const spec = assertSpec('Model', {
    artifact: { uri: 's3://models/churn.onnx' },
    features: [{ name: 'tenure', type: 'numeric' }, { name: 'plan', type: 'categorical' }],
    ...(logUri ? { serving: { predictionLog: { uri: 's3://logs/predictions' } } } : {}),
  });
  // The schema wants s3://; the reader takes file:// (and refuses http://), which these tests use.
  if (logUri) spec.serving.predictionLog!.uri = logUri;
  return { apiVersion: 'fluxora.io/v1alpha1', kind: 'Model', metadata: { name: 'churn', namespace: 'ml' }, spec };
}

function monitor(spec: Partial<DriftMonitorSpecInput>): DriftMonitor {
  return {
    apiVersion: 'fluxora.io/v1alpha1',
    kind: 'DriftMonitor',
    metadata: { name: 'm', namespace: 'ml' },
    spec: assertSpec('DriftMonitor', { modelRef: { name: 'churn' }, schedule: '@hourly', reference: { uri: 's3://data/ref.csv' }, current: { source: 'PredictionLog' }, ...spec }),
  };
}

/** A logged request of rows [tenure, plan code], with outputs probability [n, 2] and label [n]. */
function request(id: string, time: number, rows: [number, number][]) {
  return {
    id,
    model: 'churn',
    version: 'v1',
    time: new Date(time).toISOString(),
    inputs: [{ name: 'x', datatype: 'FP32', shape: [rows.length, 2], data: rows.flat() }],
    outputs: [
      { name: 'probability', datatype: 'FP32', shape: [rows.length, 2], data: rows.flatMap(([t]) => [1 - t / 100, t / 100]) },
      { name: 'label', datatype: 'INT64', shape: [rows.length], data: rows.map(([t]) => (t > 50 ? 1 : 0)) },
    ],
  };
}

async function writeLog(prefix: string, seq: number, records: ReturnType<typeof request>[], raw?: string) {
  const uri = objectUri({ prefix, model: 'churn', version: 'v1', pod: 'churn-abc', worker: 0, seq, firstTime: Date.parse(records[0]!.time) });
  await writeObject(uri, raw ?? gzipSync(records.map((r) => JSON.stringify(r)).join('\n') + '\n'));
  return uri;
}

const reasonOf = (p: Promise<unknown>) => p.then(() => expect.fail('no error'), (e: unknown) => e as CheckError);

describe('checkedColumns', () => {
  it("takes the Model's features with the monitor's overrides, and outputs reading their own name by default", () => {
    const c = checkedColumns(monitor({ features: [{ name: 'tenure', method: 'ks' }], outputs: [{ name: 'probability', index: 1 }, { name: 'cls', output: 'label', type: 'categorical' }] }), model());
    expect(c.features).toEqual([
      { name: 'tenure', type: 'numeric', method: 'ks' },
      { name: 'plan', type: 'categorical', method: 'auto' },
    ]);
    expect(c.outputs).toEqual([
      { name: 'probability', type: 'numeric', method: 'auto', output: 'probability', index: 1 },
      { name: 'cls', type: 'categorical', method: 'auto', output: 'label', index: 0 },
    ]);
  });

  it("refuses an output named like one of the Model's features (the API server cannot see the Model)", () => {
    const e = (() => {
      try {
        checkedColumns(monitor({ outputs: [{ name: 'plan', output: 'label' }] }), model());
      } catch (x) {
        return x as CheckError;
      }
      return expect.fail('no error');
    })();
    expect(e.reason).toBe('OutputNameConflict');
    expect(e.message).toContain('spec.outputs "plan" has the name of a feature of Model "churn"');
  });
});

describe('loadReference', () => {
  it('names a missing output column and says how to add it', async () => {
    const uri = `file://${dir}/reference.csv`;
    await writeObject(uri, 'tenure,plan\n1,a\n2,b\n');
    const columns = checkedColumns(monitor({ outputs: [{ name: 'score', output: 'probability', index: 1 }] }), model());
    const e = await reasonOf(loadReference(uri, columns));
    expect(e.reason).toBe('ReferenceMissingOutput');
    expect(e.message).toContain(`reference ${uri} has no column "score" for spec.outputs "score"`);
    expect(e.message).toContain('add the model\'s outputs on the reference rows as that column (the output "probability", element 1 of each row');
    expect(e.message).toContain('(it has: tenure, plan)');
  });

  it('a missing feature column stays ReferenceUnreadable', async () => {
    const uri = `file://${dir}/no-plan.csv`;
    await writeObject(uri, 'tenure,score\n1,0.5\n');
    const e = await reasonOf(loadReference(uri, checkedColumns(monitor({ outputs: [{ name: 'score' }] }), model())));
    expect(e.reason).toBe('ReferenceUnreadable');
    expect(e.message).toContain('"plan"');
  });

  it('reads features and outputs with their declared types', async () => {
    const uri = `file://${dir}/scored.csv`;
    await writeObject(uri, 'tenure,plan,score,cls\n1,3,0.25,1\n2,4,0.75,0\n');
    const t = await loadReference(uri, checkedColumns(monitor({ outputs: [{ name: 'score' }, { name: 'cls', type: 'categorical' }] }), model()));
    expect([...(t.columns.get('score') as Float64Array)]).toEqual([0.25, 0.75]);
    expect(t.columns.get('cls')).toEqual(['1', '0']);
    expect(t.columns.get('plan')).toEqual(['3', '4']);
  });
});

describe('readLogCurrent', () => {
  let prefix: string;
  beforeAll(async () => {
    prefix = `file://${dir}/log`;
    // Before the 6 h window, inside it (two objects, one of two rows), and one damaged object.
    await writeLog(prefix, 1, [request('old', NOW.getTime() - 7 * 60 * MIN, [[10, 1]])]);
    await writeLog(prefix, 2, [request('a', NOW.getTime() - 5 * 60 * MIN, [[20, 1]]), request('b', NOW.getTime() - 90 * MIN, [[30, 2], [60, 1]])]);
    await writeLog(prefix, 3, [request('c', NOW.getTime() - 10 * MIN, [[80, 2]])]);
    await writeLog(prefix, 4, [request('bad', NOW.getTime() - 5 * MIN, [[1, 1]])], 'not gzip at all');
  });

  it('fails with PredictionLogNotConfigured, saying what to set, when the Model has no log', async () => {
    const m = monitor({});
    const e = await reasonOf(readLogCurrent({ monitor: m, model: model(), columns: checkedColumns(m, model()), now: NOW }));
    expect(e.reason).toBe('PredictionLogNotConfigured');
    expect(e.message).toContain('Model "churn" has no prediction log: set spec.serving.predictionLog.uri on the Model');
  });

  it('reads the rows of the window as feature and output columns, and says what it skipped', async () => {
    const m = monitor({ current: { source: 'PredictionLog', window: '6h' }, outputs: [{ name: 'score', output: 'probability', index: 1 }, { name: 'cls', output: 'label', type: 'categorical' }] });
    const mo = model(prefix);
    const r = await readLogCurrent({ monitor: m, model: mo, columns: checkedColumns(m, mo), now: NOW });
    expect(r.rows).toBe(4);
    const cols = r.columns as Record<string, Float64Array | (string | null)[]>;
    expect([...(cols.tenure as Float64Array)]).toEqual([20, 30, 60, 80]);
    expect(cols.plan).toEqual(['1', '2', '1', '2']);
    expect([...(cols.score as Float64Array)].map((v) => +v.toFixed(2))).toEqual([0.2, 0.3, 0.6, 0.8]);
    expect(cols.cls).toEqual(['0', '0', '1', '1']);
    expect(r.skippedCount).toBe(1);
    expect(r.skipped).toMatch(/^1 log objects or lines skipped \(file:\/\/.*-000004-.*\.jsonl\.gz: not a gzip object/);
  });

  it('defaults to a 24 h window, keeps the newest maxSamples rows, and counts requests that lack an output', async () => {
    const m = monitor({ current: { source: 'PredictionLog', maxSamples: 2, minSamples: 1 }, outputs: [{ name: 'p', output: 'logit' }] });
    const mo = model(prefix);
    const r = await readLogCurrent({ monitor: m, model: mo, columns: checkedColumns(m, mo), now: NOW });
    expect(r.window).toBe('24h');
    expect(r.rows).toBe(0); // the newest requests hold 1 row each (c, then b's 2 rows would exceed 2), and none has "logit"
    expect(r.skipped).toContain('logged requests skipped (request c: skipped: it has no output "logit" (outputs: probability, label)');
    const all = monitor({ current: { source: 'PredictionLog', maxSamples: 3, minSamples: 1 } });
    const r2 = await readLogCurrent({ monitor: all, model: mo, columns: checkedColumns(all, mo), now: NOW });
    expect([...(r2.columns as Record<string, Float64Array>).tenure!]).toEqual([30, 60, 80]);
  });

  it('a store that cannot be listed fails the check with PredictionLogUnreadable, naming the log', async () => {
    const m = monitor({});
    const mo = model('http://logs.example/predictions');
    const e = await reasonOf(readLogCurrent({ monitor: m, model: mo, columns: checkedColumns(m, mo), now: NOW }));
    expect(e.reason).toBe('PredictionLogUnreadable');
    expect(e.message).toMatch(/^prediction log http:\/\/logs\.example\/predictions \(spec\.serving\.predictionLog\.uri of Model "churn"\): .*cannot be listed/);
    expect(e.message).toContain("the check reads the log with its own AWS_* settings (the reference's): the Model names no Secret for its log or artifact");
  });
});
