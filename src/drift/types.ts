// Public types of the drift engine. The method names are the API's
// (src/api/drift-monitor.ts DRIFT_METHODS; a unit test keeps them equal) so a
// report maps straight onto a DriftMonitor's status.

import type { ColumnType } from '../table/index.js';

/** A feature's type is its column's type in a data file (src/table/). */
export type FeatureType = ColumnType;

export const DRIFT_METHODS = ['ks', 'psi', 'jensenshannon', 'wasserstein', 'chisquare', 'zscore'] as const;
export type DriftMethod = (typeof DRIFT_METHODS)[number];
export type DriftMethodChoice = DriftMethod | 'auto';

export interface FeatureSpec {
  readonly name: string;
  readonly type: FeatureType;
  /** Default 'auto': chosen from the type, the distinct values and the reference size, as Evidently does. */
  readonly method?: DriftMethodChoice;
  /** Default: the method's (see DEFAULT_THRESHOLDS). */
  readonly threshold?: number;
}

/**
 * One column. Numeric features take numbers (NaN and ±Infinity count as
 * missing); categorical features take labels (null/undefined count as
 * missing; numbers are categories compared numerically).
 */
export type Column = Float64Array | readonly (number | string | null | undefined)[];

/** Columns by name: a Map, or a plain object of columns. */
export type Table = ReadonlyMap<string, Column> | Readonly<Record<string, Column>>;

export interface DriftInput {
  readonly reference: Table;
  readonly current: Table;
  readonly features: readonly FeatureSpec[];
  /** Share of drifted features (0 to 1) at or above which the data set counts as drifted. Default 0.5. */
  readonly datasetDriftShare?: number;
}

export interface FeatureDrift {
  readonly name: string;
  readonly type: FeatureType;
  /** The method used ('auto' resolved). */
  readonly method: DriftMethod;
  /**
   * The test statistic for the tests (ks: D; chisquare: chi-square, +Infinity
   * when the current data has a category the reference lacks; categorical
   * zscore: |z|), the distance for the others.
   */
  readonly score: number;
  /** Present for the tests (ks, chisquare, categorical zscore), whose verdict is on the p-value. */
  readonly pValue?: number;
  readonly threshold: number;
  readonly drifted: boolean;
  /** Values used after dropping missing ones. */
  readonly referenceCount: number;
  readonly currentCount: number;
}

export interface DriftReport {
  readonly features: readonly FeatureDrift[];
  /** driftedCount / features.length. */
  readonly driftShare: number;
  readonly driftedCount: number;
  /** driftShare >= datasetDriftShare. */
  readonly datasetDrift: boolean;
  readonly datasetDriftShare: number;
}
