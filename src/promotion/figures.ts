// What serving pods measure for promotion analysis, and how the operator asks
// for it. The serving side (src/serving) fills these; the operator
// (src/controllers/model) reads them from each pod's admin port, sums them by
// version and decides (src/promotion/analysis.ts). Kept apart so neither side
// loads the other's code.
//
// Figures are counted per *analysis*: the operator sends every pod of the
// Model (champion and candidate) an analysis id; a pod that gets a new id
// starts its counters from zero. So a figure never mixes traffic from before
// the candidate existed, a pod that restarts simply counts again from the
// next time it is told the id, and an operator that restarts (kill -9) reads
// the same counters the pods kept: nothing is lost and nothing counts twice.

/** PUT (bearer token, JSON PromotionConfig) and GET (bearer token, JSON PodFigures) on the admin port. */
export const promotionPath = (model: string): string => `/v2/models/${encodeURIComponent(model)}/promotion`;

/** Upper bounds (ms) of the latency histogram buckets; one more bucket counts everything above the last. */
export const LATENCY_BUCKETS_MS: readonly number[] = [
  0.5, 1, 2, 3, 5, 7.5, 10, 15, 20, 30, 50, 75, 100, 150, 200, 300, 500, 750, 1000, 2000, 5000, 10000,
];

/** Most output values a pod keeps per version and analysis (a uniform reservoir sample). */
export const OUTPUT_RESERVOIR_SIZE = 2000;

/** What the operator tells a pod. An empty analysis id ends the analysis: counters stop, mirroring stops. */
export interface PromotionConfig {
  /** Changes when a new analysis (a new candidate, a canary step, a guard window) starts: counters restart at zero. */
  analysis: string;
  /** Champion pods in Shadow: send this share of requests, asynchronously, to the candidate too. */
  mirror?: {
    /** Base URL of the candidate's Service, e.g. http://churn-candidate.ns.svc:8080 */
    url: string;
    /** The candidate's version name, as it answers in model_version. */
    version: string;
    /** 1..100: the share of inference requests mirrored. */
    percent: number;
  };
  /**
   * Canary: while set, the pod closes each keep-alive connection opened
   * before the step, or open for more than a few seconds, after its next
   * answer, so clients keep reconnecting and the Service spreads them over
   * the candidate's pods too. Without it, a client's long-lived connections
   * stay on the champion's pods and the candidate gets no share.
   */
  rebalance?: boolean;
}

/** Counts of one version's own traffic, in one pod, since the analysis began. */
export interface TrafficFigures {
  /** Inference requests answered (2xx + 5xx); 4xx are the client's fault and not counted. */
  requests: number;
  /** Of those, answered with 5xx (the model or server failed). */
  errors: number;
  /** Latency of the requests counted, per LATENCY_BUCKETS_MS bucket (length LATENCY_BUCKETS_MS.length + 1). */
  latencyBuckets: number[];
  /** A uniform sample (at most OUTPUT_RESERVOIR_SIZE) of per-row output values: see outputValue. */
  outputs: number[];
  /** How many output values the sample was drawn from. */
  outputsSeen: number;
}

/** What a champion pod measured by mirroring its own requests to the candidate (Shadow). */
export interface MirrorFigures {
  version: string;
  /** Requests chosen for mirroring. */
  mirrored: number;
  /** Chosen but not sent: too many mirror requests already in flight (the champion's answers come first). */
  skipped: number;
  /**
   * Sent and failed: the candidate answered other than 2xx, timed out or could
   * not be reached, or its answer cannot be compared (another model_version
   * than `version`, another shape of the first output).
   */
  candidateErrors: number;
  /** Pairs where both answered: the rows compared below. */
  compared: number;
  /** Rows compared, and of those, rows whose class label (see outputLabel) was the same. */
  rows: number;
  agreedRows: number;
  /** Sum and max of the mean absolute difference of a row's output values, over rows. */
  sumAbsDiff: number;
  maxAbsDiff: number;
  /** Latency of the mirrored requests at the candidate, and of the same requests at the champion. */
  candidateLatencyBuckets: number[];
  championLatencyBuckets: number[];
  /** Output samples of the compared rows: the candidate's and the champion's. */
  candidateOutputs: number[];
  championOutputs: number[];
  /**
   * How many compared rows the two samples were drawn from (rows with finite
   * values on both sides); both samples hold the same rows, index i of one
   * pairs with index i of the other. Weights a fair merge, like outputsSeen of TrafficFigures.
   */
  outputsSeen: number;
}

/** GET promotionPath: one pod's figures (all workers of the pod summed). */
export interface PodFigures {
  /** The analysis the counters belong to ('' when none was set since the pod started). */
  analysis: string;
  /** The version this pod serves. */
  version: string;
  /** SHA-256 (hex) of the artifact the pod loaded. */
  artifactSha256?: string;
  traffic: TrafficFigures;
  mirror?: MirrorFigures;
}

/**
 * The value of one output row that the output distribution is made of: the
 * row's single value, or, for a row of several values (class
 * probabilities), the index of the largest.
 */
export function outputValue(row: ArrayLike<number>): number {
  if (row.length === 1) return Number(row[0]);
  return outputLabel(row);
}

/**
 * A row's class label: for one value, the value rounded (a probability at or
 * above 0.5 is class 1; an integer class stays itself); for several, the index
 * of the largest (first on ties).
 */
export function outputLabel(row: ArrayLike<number>): number {
  if (row.length === 1) return Math.round(Number(row[0]));
  let best = 0;
  for (let i = 1; i < row.length; i++) if (Number(row[i]) > Number(row[best])) best = i;
  return best;
}
