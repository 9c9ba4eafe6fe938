// The counters behind one process's promotion figures (src/promotion/figures.ts):
// a latency histogram, uniform reservoir samples of output values, and the
// traffic and mirror tallies built on them; and how the figures of a pod's
// workers are summed into one pod's. Pure arithmetic, no I/O: the recorder
// (promotion.ts) feeds it, the pod's primary (pod.ts) merges it.
import type { HostTensor } from './datatypes.js';
import { LATENCY_BUCKETS_MS, OUTPUT_RESERVOIR_SIZE, outputLabel, outputValue, type MirrorFigures, type PodFigures, type TrafficFigures } from '../promotion/figures.js';

/** Counts per LATENCY_BUCKETS_MS bucket, the last one for everything above the last bound. */
export class LatencyHistogram {
  readonly counts: number[] = new Array<number>(LATENCY_BUCKETS_MS.length + 1).fill(0);

  add(ms: number): void {
    let i = 0;
    // 22 bounds: a linear scan from the low end stops within a few steps for the usual few milliseconds.
    while (i < LATENCY_BUCKETS_MS.length && ms > (LATENCY_BUCKETS_MS[i] as number)) i++;
    (this.counts[i] as number)++;
  }
}

/**
 * A uniform sample (Algorithm R) of at most `cap` tuples of values, kept as
 * parallel columns: a mirror's champion and candidate values of one row stay
 * at the same index, so the two samples remain paired.
 */
export class Reservoir {
  readonly columns: number[][];
  seen = 0;

  constructor(
    columns: number,
    private readonly cap = OUTPUT_RESERVOIR_SIZE,
  ) {
    this.columns = Array.from({ length: columns }, () => []);
  }

  /** One tuple, one value per column. */
  add(...values: number[]): void {
    this.seen++;
    const first = this.columns[0] as number[];
    if (first.length < this.cap) {
      for (let c = 0; c < this.columns.length; c++) (this.columns[c] as number[]).push(values[c] as number);
      return;
    }
    const j = Math.floor(Math.random() * this.seen);
    if (j < this.cap) for (let c = 0; c < this.columns.length; c++) (this.columns[c] as number[])[j] = values[c] as number;
  }
}

/** One part of a merge: parallel columns sampled uniformly from `seen` tuples. */
export interface SamplePart {
  columns: number[][];
  seen: number;
}

/**
 * A uniform sample of at most `cap` tuples of the union of the parts' streams.
 * Each part's columns are a uniform sample of its stream, so taking from part
 * i as many tuples as a draw without replacement from the pooled population
 * gives it (a multivariate hypergeometric allocation), chosen at random among
 * its own, is a uniform sample of the union: a worker that saw ten times the
 * values gets ten times the places, however full each reservoir is.
 */
export function mergeSamples(parts: readonly SamplePart[], columns: number, cap = OUTPUT_RESERVOIR_SIZE): SamplePart {
  const out: number[][] = Array.from({ length: columns }, () => []);
  const seen = parts.reduce((s, p) => s + p.seen, 0);
  // What each part can give: its stream's remaining tuples, but never more than it kept.
  const kept = parts.map((p) => Math.min(p.seen, p.columns[0]?.length ?? 0));
  const remaining = parts.map((p, i) => (kept[i] === 0 ? 0 : p.seen));
  const take = parts.map(() => 0);
  let pool = remaining.reduce((s, n) => s + n, 0);
  const k = Math.min(cap, kept.reduce((s, n) => s + n, 0));
  for (let n = 0; n < k && pool > 0; n++) {
    // Integers throughout: the pick always lands on a part with tuples left.
    let r = Math.floor(Math.random() * pool);
    let i = 0;
    while (r >= (remaining[i] as number)) r -= remaining[i++] as number;
    (take[i] as number)++;
    (remaining[i] as number)--;
    pool--;
    // A part that gave all it kept gives no more (only when its stream outgrew its reservoir past the cap).
    if (take[i] === kept[i]) {
      pool -= remaining[i] as number;
      remaining[i] = 0;
    }
  }
  parts.forEach((p, i) => {
    // A partial Fisher-Yates shuffle of the part's indices: `take[i]` of them at random.
    const idx = Array.from({ length: kept[i] as number }, (_, j) => j);
    for (let j = 0; j < (take[i] as number); j++) {
      const pick = j + Math.floor(Math.random() * (idx.length - j));
      [idx[j], idx[pick]] = [idx[pick] as number, idx[j] as number];
      for (let c = 0; c < columns; c++) (out[c] as number[]).push((p.columns[c] as number[])[idx[j] as number] as number);
    }
  });
  return { columns: out, seen };
}

/** The rows of a tensor's first dimension (a scalar is one row of one value) and the values in each. */
export function rowsOf(t: HostTensor): { rows: number; width: number } {
  if (t.shape.length === 0) return { rows: 1, width: 1 };
  const rows = t.shape[0] as number;
  return { rows, width: rows === 0 ? 0 : t.data.length / rows };
}

/** A numeric tensor's row as numbers (BigInt and BOOL converted); NaN for what is not a number (BYTES). */
function rowView(t: HostTensor, row: number, width: number): ArrayLike<number> {
  const d = t.data;
  if (d instanceof BigInt64Array || d instanceof BigUint64Array || Array.isArray(d)) {
    return Array.from({ length: width }, (_, i) => Number(d[row * width + i]));
  }
  return d.subarray(row * width, (row + 1) * width);
}

function allFinite(row: ArrayLike<number>): boolean {
  for (let i = 0; i < row.length; i++) if (!Number.isFinite(row[i])) return false;
  return true;
}

/** A version's own traffic since the analysis began. */
export class TrafficCounter {
  requests = 0;
  errors = 0;
  readonly latency = new LatencyHistogram();
  readonly outputs = new Reservoir(1);

  /** An answered request: 2xx (with its first output) or 5xx. */
  record(failed: boolean, latencyMs: number, firstOutput: HostTensor | undefined): void {
    this.requests++;
    if (failed) this.errors++;
    this.latency.add(latencyMs);
    if (!firstOutput) return;
    const { rows, width } = rowsOf(firstOutput);
    if (width === 0) return;
    const d = firstOutput.data;
    if (width === 1 && (d instanceof Float32Array || d instanceof Float64Array)) {
      // outputValue of a row of one value is the value: no view per row on the common path.
      for (let r = 0; r < rows; r++) {
        const v = d[r] as number;
        if (Number.isFinite(v)) this.outputs.add(v);
      }
      return;
    }
    for (let r = 0; r < rows; r++) {
      const row = rowView(firstOutput, r, width);
      if (allFinite(row)) this.outputs.add(outputValue(row));
    }
  }

  figures(): TrafficFigures {
    return { requests: this.requests, errors: this.errors, latencyBuckets: [...this.latency.counts], outputs: [...(this.outputs.columns[0] as number[])], outputsSeen: this.outputs.seen };
  }
}

/** The first output of a candidate's answer: its shape and its elements, flat (NaN where not a number). */
export interface CandidateOutput {
  shape: number[];
  data: number[];
}

/** Why a candidate's answer could not be compared, or undefined when it was. */
export type CompareResult = string | undefined;

/** What a champion measured by mirroring its requests to one candidate version. */
export class MirrorCounter {
  mirrored = 0;
  skipped = 0;
  candidateErrors = 0;
  compared = 0;
  rows = 0;
  agreedRows = 0;
  sumAbsDiff = 0;
  maxAbsDiff = 0;
  readonly candidateLatency = new LatencyHistogram();
  readonly championLatency = new LatencyHistogram();
  /** Columns: the candidate's value, the champion's value, of the same row. */
  readonly outputs = new Reservoir(2);

  constructor(readonly version: string) {}

  /**
   * Compares a pair row by row, or counts a candidate error when the answers
   * cannot be compared (another number of rows or of values per row).
   */
  compare(champion: HostTensor, candidate: CandidateOutput, championMs: number, candidateMs: number): CompareResult {
    const a = rowsOf(champion);
    const rows = candidate.shape.length === 0 ? 1 : (candidate.shape[0] as number);
    const width = rows === 0 ? 0 : candidate.data.length / rows;
    if (rows !== a.rows || width !== a.width) {
      this.candidateErrors++;
      return `the candidate's first output has shape [${candidate.shape.join(',')}], the champion's [${champion.shape.join(',')}]`;
    }
    this.compared++;
    this.candidateLatency.add(candidateMs);
    this.championLatency.add(championMs);
    for (let r = 0; r < rows; r++) {
      const mine = rowView(champion, r, width);
      const theirs = candidate.data.slice(r * width, (r + 1) * width);
      this.rows++;
      // A row with a NaN or an infinity on either side cannot agree and has no difference to measure.
      if (!allFinite(mine) || !allFinite(theirs)) continue;
      if (outputLabel(mine) === outputLabel(theirs)) this.agreedRows++;
      let diff = 0;
      for (let i = 0; i < width; i++) diff += Math.abs((mine[i] as number) - (theirs[i] as number));
      diff /= width;
      this.sumAbsDiff += diff;
      if (diff > this.maxAbsDiff) this.maxAbsDiff = diff;
      this.outputs.add(outputValue(theirs), outputValue(mine));
    }
    return undefined;
  }

  figures(): MirrorFigures {
    return {
      version: this.version,
      mirrored: this.mirrored,
      skipped: this.skipped,
      candidateErrors: this.candidateErrors,
      compared: this.compared,
      rows: this.rows,
      agreedRows: this.agreedRows,
      sumAbsDiff: this.sumAbsDiff,
      maxAbsDiff: this.maxAbsDiff,
      candidateLatencyBuckets: [...this.candidateLatency.counts],
      championLatencyBuckets: [...this.championLatency.counts],
      candidateOutputs: [...(this.outputs.columns[0] as number[])],
      championOutputs: [...(this.outputs.columns[1] as number[])],
      outputsSeen: this.outputs.seen,
    };
  }
}

const addBuckets = (a: number[], b: readonly number[]) => a.map((n, i) => n + (b[i] ?? 0));
const emptyBuckets = () => new Array<number>(LATENCY_BUCKETS_MS.length + 1).fill(0);

export function sumTraffic(parts: readonly TrafficFigures[]): TrafficFigures {
  const sample = mergeSamples(
    parts.map((p) => ({ columns: [p.outputs], seen: p.outputsSeen })),
    1,
  );
  return {
    requests: parts.reduce((s, p) => s + p.requests, 0),
    errors: parts.reduce((s, p) => s + p.errors, 0),
    latencyBuckets: parts.reduce((s, p) => addBuckets(s, p.latencyBuckets), emptyBuckets()),
    outputs: sample.columns[0] as number[],
    outputsSeen: sample.seen,
  };
}

export function sumMirror(parts: readonly MirrorFigures[]): MirrorFigures | undefined {
  const first = parts[0];
  if (!first) return undefined;
  const sum = (f: (m: MirrorFigures) => number) => parts.reduce((s, p) => s + f(p), 0);
  const sample = mergeSamples(
    parts.map((p) => ({ columns: [p.candidateOutputs, p.championOutputs], seen: p.outputsSeen })),
    2,
  );
  return {
    version: first.version,
    mirrored: sum((m) => m.mirrored),
    skipped: sum((m) => m.skipped),
    candidateErrors: sum((m) => m.candidateErrors),
    compared: sum((m) => m.compared),
    rows: sum((m) => m.rows),
    agreedRows: sum((m) => m.agreedRows),
    sumAbsDiff: sum((m) => m.sumAbsDiff),
    maxAbsDiff: parts.reduce((s, p) => Math.max(s, p.maxAbsDiff), 0),
    candidateLatencyBuckets: parts.reduce((s, p) => addBuckets(s, p.candidateLatencyBuckets), emptyBuckets()),
    championLatencyBuckets: parts.reduce((s, p) => addBuckets(s, p.championLatencyBuckets), emptyBuckets()),
    candidateOutputs: sample.columns[0] as number[],
    championOutputs: sample.columns[1] as number[],
    outputsSeen: sample.seen,
  };
}

/**
 * The pod's figures from its workers' (each told the same analysis by the
 * primary): counts and histograms summed, samples merged fairly. `analysis`
 * is the one the pod was last told; a worker still on another (a PUT that
 * did not reach it) is left out rather than mixed in.
 */
export function sumPodFigures(parts: readonly PodFigures[], analysis: string, version: string): PodFigures {
  const same = parts.filter((p) => p.analysis === analysis);
  const digests = new Set(parts.map((p) => p.artifactSha256));
  // Workers that loaded different bytes (the object changed between their downloads) have no one digest.
  const digest = digests.size === 1 ? [...digests][0] : undefined;
  const mirrors = same.flatMap((p) => (p.mirror ? [p.mirror] : []));
  const mirror = sumMirror(mirrors.filter((m) => m.version === mirrors[0]?.version));
  return {
    analysis,
    version,
    ...(digest !== undefined ? { artifactSha256: digest } : {}),
    traffic: sumTraffic(same.map((p) => p.traffic)),
    ...(mirror ? { mirror } : {}),
  };
}
