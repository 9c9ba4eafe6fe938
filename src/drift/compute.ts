// computeDrift: one report for a set of features, each judged by its own
// method and threshold, and the data-set verdict (Evidently's
// `get_dataset_drift`: drifted share >= datasetDriftShare).
import { sortFloat64 } from './radix-sort.js';
import { categoryShares, countsOf, numericShares, type CategoryCounts, type CategoryKey } from './binning.js';
import { chiSquare } from './chisquare.js';
import { DriftInputError } from './errors.js';
import { jensenShannon } from './jensen-shannon.js';
import { ks2samp } from './ks.js';
import { psi } from './psi.js';
import { countDistinctUpTo, finiteValues } from './sample.js';
import {
  AUTO_FEW_VALUES,
  autoProcedure,
  defaultThreshold,
  explicitProcedure,
  isDrifted,
  isPValueTest,
  type Procedure,
} from './select.js';
import { wassersteinNormed } from './wasserstein.js';
import { meanShift, proportionsZTest } from './zscore.js';
import type { Column, DriftInput, DriftReport, FeatureDrift, FeatureSpec, Table } from './types.js';
import { DRIFT_METHODS } from './types.js';

export const DEFAULT_DATASET_DRIFT_SHARE = 0.5;

function column(table: Table, name: string): Column | undefined {
  if (table instanceof Map) return (table as ReadonlyMap<string, Column>).get(name);
  const record = table as Readonly<Record<string, Column>>;
  return Object.hasOwn(record, name) ? record[name] : undefined;
}

function requireColumn(table: Table, name: string, side: 'reference' | 'current'): Column {
  const col = column(table, name);
  if (col === undefined) throw new DriftInputError('MissingColumn', `${side} data has no column "${name}"`, name);
  return col;
}

function numericValues(col: Column, name: string, side: string): ArrayLike<number> {
  if (col instanceof Float64Array) return col;
  for (let i = 0; i < col.length; i++) {
    const v = col[i];
    if (typeof v !== 'number' && v !== null && v !== undefined) {
      throw new DriftInputError(
        'WrongColumnType',
        `feature "${name}" is numeric but ${side} row ${i} holds ${JSON.stringify(v)}`,
        name,
      );
    }
  }
  // null/undefined become NaN: missing, dropped like NaN.
  return Float64Array.from(col, (v) => (typeof v === 'number' ? v : NaN));
}

/** Category counts of a column, missing values (null, undefined, NaN) left out. */
export function categoryCounts(col: Column): CategoryCounts {
  const counts = new Map<CategoryKey, number>();
  let n = 0;
  for (let i = 0; i < col.length; i++) {
    const v = col[i];
    if (v === null || v === undefined || (typeof v === 'number' && !Number.isFinite(v))) continue;
    const key = v === 0 ? 0 : v; // -0 and 0 are one category
    counts.set(key, (counts.get(key) ?? 0) + 1);
    n++;
  }
  return { counts, n };
}

function distinctUnion(a: CategoryCounts, b: CategoryCounts): number {
  const keys = new Set<CategoryKey>(a.counts.keys());
  for (const k of b.counts.keys()) keys.add(k);
  return keys.size;
}

function emptyError(name: string, side: string): DriftInputError {
  return new DriftInputError('EmptySample', `feature "${name}": the ${side} data has no values (all missing or no rows)`, name);
}

function validateSpec(spec: FeatureSpec): void {
  if (spec.type !== 'numeric' && spec.type !== 'categorical') {
    throw new DriftInputError('InvalidSpec', `feature "${spec.name}": type must be numeric or categorical`, spec.name);
  }
  const method = spec.method ?? 'auto';
  if (method !== 'auto' && !(DRIFT_METHODS as readonly string[]).includes(method)) {
    throw new DriftInputError(
      'InvalidSpec',
      `feature "${spec.name}": unknown method "${String(method)}" (auto, ${DRIFT_METHODS.join(', ')})`,
      spec.name,
    );
  }
  if (spec.threshold !== undefined && !(Number.isFinite(spec.threshold) && spec.threshold >= 0)) {
    throw new DriftInputError('InvalidSpec', `feature "${spec.name}": threshold must be a number >= 0`, spec.name);
  }
}

interface Scored {
  score: number;
  pValue?: number;
}

/** The drift of one feature. */
export function featureDrift(spec: FeatureSpec, reference: Column, current: Column): FeatureDrift {
  validateSpec(spec);
  const { name, type } = spec;
  const choice = spec.method ?? 'auto';
  let procedure: Procedure;
  let scored: Scored;
  let referenceCount: number;
  let currentCount: number;

  if (type === 'numeric') {
    // Fresh copies without missing values; the methods that need order sort them in place.
    const ref = finiteValues(numericValues(reference, name, 'reference'));
    const cur = finiteValues(numericValues(current, name, 'current'));
    if (ref.length === 0) throw emptyError(name, 'reference');
    if (cur.length === 0) throw emptyError(name, 'current');
    referenceCount = ref.length;
    currentCount = cur.length;
    procedure =
      choice === 'auto'
        ? autoProcedure(type, ref.length, countDistinctUpTo(AUTO_FEW_VALUES, ref, cur))
        : explicitProcedure(name, type, choice);
    if (procedure.on === 'categories') {
      scored = scoreCategories(procedure, countsOf(ref), countsOf(cur));
    } else {
      scored = scoreNumeric(procedure.method, ref, cur);
    }
  } else {
    const ref = categoryCounts(reference);
    const cur = categoryCounts(current);
    if (ref.n === 0) throw emptyError(name, 'reference');
    if (cur.n === 0) throw emptyError(name, 'current');
    referenceCount = ref.n;
    currentCount = cur.n;
    procedure = choice === 'auto' ? autoProcedure(type, ref.n, distinctUnion(ref, cur)) : explicitProcedure(name, type, choice);
    scored = scoreCategories(procedure, ref, cur);
  }

  const threshold = spec.threshold ?? defaultThreshold(procedure);
  const judged = isPValueTest(procedure) ? (scored.pValue as number) : scored.score;
  const result: FeatureDrift = {
    name,
    type,
    method: procedure.method,
    score: scored.score,
    ...(scored.pValue !== undefined ? { pValue: scored.pValue } : {}),
    threshold,
    drifted: isDrifted(procedure, judged, threshold),
    referenceCount,
    currentCount,
  };
  return result;
}

/** KS and Wasserstein walk sorted samples; the binned and moment methods take any order. */
function scoreNumeric(method: Procedure['method'], ref: Float64Array, cur: Float64Array): Scored {
  switch (method) {
    case 'ks': {
      const r = ks2samp(sortFloat64(ref), sortFloat64(cur));
      return { score: r.statistic, pValue: r.pValue };
    }
    case 'wasserstein':
      return { score: wassersteinNormed(sortFloat64(ref), sortFloat64(cur)) };
    case 'psi':
      return { score: psi(numericShares(ref, cur)) };
    case 'jensenshannon':
      return { score: jensenShannon(numericShares(ref, cur)) };
    case 'zscore':
      return { score: meanShift(ref, cur) };
    case 'chisquare':
      throw new Error('unreachable: chisquare on numbers');
  }
}

function scoreCategories(procedure: Procedure, ref: CategoryCounts, cur: CategoryCounts): Scored {
  switch (procedure.method) {
    case 'chisquare': {
      const r = chiSquare(ref, cur);
      return { score: r.statistic, pValue: r.pValue };
    }
    case 'zscore': {
      const r = proportionsZTest(ref, cur);
      return { score: r.statistic, pValue: r.pValue };
    }
    case 'psi':
      return { score: psi(categoryShares(ref, cur)) };
    case 'jensenshannon':
      return { score: jensenShannon(categoryShares(ref, cur)) };
    default:
      throw new Error(`unreachable: ${procedure.method} on categories`);
  }
}

export function computeDrift(input: DriftInput): DriftReport {
  const share = input.datasetDriftShare ?? DEFAULT_DATASET_DRIFT_SHARE;
  if (!(Number.isFinite(share) && share >= 0 && share <= 1)) {
    throw new DriftInputError('InvalidSpec', 'datasetDriftShare must be between 0 and 1');
  }
  if (input.features.length === 0) throw new DriftInputError('InvalidSpec', 'no features to check');
  const seen = new Set<string>();
  for (const f of input.features) {
    if (seen.has(f.name)) throw new DriftInputError('InvalidSpec', `feature "${f.name}" is listed twice`, f.name);
    seen.add(f.name);
  }
  const features = input.features.map((spec) =>
    featureDrift(spec, requireColumn(input.reference, spec.name, 'reference'), requireColumn(input.current, spec.name, 'current')),
  );
  const driftedCount = features.filter((f) => f.drifted).length;
  const driftShare = driftedCount / features.length;
  return { features, driftShare, driftedCount, datasetDrift: driftShare >= share, datasetDriftShare: share };
}
