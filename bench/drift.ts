// `npm run bench:drift`: the drift engine (src/drift) against the Python a
// user would run instead, on the same data in the same run. 1,000,000 rows of
// 10 numeric features and 3 categorical ones for the reference and as many for
// the current data, generated here from a fixed seed and handed to
// hack/bench-drift.py as raw files. Two comparisons:
//
//   scipy      per numeric feature, KS, PSI and Wasserstein from raw columns,
//              fluxora's functions against scipy/numpy; best-of-N wall times
//              and the ratio fluxora / scipy;
//   evidently  Evidently, the library fluxora's methods follow, as a peer:
//              every method that maps 1:1 on every feature it applies to (KS,
//              PSI, Jensen-Shannon and Wasserstein on the numeric features;
//              chi-square, the z-test, PSI and Jensen-Shannon on the
//              categorical ones), at the same thresholds. fluxora runs
//              featureDrift (what a drift check runs per feature) on the
//              columns; Evidently its registered stattests on pandas Series,
//              one column at a time, and, timed apart, the same checks as one
//              Report of ValueDrift metrics (what its docs show a user). Per
//              feature and method it prints both scores (the p-value for the
//              tests) and whether they agree; then the speed ratio, with the
//              target fluxora >= 10x faster than Evidently's stattests (PASS
//              or MISS; a disagreement or an error fails the run).
//
// The Python side runs in a venv under ~/.cache/fluxora built on first use
// from hack/requirements-drift.txt (Evidently, scipy, numpy and pandas
// pinned), keyed by that file and the Python version, like bench:serve's peers.
//
//   npm run bench:drift                            both comparisons
//   npm run bench:drift -- --only evidently        the Evidently comparison alone
//   npm run bench:drift -- --only scipy            the scipy/numpy comparison alone
//   npm run bench:drift -- --rows 200000 --reps 5  smaller data, more repetitions
//   npm run bench:drift -- --no-python             the engine's timings alone
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { numericShares } from '../src/drift/binning.js';
import { featureDrift } from '../src/drift/compute.js';
import { ks2samp } from '../src/drift/ks.js';
import { psi } from '../src/drift/psi.js';
import { sortedSample } from '../src/drift/sample.js';
import { DEFAULT_THRESHOLDS } from '../src/drift/select.js';
import type { DriftMethod, FeatureDrift, FeatureType } from '../src/drift/types.js';
import { wassersteinNormed } from '../src/drift/wasserstein.js';
import { seededRandom } from '../src/training/random.js';
import { ensurePythonVenv } from '../test/fixtures/models/python-venv.js';

const ROOT = join(import.meta.dirname, '..');
const COMPARISONS = ['scipy', 'evidently'] as const;
type Comparison = (typeof COMPARISONS)[number];

const { values: args } = parseArgs({
  options: {
    rows: { type: 'string', default: '1000000' },
    reps: { type: 'string', default: '3' },
    only: { type: 'string' },
    'no-python': { type: 'boolean', default: false },
  },
});
const ROWS = Number(args.rows);
const REPS = Number(args.reps);
if (!Number.isSafeInteger(ROWS) || ROWS < 10) throw new Error(`--rows must be an integer >= 10, got "${args.rows}"`);
if (!Number.isSafeInteger(REPS) || REPS < 1) throw new Error(`--reps must be an integer >= 1, got "${args.reps}"`);
if (args.only !== undefined && !(COMPARISONS as readonly string[]).includes(args.only)) {
  throw new Error(`--only must be one of ${COMPARISONS.join(', ')}, got "${args.only}"`);
}
const runs = (c: Comparison) => args.only === undefined || args.only === c;

/** Speed the Evidently comparison asks of fluxora (issue "prediction log", item 6). */
const TARGET_SPEEDUP = 10;
/**
 * When two scores agree: the same verdict, and within 1e-6 relative (the
 * engine matches scipy and Evidently to 1e-9 on its fixtures; a million
 * values summed in another order move the last digits), or both below 1e-12
 * (p-values that small differ relatively between two correct asymptotic
 * computations and mean the same).
 */
const REL_TOLERANCE = 1e-6;
const ABS_TOLERANCE = 1e-12;

/** mulberry32 (src/training/random.ts): every run, and the Python side, sees the same data. */
const rng = seededRandom;

function normal(r: () => number): number {
  return Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r());
}

/** Ten numeric feature shapes; the current data drifts in some (shift, scale, tail) and not in others. */
const NUMERIC: { name: string; ref: (r: () => number) => number; cur: (r: () => number) => number }[] = [
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

/** Three categorical features: a small shift, a category the reference never saw, two categories that barely move. */
const COUNTRIES = Array.from({ length: 30 }, (_, i) => `c${String(i).padStart(2, '0')}`);
const CATEGORICAL: { name: string; labels: string[]; ref: number[]; cur: number[] }[] = [
  { name: 'plan', labels: ['basic', 'plus', 'pro', 'enterprise'], ref: [0.4, 0.3, 0.2, 0.1], cur: [0.38, 0.3, 0.21, 0.11] },
  // Zipf-like shares; the current data has a country the reference lacks (chi-square: +inf, p = 0).
  { name: 'country', labels: [...COUNTRIES, 'new'], ref: [...COUNTRIES.map((_, i) => 1 / (i + 1)), 0], cur: [...COUNTRIES.map((_, i) => 1 / (i + 1)), 0.002] },
  { name: 'device', labels: ['desktop', 'mobile'], ref: [0.55, 0.45], cur: [0.549, 0.451] },
];

/** Methods with the same definition in fluxora and Evidently, by feature type (Evidently's "z" is our categorical zscore). */
const METHODS: Record<FeatureType, DriftMethod[]> = {
  numeric: ['ks', 'psi', 'jensenshannon', 'wasserstein'],
  categorical: ['chisquare', 'zscore', 'psi', 'jensenshannon'],
};

/** Draws a category code with the given (unnormalised) weights. */
function sampler(weights: number[]): (r: () => number) => number {
  const total = weights.reduce((a, b) => a + b, 0);
  const cumulative: number[] = [];
  let acc = 0;
  for (const w of weights) cumulative.push((acc += w / total));
  return (r) => {
    const u = r();
    let i = 0;
    while (i < cumulative.length - 1 && u >= (cumulative[i] as number)) i++;
    return i;
  };
}

interface Data {
  ref: Float64Array[];
  cur: Float64Array[];
  /** Category codes (indexes into the feature's labels). */
  refCodes: Uint8Array[];
  curCodes: Uint8Array[];
}

function generate(): Data {
  const r = rng(20240611);
  const ref = NUMERIC.map((f) => Float64Array.from({ length: ROWS }, () => f.ref(r)));
  const cur = NUMERIC.map((f) => Float64Array.from({ length: ROWS }, () => f.cur(r)));
  const codes = (weights: (f: (typeof CATEGORICAL)[number]) => number[]) =>
    CATEGORICAL.map((f) => {
      const draw = sampler(weights(f));
      return Uint8Array.from({ length: ROWS }, () => draw(r));
    });
  return { ref, cur, refCodes: codes((f) => f.ref), curCodes: codes((f) => f.cur) };
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

const fmtMs = (ms: number | undefined): string => (ms === undefined ? '-' : ms.toFixed(0));

/** The venv's python: built from hack/requirements-drift.txt on first use. */
async function venvPython(): Promise<string> {
  const requirements = join(ROOT, 'hack', 'requirements-drift.txt');
  process.stdout.write(`preparing the Python venv (${requirements})... `);
  const python = await ensurePythonVenv({ name: 'bench-drift', purpose: 'the Python peers of bench:drift', requirements: [requirements] }, (l) => process.stdout.write(`\n  ${l}\n`));
  console.log('ok');
  return python;
}

/** Runs hack/bench-drift.py for one peer on the data in `dir`; its JSON answer. */
function runPython<T>(python: string, dir: string, peer: Comparison): T {
  const script = join(ROOT, 'hack', 'bench-drift.py');
  // A fixed hash seed: Evidently orders categories by iterating a Python set, so the sums' order (last bits) stays put.
  const r = spawnSync(python, [script, '--data', dir, '--peer', peer, '--reps', String(REPS)], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
    maxBuffer: 64 * 1024 * 1024,
    env: { ...process.env, PYTHONHASHSEED: '0', PYTHONDONTWRITEBYTECODE: '1' },
  });
  if (r.error) throw new Error(`${python} did not run: ${r.error.message}`);
  if (r.status !== 0) throw new Error(`hack/bench-drift.py --peer ${peer} exited ${r.status}`);
  return JSON.parse(r.stdout) as T;
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

// ---------------------------------------------------------------------------
// scipy/numpy: the statistics alone on the numeric features.

interface ScipyResult {
  versions: Record<string, string>;
  ms: Record<string, number>;
  values: Record<string, number[]>;
}

function compareScipy(data: Data, python: string | undefined, dir: string | undefined): void {
  const { ref, cur } = data;
  // Each row times the whole per-feature job from raw columns, sorting included, like scipy's calls.
  const ks = bestOf(() => ref.map((r, i) => ks2samp(sortedSample(r).values, sortedSample(cur[i] as Float64Array).values).pValue));
  const psiRun = bestOf(() => ref.map((r, i) => psi(numericShares(r, cur[i] as Float64Array))));
  const w = bestOf(() => ref.map((r, i) => wassersteinNormed(sortedSample(r).values, sortedSample(cur[i] as Float64Array).values)));
  // What a drift check with all three runs: one sort per sample shared by KS and Wasserstein.
  const all = bestOf(() =>
    ref.map((r, i) => {
      const a = sortedSample(r).values;
      const b = sortedSample(cur[i] as Float64Array).values;
      return [ks2samp(a, b).pValue, psi(numericShares(a, b)), wassersteinNormed(a, b)];
    }),
  );
  let p: ScipyResult | undefined;
  if (python && dir) {
    process.stdout.write('running hack/bench-drift.py --peer scipy on the same data...\n');
    p = runPython<ScipyResult>(python, dir, 'scipy');
  }
  const ratio = (ours: number, theirs: number | undefined): string => (theirs === undefined ? '-' : (ours / theirs).toFixed(2));
  const pyAll = p ? (p.ms.ks ?? 0) + (p.ms.psi ?? 0) + (p.ms.wasserstein ?? 0) : undefined;
  const rows: [string, number, number | undefined][] = [
    ['KS (ks_2samp)', ks.ms, p?.ms.ks],
    ['PSI', psiRun.ms, p?.ms.psi],
    ['Wasserstein (normed)', w.ms, p?.ms.wasserstein],
    ['all three', all.ms, pyAll],
  ];
  const out = [
    '',
    `scipy/numpy: ${ROWS.toLocaleString('en')} rows x ${NUMERIC.length} numeric features, reference and current; best of ${REPS}, ms for all features`,
    `node ${process.version}${p ? `; ${Object.entries(p.versions).map(([k, v]) => `${k} ${v}`).join(', ')}` : '; python: skipped (--no-python)'}`,
    '',
    `${'method'.padEnd(22)}${'fluxora'.padStart(10)}${'scipy/numpy'.padStart(13)}${'fluxora/scipy'.padStart(15)}`,
    ...rows.map(([name, ours, scipy]) => `${name.padEnd(22)}${fmtMs(ours).padStart(10)}${fmtMs(scipy).padStart(13)}${ratio(ours, scipy).padStart(15)}`),
    '',
    'fluxora rows include dropping missing values and sorting; "all three" sorts each sample once for KS and',
    'Wasserstein (scipy: the three calls added up). PSI bins without sorting.',
  ];
  if (p) {
    out.push(
      `agreement (max relative difference over features): KS p ${maxRelDiff(ks.result, p.values.ks ?? []).toExponential(1)}, ` +
        `PSI ${maxRelDiff(psiRun.result, p.values.psi ?? []).toExponential(1)}, ` +
        `Wasserstein ${maxRelDiff(w.result, p.values.wasserstein ?? []).toExponential(1)}`,
    );
  }
  console.log(out.join('\n'));
}

// ---------------------------------------------------------------------------
// Evidently: every 1:1 method on every feature, scores and verdicts compared.

interface Pair {
  feature: string;
  type: FeatureType;
  method: DriftMethod;
  threshold: number;
}

interface EvidentlyResult {
  versions: Record<string, string>;
  /** Per method (ours), and `report`: the whole Report. */
  ms: Record<string, number>;
  /** Per pair: [drift_score, drifted], as its stattest returns them. */
  values: [number, boolean][];
  /** Per pair: the Report's ValueDrift value. */
  report_values: number[];
}

/** What Evidently reports as a feature's drift score: the p-value for the tests, else the distance. */
const evidentlyScore = (f: FeatureDrift) => f.pValue ?? f.score;

function agrees(ours: number, theirs: number): boolean {
  if (ours === theirs) return true; // +Infinity, 0
  const d = Math.abs(ours - theirs);
  return d <= ABS_TOLERANCE || d <= REL_TOLERANCE * Math.max(Math.abs(ours), Math.abs(theirs));
}

const fmtScore = (v: number) => (v === 0 || !Number.isFinite(v) ? String(v) : Math.abs(v) < 1e-3 || Math.abs(v) >= 1e6 ? v.toExponential(6) : v.toPrecision(7));

/** Every feature with every method of its type, at the method's default threshold (the same in both). */
const PAIRS: Pair[] = [
  ...NUMERIC.flatMap((f) => METHODS.numeric.map((method) => ({ feature: f.name, type: 'numeric' as const, method, threshold: DEFAULT_THRESHOLDS[method] }))),
  ...CATEGORICAL.flatMap((f) => METHODS.categorical.map((method) => ({ feature: f.name, type: 'categorical' as const, method, threshold: DEFAULT_THRESHOLDS[method] }))),
];

/** Returns false when a score or verdict disagrees (the run then fails). */
function compareEvidently(data: Data, python: string | undefined, dir: string | undefined): boolean {
  const pairs = PAIRS;
  // Categorical columns as a check reads them from a file: one string per row.
  const columns = (numeric: Float64Array[], codes: Uint8Array[]) =>
    new Map<string, Float64Array | string[]>([
      ...NUMERIC.map((f, i) => [f.name, numeric[i] as Float64Array] as const),
      ...CATEGORICAL.map((f, i) => [f.name, Array.from(codes[i] as Uint8Array, (c) => f.labels[c] as string)] as const),
    ]);
  const reference = columns(data.ref, data.refCodes);
  const current = columns(data.cur, data.curCodes);

  // Per method, every feature it applies to, as a drift check runs it: featureDrift from the raw columns.
  const ours: FeatureDrift[] = new Array<FeatureDrift>(pairs.length);
  const oursMs: Record<string, number> = {};
  for (const method of new Set(pairs.map((p) => p.method))) {
    const idx = pairs.flatMap((p, i) => (p.method === method ? [i] : []));
    const run = bestOf(() => idx.map((i) => featureDrift({ name: pairs[i]!.feature, type: pairs[i]!.type, method, threshold: pairs[i]!.threshold }, reference.get(pairs[i]!.feature)!, current.get(pairs[i]!.feature)!)));
    oursMs[method] = run.ms;
    idx.forEach((i, k) => (ours[i] = run.result[k] as FeatureDrift));
  }

  let ev: EvidentlyResult | undefined;
  if (python && dir) {
    process.stdout.write('running hack/bench-drift.py --peer evidently on the same data (its stattests, then one Report)...\n');
    ev = runPython<EvidentlyResult>(python, dir, 'evidently');
  }

  const out: string[] = [
    '',
    `Evidently: ${ROWS.toLocaleString('en')} rows x ${NUMERIC.length} numeric + ${CATEGORICAL.length} categorical features, reference and current; ` +
      `every method both define the same way, at its default threshold; best of ${REPS}`,
    `node ${process.version}${ev ? `; ${Object.entries(ev.versions).map(([k, v]) => `${k} ${v}`).join(', ')}` : '; python: skipped (--no-python)'}`,
    `scores: the p-value for ks, chisquare and zscore (Evidently's "z"), else the distance; agree: same verdict and within ${REL_TOLERANCE} relative (or ${ABS_TOLERANCE} absolute)`,
    '',
    `${'feature'.padEnd(20)}${'type'.padEnd(12)}${'method'.padEnd(14)}${'fluxora'.padStart(15)}${'evidently'.padStart(15)}${'drifted f/e'.padStart(13)}${'report'.padStart(15)}  agree`,
  ];
  let disagreements = 0;
  pairs.forEach((p, i) => {
    const f = ours[i] as FeatureDrift;
    const mine = evidentlyScore(f);
    const theirs = ev?.values[i];
    const report = ev?.report_values[i];
    const yn = (b: boolean) => (b ? 'yes' : 'no');
    let agree = '-';
    if (theirs) {
      const ok = theirs[1] === f.drifted && agrees(mine, theirs[0]) && (report === undefined || agrees(mine, report));
      if (!ok) disagreements++;
      agree = ok ? 'yes' : 'NO';
    }
    out.push(
      `${p.feature.padEnd(20)}${p.type.padEnd(12)}${p.method.padEnd(14)}${fmtScore(mine).padStart(15)}${(theirs ? fmtScore(theirs[0]) : '-').padStart(15)}` +
        `${`${yn(f.drifted)}/${theirs ? yn(theirs[1]) : '-'}`.padStart(13)}${(report === undefined ? '-' : fmtScore(report)).padStart(15)}  ${agree}`,
    );
  });

  const total = Object.values(oursMs).reduce((a, b) => a + b, 0);
  const evTotal = ev ? [...new Set(pairs.map((p) => p.method))].reduce((a, m) => a + (ev.ms[m] ?? 0), 0) : undefined;
  const speed = (theirs: number | undefined, mine: number) => (theirs === undefined ? '-' : `${(theirs / mine).toFixed(1)}x`);
  out.push(
    '',
    `${'method'.padEnd(16)}${'features'.padStart(9)}${'fluxora ms'.padStart(12)}${'Evidently ms'.padStart(14)}${'fluxora faster'.padStart(16)}`,
    ...[...new Set(pairs.map((p) => p.method))].map((m) => {
      const n = pairs.filter((p) => p.method === m).length;
      return `${m.padEnd(16)}${String(n).padStart(9)}${fmtMs(oursMs[m]).padStart(12)}${fmtMs(ev?.ms[m]).padStart(14)}${speed(ev?.ms[m], oursMs[m] as number).padStart(16)}`;
    }),
    `${'all (stattests)'.padEnd(16)}${String(pairs.length).padStart(9)}${fmtMs(total).padStart(12)}${fmtMs(evTotal).padStart(14)}${speed(evTotal, total).padStart(16)}`,
    `${'all (Report)'.padEnd(16)}${String(pairs.length).padStart(9)}${fmtMs(total).padStart(12)}${fmtMs(ev?.ms.report).padStart(14)}${speed(ev?.ms.report, total).padStart(16)}`,
    '',
    'fluxora: featureDrift per feature and method from the raw columns (missing values dropped, sorted or counted each time);',
    "Evidently: its stattests on pandas Series one column at a time, and the same checks as one Report of ValueDrift metrics",
    '(the Report also builds what it shows besides the scores). Data loading is outside every timing.',
    '',
    `targets (a MISS is reported, not a failure; a disagreement fails the run)`,
  );
  if (!ev) out.push('  n/a (no Evidently run)');
  else {
    const ratio = (evTotal as number) / total;
    out.push(`  fluxora >= ${TARGET_SPEEDUP}x faster than Evidently's stattests, all ${pairs.length} checks   ${ratio >= TARGET_SPEEDUP ? 'PASS' : 'MISS'}  ${ratio.toFixed(1)}x`);
    out.push(`  every score and verdict agrees with Evidently's                    ${disagreements === 0 ? 'PASS' : 'FAIL'}  ${pairs.length - disagreements} of ${pairs.length}`);
  }
  console.log(out.join('\n'));
  return disagreements === 0;
}

// ---------------------------------------------------------------------------

async function main(): Promise<number> {
  process.stdout.write(`generating ${ROWS.toLocaleString('en')} rows x ${NUMERIC.length} numeric + ${CATEGORICAL.length} categorical features (reference and current)...\n`);
  const data = generate();
  const python = args['no-python'] ? undefined : await venvPython();
  let dir: string | undefined;
  let ok = true;
  try {
    if (python) {
      dir = mkdtempSync(join(tmpdir(), 'fluxora-bench-drift-'));
      const cat = (cols: ArrayBufferView[]): Buffer => Buffer.concat(cols.map((c) => Buffer.from(c.buffer, c.byteOffset, c.byteLength)));
      writeFileSync(join(dir, 'reference.f64'), cat(data.ref));
      writeFileSync(join(dir, 'current.f64'), cat(data.cur));
      writeFileSync(join(dir, 'reference.cat.u8'), cat(data.refCodes));
      writeFileSync(join(dir, 'current.cat.u8'), cat(data.curCodes));
      const meta = { rows: ROWS, numeric: NUMERIC.map((f) => f.name), categorical: CATEGORICAL.map((f) => ({ name: f.name, labels: f.labels })), pairs: PAIRS };
      writeFileSync(join(dir, 'meta.json'), JSON.stringify(meta));
      console.log(`python: ${execFileSync(python, ['--version'], { encoding: 'utf8' }).trim()} (${python})`);
    }
    if (runs('scipy')) compareScipy(data, python, dir);
    if (runs('evidently')) ok = compareEvidently(data, python, dir);
  } finally {
    if (dir) rmSync(dir, { recursive: true, force: true });
  }
  return ok ? 0 : 1;
}

process.exitCode = await main();
