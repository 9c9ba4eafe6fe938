// `npm run bench:drift`: the drift engine against scipy/numpy (and Evidently,
// when its venv has it) on the same data in the same run. 1,000,000 rows x 10
// numeric features for the reference and as many for the current data,
// generated here from a fixed seed and handed to hack/bench-drift.py as raw
// float64 files. Prints best-of-N wall times and the ratio fluxora / scipy.
//
//   npm run bench:drift                      # defaults
//   npm run bench:drift -- --rows 200000 --reps 5
//   npm run bench:drift -- --no-python       # the engine alone
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { numericShares } from '../src/drift/binning.js';
import { ks2samp } from '../src/drift/ks.js';
import { psi } from '../src/drift/psi.js';
import { sortedSample } from '../src/drift/sample.js';
import { wassersteinNormed } from '../src/drift/wasserstein.js';
import { seededRandom } from '../src/training/random.js';

const { values: args } = parseArgs({
  options: {
    rows: { type: 'string', default: '1000000' },
    reps: { type: 'string', default: '3' },
    'no-python': { type: 'boolean', default: false },
  },
});
const ROWS = Number(args.rows);
const REPS = Number(args.reps);

/** mulberry32 (src/training/random.ts): every run, and the Python side, sees the same data. */
const rng = seededRandom;

function normal(r: () => number): number {
  return Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r());
}

/** Ten feature shapes; the current data drifts in some (shift, scale, tail) and not in others. */
const FEATURES: { name: string; ref: (r: () => number) => number; cur: (r: () => number) => number }[] = [
  { name: 'normal-same', ref: (r) => normal(r), cur: (r) => normal(r) },
  { name: 'normal-shift', ref: (r) => normal(r), cur: (r) => normal(r) + 0.1 },
  { name: 'normal-small-shift', ref: (r) => 10 + 2 * normal(r), cur: (r) => 10.005 + 2 * normal(r) },
  { name: 'lognormal', ref: (r) => Math.exp(0.5 * normal(r)), cur: (r) => Math.exp(0.55 * normal(r)) },
  { name: 'uniform', ref: (r) => r(), cur: (r) => r() },
  { name: 'exponential', ref: (r) => -Math.log(1 - r()), cur: (r) => -1.2 * Math.log(1 - r()) },
  { name: 'rounded-ties', ref: (r) => Math.round(50 + 10 * normal(r)), cur: (r) => Math.round(50.5 + 10 * normal(r)) },
  { name: 'bimodal', ref: (r) => (r() < 0.5 ? -2 : 2) + normal(r), cur: (r) => (r() < 0.6 ? -2 : 2) + normal(r) },
  { name: 'heavy-tail', ref: (r) => normal(r) / Math.max(Math.abs(normal(r)), 1e-3), cur: (r) => normal(r) / Math.max(Math.abs(normal(r)), 1e-3) },
  { name: 'prices', ref: (r) => Math.round(Math.exp(3 + normal(r)) * 100) / 100, cur: (r) => Math.round(Math.exp(3.02 + normal(r)) * 100) / 100 },
];

function generate(): { ref: Float64Array[]; cur: Float64Array[] } {
  const r = rng(20240611);
  const ref = FEATURES.map((f) => Float64Array.from({ length: ROWS }, () => f.ref(r)));
  const cur = FEATURES.map((f) => Float64Array.from({ length: ROWS }, () => f.cur(r)));
  return { ref, cur };
}

function bestOf<T>(fn: () => T): { ms: number; result: T } {
  let best = Infinity;
  let result = fn();
  for (let i = 0; i < REPS; i++) {
    const t0 = performance.now();
    result = fn();
    best = Math.min(best, performance.now() - t0);
  }
  return { ms: best, result };
}

interface PythonResult {
  versions: Record<string, string>;
  ms: Record<string, number>;
  values: Record<string, number[]>;
}

function runPython(dir: string): PythonResult | string {
  const script = new URL('../hack/bench-drift.py', import.meta.url).pathname;
  const r = spawnSync('python3', [script, '--data', dir, '--reps', String(REPS)], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
    maxBuffer: 64 * 1024 * 1024,
  });
  if (r.error) return `python3 did not run: ${r.error.message}`;
  if (r.status !== 0) return `hack/bench-drift.py exited ${r.status}`;
  return JSON.parse(r.stdout) as PythonResult;
}

function maxRelDiff(a: readonly number[], b: readonly number[]): number {
  let worst = 0;
  a.forEach((x, i) => {
    const y = b[i] as number;
    const d = Math.abs(x - y);
    worst = Math.max(worst, d <= 1e-300 ? 0 : d / Math.max(Math.abs(y), 1e-300));
  });
  return worst;
}

function main(): void {
  process.stdout.write(`generating ${ROWS.toLocaleString('en')} rows x ${FEATURES.length} features (reference and current)...\n`);
  const { ref, cur } = generate();

  // Each row times the whole per-feature job from raw columns, sorting included, like scipy's calls.
  const ks = bestOf(() => ref.map((r, i) => ks2samp(sortedSample(r).values, sortedSample(cur[i] as Float64Array).values).pValue));
  const psiRun = bestOf(() => ref.map((r, i) => psi(numericShares(r, cur[i] as Float64Array))));
  const w = bestOf(() =>
    ref.map((r, i) => wassersteinNormed(sortedSample(r).values, sortedSample(cur[i] as Float64Array).values)),
  );
  // What a drift check with all three runs: one sort per sample shared by KS and Wasserstein.
  const all = bestOf(() =>
    ref.map((r, i) => {
      const a = sortedSample(r).values;
      const b = sortedSample(cur[i] as Float64Array).values;
      return [ks2samp(a, b).pValue, psi(numericShares(a, b)), wassersteinNormed(a, b)];
    }),
  );

  let py: PythonResult | string = 'skipped (--no-python)';
  if (!args['no-python']) {
    const dir = mkdtempSync(join(tmpdir(), 'fluxora-bench-drift-'));
    try {
      const cat = (cols: Float64Array[]): Buffer => Buffer.concat(cols.map((c) => Buffer.from(c.buffer, c.byteOffset, c.byteLength)));
      writeFileSync(join(dir, 'reference.f64'), cat(ref));
      writeFileSync(join(dir, 'current.f64'), cat(cur));
      writeFileSync(join(dir, 'meta.json'), JSON.stringify({ rows: ROWS, features: FEATURES.map((f) => f.name) }));
      process.stdout.write('running hack/bench-drift.py (scipy/numpy, Evidently) on the same data...\n');
      py = runPython(dir);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }

  const p = typeof py === 'string' ? undefined : py;
  const fmt = (ms: number | undefined): string => (ms === undefined ? '-' : ms.toFixed(0));
  const ratio = (ours: number, theirs: number | undefined): string => (theirs === undefined ? '-' : (ours / theirs).toFixed(2));
  const pyAll = p ? (p.ms.ks ?? 0) + (p.ms.psi ?? 0) + (p.ms.wasserstein ?? 0) : undefined;
  const evAll = p?.ms.evidently_psi !== undefined ? (p.ms.ks ?? 0) + p.ms.evidently_psi + (p.ms.evidently_wasserstein ?? 0) : undefined;
  const rows: [string, number, number | undefined, number | undefined][] = [
    ['KS (ks_2samp)', ks.ms, p?.ms.ks, p?.ms.ks],
    ['PSI', psiRun.ms, p?.ms.psi, p?.ms.evidently_psi],
    ['Wasserstein (normed)', w.ms, p?.ms.wasserstein, p?.ms.evidently_wasserstein],
    ['all three', all.ms, pyAll, evAll],
  ];
  const out = [
    '',
    `drift engine: ${ROWS.toLocaleString('en')} rows x ${FEATURES.length} numeric features, reference and current; best of ${REPS}, ms for all features`,
    `node ${process.version}${p ? `; ${Object.entries(p.versions).map(([k, v]) => `${k} ${v}`).join(', ')}` : `; python: ${typeof py === 'string' ? py : ''}`}`,
    '',
    `${'method'.padEnd(22)}${'fluxora'.padStart(10)}${'scipy/numpy'.padStart(13)}${'evidently'.padStart(11)}${'fluxora/scipy'.padStart(15)}`,
    ...rows.map(
      ([name, ours, scipy, ev]) =>
        `${name.padEnd(22)}${fmt(ours).padStart(10)}${fmt(scipy).padStart(13)}${fmt(ev).padStart(11)}${ratio(ours, scipy).padStart(15)}`,
    ),
    '',
    'fluxora rows include dropping missing values and sorting; "all three" sorts each sample once for KS and',
    'Wasserstein (scipy/Evidently: the three calls added up). PSI bins without sorting.',
  ];
  if (p) {
    out.push(
      `agreement (max relative difference over features): KS p ${maxRelDiff(ks.result, p.values.ks ?? []).toExponential(1)}, ` +
        `PSI ${maxRelDiff(psiRun.result, p.values.psi ?? []).toExponential(1)}, ` +
        `Wasserstein ${maxRelDiff(w.result, p.values.wasserstein ?? []).toExponential(1)}`,
    );
  }
  process.stdout.write(`${out.join('\n')}\n`);
}

main();
