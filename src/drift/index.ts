// The drift engine's public surface. Everything runs on typed arrays in
// process; reading data from object stores is the storage layer's job.
export { computeDrift, featureDrift, DEFAULT_DATASET_DRIFT_SHARE } from './compute.js';
export { DEFAULT_THRESHOLDS, NUMERIC_ZSCORE_DEFAULT_THRESHOLD, AUTO_SMALL_REFERENCE, AUTO_FEW_VALUES } from './select.js';
export { DriftInputError, type DriftInputErrorCode } from './errors.js';
export { ks2samp, ksStatistic, KS_EXACT_MAX_N, type KsResult } from './ks.js';
export { kstwoSf } from './kolmogorov.js';
export { finiteValues, sortedSample, type SortedSample } from './sample.js';
export { numericShares, categoryShares, type BinnedShares, type CategoryCounts, type CategoryKey } from './binning.js';
export { psi } from './psi.js';
export { jensenShannon } from './jensen-shannon.js';
export { wassersteinDistance, wassersteinNormed } from './wasserstein.js';
export { chiSquare, type ChiSquareResult } from './chisquare.js';
export { proportionsZTest, meanShift, type ProportionsZResult } from './zscore.js';
export {
  DRIFT_METHODS,
  type Column,
  type DriftInput,
  type DriftMethod,
  type DriftMethodChoice,
  type DriftReport,
  type FeatureDrift,
  type FeatureSpec,
  type FeatureType,
  type Table,
} from './types.js';
