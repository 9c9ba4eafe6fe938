// `npm run bench:join`: the label path of a performance check on 1,000,000
// logged predictions and 1,000,000 label rows in 10 CSV files: reading the
// label files (readLabels: later files win, conflicts counted), the join by
// request id (joinLabels) and the binary metrics (accuracy, AUC, F1, log
// loss), against the peers a user would pick for the same join on the same
// files, in the same run:
//   pandas   read_csv per file + concat + drop_duplicates(keep="last") + merge,
//            metrics by scikit-learn
//   DuckDB   one query: read_csv over the files, last label per id by file
//            order, join; metrics by scikit-learn on the result
// Every side runs in its own process (this file with --worker for Fluxora,
// hack/bench-join.py in the performance venv for the peers), loads the
// predictions untimed, reports best-of-N wall times and its peak RSS, and the
// figures must agree (counts exactly, metrics to 1e-9).
//
//   npm run bench:join                          # 1M predictions, 1M labels in 10 files
//   npm run bench:join -- --rows 200000 --reps 5
//   npm run bench:join -- --no-python           # Fluxora alone
//   npm run bench:join -- --keep                # keep the generated files (the path is printed)
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { computePerformance } from '../src/drift/performance-metrics.js';
import { joinLabels, readLabels } from '../src/predictions/index.js';
import { parseTable } from '../src/table/index.js';
import { normal, seededRandom } from '../src/training/random.js';
import { ensurePythonVenv } from '../test/fixtures/models/python-venv.js';

const { values: args } = parseArgs({
  options: {
    rows: { type: 'string', default: '1000000' },
    files: { type: 'string', default: '10' },
    reps: { type: 'string', default: '3' },
    'no-python': { type: 'boolean', default: false },
    keep: { type: 'boolean', default: false },
    worker: { type: 'string' },
  },
});
const ROWS = Number(args.rows);
const FILES = Number(args.files);
const REPS = Number(args.reps);
const ROOT = new URL('..', import.meta.url).pathname;

/** What each side prints: best-of-N milliseconds per step, the figures, and its peak RSS. */
interface SideResult {
  name: string;
  version: string;
  ms: { read: number; join: number; metrics: number; total: number };
  counts: { predictions: number; labelRows: number; labelled: number; unmatchedLabels: number; coverage: number };
  metrics: Record<string, number>;
  maxRssMB: number;
}

// ---- the data: written once, read by every side

/** A UUID-like id from the seeded generator: what clients send or the server generates. */
function uuid(r: () => number): string {
  let s = '';
  for (let i = 0; i < 32; i++) s += ((r() * 16) | 0).toString(16);
  return `${s.slice(0, 8)}-${s.slice(8, 12)}-${s.slice(12, 16)}-${s.slice(16, 20)}-${s.slice(20)}`;
}

/**
 * predictions.csv (id, score) and FILES label files of ROWS/FILES rows each
 * (modified one second apart, in name order): 95% of the predictions
 * labelled, labels for unknown ids, and in every file after the first a 1%
 * share of corrections of earlier labels (half of them another value).
 */
function generate(dir: string): { labelRows: number } {
  const r = seededRandom(20260315);
  const gauss = normal(r);
  const ids: string[] = Array.from({ length: ROWS }, () => uuid(r));
  const y = Uint8Array.from({ length: ROWS }, () => (r() < 0.3 ? 1 : 0));
  const preds = ['id,score'];
  for (let i = 0; i < ROWS; i++) preds.push(`${ids[i]},${(1 / (1 + Math.exp(-(1.2 * (2 * y[i]! - 1) + gauss())))).toFixed(6)}`);
  writeFileSync(join(dir, 'predictions.csv'), preds.join('\n') + '\n');

  mkdirSync(join(dir, 'labels'));
  const perFile = Math.floor(ROWS / FILES);
  const labelled = Math.floor(ROWS * 0.95);
  const matchedPerFile = Math.floor(labelled / FILES);
  const corrections = Math.floor(perFile / 100);
  const t0 = Date.now() / 1000 - FILES - 60;
  let labelRows = 0;
  for (let f = 0; f < FILES; f++) {
    const lines = ['id,label'];
    for (let i = f * matchedPerFile; i < (f + 1) * matchedPerFile; i++) lines.push(`${ids[i]},${y[i]}`);
    for (let k = 0; f > 0 && k < corrections; k++) {
      const i = Math.floor(r() * f * matchedPerFile); // an id labelled in an earlier file
      const v = k % 2 === 0 ? 1 - y[i]! : y[i]!;
      y[i] = v;
      lines.push(`${ids[i]},${v}`);
    }
    while (lines.length - 1 < perFile) lines.push(`${uuid(r)},${r() < 0.3 ? 1 : 0}`); // ids no prediction has
    labelRows += lines.length - 1;
    const file = join(dir, 'labels', `labels-${String(f).padStart(2, '0')}.csv`);
    writeFileSync(file, lines.join('\n') + '\n');
    utimesSync(file, t0 + f, t0 + f);
  }
  return { labelRows };
}

// ---- the Fluxora side (a child process, so its RSS is its own)

async function worker(dir: string): Promise<SideResult> {
  // Untimed: the predictions as the check has them after toRowTable (ids and a Float64Array).
  const t = parseTable(await readFile(join(dir, 'predictions.csv'), 'utf8'), 'predictions.csv', 'csv', { types: new Map([['id', 'categorical']]) });
  const ids = t.columns.get('id') as string[];
  const scores = t.columns.get('score') as Float64Array;

  const steps = { read: Infinity, join: Infinity, metrics: Infinity, total: Infinity };
  let out: Omit<SideResult, 'name' | 'version' | 'ms' | 'maxRssMB'> | undefined;
  for (let rep = 0; rep < REPS; rep++) {
    const t0 = performance.now();
    const labels = await readLabels({ uri: `file://${dir}/labels/`, idColumn: 'id', labelColumn: 'label' });
    const t1 = performance.now();
    const joined = joinLabels(ids, labels.byId);
    const t2 = performance.now();
    const p = new Float64Array(joined.rows.length);
    for (let i = 0; i < p.length; i++) p[i] = scores[joined.rows[i]!]!;
    const perf = computePerformance({ task: 'BinaryClassification', predictions: p, labels: joined.labels, threshold: 0.5 });
    const t3 = performance.now();
    steps.read = Math.min(steps.read, t1 - t0);
    steps.join = Math.min(steps.join, t2 - t1);
    steps.metrics = Math.min(steps.metrics, t3 - t2);
    steps.total = Math.min(steps.total, t3 - t0);
    out = {
      counts: { predictions: joined.predictions, labelRows: labels.rows, labelled: perf.used, unmatchedLabels: joined.unmatchedLabels, coverage: joined.coverage },
      metrics: perf.metrics,
    };
  }
  return { name: 'fluxora', version: `node ${process.version}`, ms: steps, ...out!, maxRssMB: process.resourceUsage().maxRSS / 1024 };
}

// ---- the run

function runChild(cmd: string, argv: string[]): SideResult[] | string {
  const r = spawnSync(cmd, argv, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 64 * 1024 * 1024 });
  if (r.error) return `${cmd} did not run: ${r.error.message}`;
  if (r.status !== 0) return `${argv.find((a) => a.endsWith('.py') || a.endsWith('.ts')) ?? cmd} exited ${r.status}`;
  return JSON.parse(r.stdout) as SideResult[];
}

function agree(a: SideResult, b: SideResult): string[] {
  const problems: string[] = [];
  for (const k of ['predictions', 'labelled', 'unmatchedLabels'] as const) if (a.counts[k] !== b.counts[k]) problems.push(`${k}: ${a.counts[k]} vs ${b.name}'s ${b.counts[k]}`);
  if (Math.abs(a.counts.coverage - b.counts.coverage) > 1e-12) problems.push(`coverage: ${a.counts.coverage} vs ${b.name}'s ${b.counts.coverage}`);
  for (const [m, v] of Object.entries(a.metrics)) {
    const w = b.metrics[m];
    if (w === undefined || Math.abs(v - w) > 1e-9 * Math.max(1, Math.abs(w))) problems.push(`${m}: ${v} vs ${b.name}'s ${w}`);
  }
  return problems;
}

async function main(): Promise<number> {
  if (args.worker) {
    process.stdout.write(JSON.stringify([await worker(args.worker)]));
    return 0;
  }
  const dir = mkdtempSync(join(tmpdir(), 'fluxora-bench-join-'));
  try {
    process.stdout.write(`generating ${ROWS.toLocaleString('en')} predictions and ${ROWS.toLocaleString('en')} label rows in ${FILES} CSV files...\n`);
    const { labelRows } = generate(dir);
    const load0 = loadavg().map((l) => l.toFixed(1)).join(' ');
    process.stdout.write(`fluxora: readLabels + joinLabels + metrics, best of ${REPS}...\n`);
    const ours = runChild(process.execPath, ['--import', 'tsx', join(ROOT, 'bench/join.ts'), '--rows', String(ROWS), '--files', String(FILES), '--reps', String(REPS), '--worker', dir]);
    if (typeof ours === 'string') throw new Error(ours);
    const sides: SideResult[] = [...ours];
    if (!args['no-python']) {
      const python = await ensurePythonVenv(
        { name: 'performance', purpose: 'the peers of bench:join', requirements: [join(ROOT, 'hack/requirements-performance.txt')] },
        (l) => process.stdout.write(`${l}\n`),
      );
      for (const peer of ['pandas', 'duckdb']) {
        process.stdout.write(`${peer} (hack/bench-join.py), best of ${REPS}...\n`);
        const result = runChild(python, [join(ROOT, 'hack/bench-join.py'), '--data', dir, '--reps', String(REPS), '--peer', peer]);
        if (typeof result === 'string') process.stdout.write(`${peer} skipped: ${result}\n`);
        else sides.push(...result);
      }
    }

    const f = sides[0]!;
    const rate = (ms: number) => `${((labelRows / ms) * 1000 / 1e6).toFixed(2)}M`;
    process.stdout.write(`\n${ROWS.toLocaleString('en')} predictions, ${labelRows.toLocaleString('en')} label rows in ${FILES} files; ` +
      `${f.counts.labelled.toLocaleString('en')} joined, ${f.counts.unmatchedLabels.toLocaleString('en')} labels unmatched, coverage ${(f.counts.coverage * 100).toFixed(1)}%\n\n`);
    const head = ['', 'read labels ms', 'join ms', 'metrics ms', 'total ms', 'label rows/s', 'peak RSS MB', 'total ÷ fluxora'];
    const table = sides.map((s) => [
      `${s.name} (${s.version})`,
      s.ms.read.toFixed(0),
      s.ms.join.toFixed(0),
      s.ms.metrics.toFixed(0),
      s.ms.total.toFixed(0),
      rate(s.ms.total),
      s.maxRssMB.toFixed(0),
      (s.ms.total / f.ms.total).toFixed(2),
    ]);
    const widths = head.map((h, i) => Math.max(h.length, ...table.map((r) => r[i]!.length)));
    for (const row of [head, ...table]) process.stdout.write(row.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ') + '\n');
    process.stdout.write(
      '\n(pandas\' join includes its de-duplication of labels; DuckDB reads, de-duplicates and joins in one query, reported as read. ' +
        `Load average before/after: ${load0} / ${loadavg().map((l) => l.toFixed(1)).join(' ')} on ${availableParallelism()} CPUs)\n`,
    );

    let ok = true;
    for (const s of sides.slice(1)) {
      const problems = agree(f, s);
      if (problems.length) {
        ok = false;
        process.stdout.write(`MISMATCH with ${s.name}: ${problems.join('; ')}\n`);
      } else process.stdout.write(`${s.name}: same counts and metrics (to 1e-9)\n`);
    }
    process.stdout.write(`metrics: ${Object.entries(f.metrics).map(([k, v]) => `${k} ${v.toFixed(6)}`).join(', ')}\n`);
    return ok ? 0 : 1;
  } finally {
    if (args.keep) process.stdout.write(`data kept in ${dir}\n`);
    else rmSync(dir, { recursive: true, force: true });
  }
}

process.exitCode = await main();
