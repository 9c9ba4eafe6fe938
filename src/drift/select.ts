// Which method a feature gets and what "drifted" means for it, following
// Evidently's defaults (legacy stattests/registry.py `_get_default_stattest`
// and each stattest's `default_threshold` and comparison).
import { DriftInputError } from './errors.js';
import type { DriftMethod, DriftMethodChoice, FeatureType } from './types.js';

/** Evidently's default thresholds; numeric zscore (ours) uses the distances' 0.1. */
export const DEFAULT_THRESHOLDS: Readonly<Record<DriftMethod, number>> = {
  ks: 0.05,
  chisquare: 0.05,
  zscore: 0.05,
  psi: 0.1,
  jensenshannon: 0.1,
  wasserstein: 0.1,
};
export const NUMERIC_ZSCORE_DEFAULT_THRESHOLD = 0.1;

/** Evidently: up to this many reference rows the p-value tests are chosen, above it the distances. */
export const AUTO_SMALL_REFERENCE = 1000;
/** Evidently: a numeric feature with at most this many distinct values (both samples) is treated as categorical. */
export const AUTO_FEW_VALUES = 5;

/**
 * How a method runs on a feature: on sorted numbers, or on category counts
 * (categorical features, and numeric ones auto treats as categorical).
 */
export type Procedure =
  | { method: 'ks' | 'wasserstein' | 'psi' | 'jensenshannon'; on: 'numeric' }
  | { method: 'zscore'; on: 'numeric' } // mean shift
  | { method: 'chisquare' | 'zscore' | 'psi' | 'jensenshannon'; on: 'categories' };

/** Evidently's `_get_default_stattest` for numeric and categorical columns. */
export function autoProcedure(type: FeatureType, referenceSize: number, distinctValues: number): Procedure {
  const small = referenceSize <= AUTO_SMALL_REFERENCE;
  if (type === 'numeric') {
    if (distinctValues <= AUTO_FEW_VALUES) {
      if (!small) return { method: 'jensenshannon', on: 'numeric' };
      return { method: distinctValues > 2 ? 'chisquare' : 'zscore', on: 'categories' };
    }
    return small ? { method: 'ks', on: 'numeric' } : { method: 'wasserstein', on: 'numeric' };
  }
  if (!small) return { method: 'jensenshannon', on: 'categories' };
  return { method: distinctValues > 2 ? 'chisquare' : 'zscore', on: 'categories' };
}

/** An explicitly chosen method, refused where it does not apply (Evidently refuses the same pairs). */
export function explicitProcedure(name: string, type: FeatureType, method: Exclude<DriftMethodChoice, 'auto'>): Procedure {
  if (type === 'numeric') {
    if (method === 'chisquare') {
      throw new DriftInputError('InvalidSpec', `feature "${name}": method chisquare needs a categorical feature`, name);
    }
    return { method, on: 'numeric' };
  }
  if (method === 'ks' || method === 'wasserstein') {
    throw new DriftInputError('InvalidSpec', `feature "${name}": method ${method} needs a numeric feature`, name);
  }
  return { method, on: 'categories' };
}

/** Whether a procedure's verdict is on a p-value (else on a distance). */
export function isPValueTest(p: Procedure): boolean {
  return p.method === 'ks' || p.method === 'chisquare' || (p.method === 'zscore' && p.on === 'categories');
}

export function defaultThreshold(p: Procedure): number {
  return p.method === 'zscore' && p.on === 'numeric' ? NUMERIC_ZSCORE_DEFAULT_THRESHOLD : DEFAULT_THRESHOLDS[p.method];
}

/**
 * Evidently's comparisons: ks drifts at p <= threshold, chisquare and z at
 * p < threshold, every distance at score >= threshold.
 */
export function isDrifted(p: Procedure, value: number, threshold: number): boolean {
  if (p.method === 'ks') return value <= threshold;
  if (isPValueTest(p)) return value < threshold;
  return value >= threshold;
}
