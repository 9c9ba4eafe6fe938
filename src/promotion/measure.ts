// The figures of one analysis, from what each serving pod reported
// (figures.ts): pods are summed by the version they serve, then the
// candidate's figures are set against the champion's. Pure logic.
import type { PromotionFigures } from '../api/index.js';
import { ksStatistic } from '../drift/ks.js';
import { LATENCY_BUCKETS_MS, type MirrorFigures, type PodFigures, type TrafficFigures } from './figures.js';

const emptyBuckets = (): number[] => new Array<number>(LATENCY_BUCKETS_MS.length + 1).fill(0);

function addInto(into: number[], from: readonly number[]): void {
  for (let i = 0; i < into.length; i++) into[i]! += from[i] ?? 0;
}

/**
 * The latency below which `q` of the requests fell, interpolated inside its
 * histogram bucket; requests above the last bound count as that bound (a
 * floor: the histogram cannot say more). Undefined without requests.
 */
export function latencyQuantileMs(buckets: readonly number[], q = 0.99): number | undefined {
  const total = buckets.reduce((a, b) => a + b, 0);
  if (total === 0) return undefined;
  const rank = q * total;
  let seen = 0;
  for (let i = 0; i < buckets.length; i++) {
    const n = buckets[i]!;
    if (n > 0 && seen + n >= rank) {
      const lower = i === 0 ? 0 : LATENCY_BUCKETS_MS[i - 1]!;
      const upper = LATENCY_BUCKETS_MS[i] ?? LATENCY_BUCKETS_MS.at(-1)!;
      return lower + ((upper - lower) * (rank - seen)) / n;
    }
    seen += n;
  }
  return LATENCY_BUCKETS_MS.at(-1)!;
}

/** Traffic of several pods as one. Output samples are concatenated, each pod's weighted by what it saw. */
export interface SummedTraffic {
  pods: number;
  requests: number;
  errors: number;
  latencyBuckets: number[];
  outputs: number[];
}

export function sumTraffic(parts: readonly TrafficFigures[]): SummedTraffic {
  const out: SummedTraffic = { pods: parts.length, requests: 0, errors: 0, latencyBuckets: emptyBuckets(), outputs: [] };
  for (const p of parts) {
    out.requests += p.requests;
    out.errors += p.errors;
    addInto(out.latencyBuckets, p.latencyBuckets);
  }
  out.outputs = weightedSample(parts.map((p) => ({ values: p.outputs, seen: p.outputsSeen })));
  return out;
}

/**
 * One sample from several pods' samples that is fair to their traffic: a pod
 * that saw ten times the rows contributes ten times the values (each pod
 * keeps at most a fixed number, so plain concatenation would over-weight
 * quiet pods). Deterministic: every k-th value, so a re-read gives the same.
 */
export function weightedSample(parts: readonly { values: readonly number[]; seen: number }[]): number[] {
  const withData = parts.filter((p) => p.values.length > 0 && p.seen > 0);
  if (withData.length === 0) return [];
  // The pod whose sample covers the largest share of what it saw sets the scale.
  const scale = Math.min(...withData.map((p) => p.values.length / p.seen));
  const out: number[] = [];
  for (const p of withData) {
    const take = Math.max(1, Math.round(p.seen * scale));
    const step = p.values.length / take;
    for (let i = 0; i < take; i++) out.push(p.values[Math.floor(i * step)]!);
  }
  return out;
}

export function sumMirror(parts: readonly MirrorFigures[]) {
  const out = {
    mirrored: 0,
    skipped: 0,
    candidateErrors: 0,
    compared: 0,
    rows: 0,
    agreedRows: 0,
    sumAbsDiff: 0,
    candidateOutputs: [] as number[],
    championOutputs: [] as number[],
  };
  for (const m of parts) {
    out.mirrored += m.mirrored;
    out.skipped += m.skipped;
    out.candidateErrors += m.candidateErrors;
    out.compared += m.compared;
    out.rows += m.rows;
    out.agreedRows += m.agreedRows;
    out.sumAbsDiff += m.sumAbsDiff;
  }
  // Both samples hold the same rows in the same order: one weight for both.
  out.candidateOutputs = weightedSample(parts.map((m) => ({ values: m.candidateOutputs, seen: m.outputsSeen })));
  out.championOutputs = weightedSample(parts.map((m) => ({ values: m.championOutputs, seen: m.outputsSeen })));
  return out;
}

/** The 0th, 5th, ..., 100th percentiles of a sample: a compact record of a distribution for status. */
export function quantiles21(values: readonly number[]): number[] | undefined {
  if (values.length === 0) return undefined;
  const sorted = Float64Array.from(values).sort();
  return Array.from({ length: 21 }, (_, i) => sorted[Math.min(sorted.length - 1, Math.round((i / 20) * (sorted.length - 1)))]!);
}

/** Two-sample Kolmogorov-Smirnov statistic; undefined when either side is empty. */
export function outputDrift(a: readonly number[], b: readonly number[]): number | undefined {
  if (a.length === 0 || b.length === 0) return undefined;
  // ksStatistic walks both samples in order.
  return round(ksStatistic(Float64Array.from(a).sort(), Float64Array.from(b).sort()));
}

const round = (x: number, digits = 4): number => Number(x.toFixed(digits));
const rate = (errors: number, total: number): number | undefined => (total > 0 ? round(errors / total) : undefined);
const ratio = (a: number | undefined, b: number | undefined): number | undefined =>
  a === undefined || b === undefined ? undefined : round(a / Math.max(b, LATENCY_BUCKETS_MS[0]!));

/** Only the answers of this analysis count: a pod still on another one has not been told yet (or restarted). */
const inAnalysis = (pods: readonly PodFigures[], analysis: string) => pods.filter((p) => p.analysis === analysis);

function defined<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}

/** The champion's and the candidate's pods of this analysis, each side summed. */
function sides(pods: readonly PodFigures[], o: { analysis: string; champion: string; candidate: string }) {
  const mine = inAnalysis(pods, o.analysis);
  const side = (version: string) => sumTraffic(mine.filter((p) => p.version === version).map((p) => p.traffic));
  return { mine, champion: side(o.champion), candidate: side(o.candidate) };
}

/** Each side's p99 (its own server's) and their ratio. */
function latencyFigures(championBuckets: readonly number[], candidateBuckets: readonly number[]) {
  const championP99Ms = latencyQuantileMs(championBuckets);
  const candidateP99Ms = latencyQuantileMs(candidateBuckets);
  return {
    championP99Ms: championP99Ms === undefined ? undefined : round(championP99Ms, 3),
    candidateP99Ms: candidateP99Ms === undefined ? undefined : round(candidateP99Ms, 3),
    latencyRatio: ratio(candidateP99Ms, championP99Ms),
  };
}

/**
 * Shadow: the champion's pods mirrored requests to the candidate and compared
 * the answers. Latency is each server's own (the candidate pods' traffic is
 * the mirrored requests), so the network hop to the candidate does not count
 * against it; the candidate's errors are what the champion saw (timeouts and
 * unreachable included).
 */
export function measureShadow(pods: readonly PodFigures[], o: { analysis: string; champion: string; candidate: string }): PromotionFigures {
  const { mine, champion, candidate } = sides(pods, o);
  const mirror = sumMirror(mine.filter((p) => p.version === o.champion && p.mirror?.version === o.candidate).map((p) => p.mirror!));
  const asked = mirror.compared + mirror.candidateErrors;
  return defined({
    samples: asked,
    championRequests: champion.requests,
    agreement: mirror.rows > 0 ? round(mirror.agreedRows / mirror.rows) : undefined,
    meanAbsoluteDifference: mirror.rows > 0 ? round(mirror.sumAbsDiff / mirror.rows, 6) : undefined,
    championErrorRate: rate(champion.errors, champion.requests),
    candidateErrorRate: rate(mirror.candidateErrors, asked),
    ...latencyFigures(champion.latencyBuckets, candidate.latencyBuckets),
    outputDrift: outputDrift(mirror.candidateOutputs, mirror.championOutputs),
    championOutputQuantiles: quantiles21(champion.outputs),
    pods: champion.pods + candidate.pods,
  });
}

/** Canary: each version's own share of live traffic, side by side. */
export function measureCanary(pods: readonly PodFigures[], o: { analysis: string; champion: string; candidate: string }): PromotionFigures {
  const { champion, candidate } = sides(pods, o);
  return defined({
    samples: candidate.requests,
    championRequests: champion.requests,
    championErrorRate: rate(champion.errors, champion.requests),
    candidateErrorRate: rate(candidate.errors, candidate.requests),
    ...latencyFigures(champion.latencyBuckets, candidate.latencyBuckets),
    outputDrift: outputDrift(candidate.outputs, champion.outputs),
    championOutputQuantiles: quantiles21(champion.outputs),
    pods: champion.pods + candidate.pods,
  });
}

/**
 * The guard: the promoted version's live traffic against the figures its
 * predecessor had in the analysis (the baseline kept in status). The
 * baseline's outputs survive only as 21 quantiles, which stand in for its
 * sample (KS resolution 0.05).
 */
export function measureGuard(pods: readonly PodFigures[], o: { analysis: string; version: string; baseline: PromotionFigures }): PromotionFigures {
  const live = sumTraffic(inAnalysis(pods, o.analysis).filter((p) => p.version === o.version).map((p) => p.traffic));
  const p99 = latencyQuantileMs(live.latencyBuckets);
  return defined({
    samples: live.requests,
    championErrorRate: o.baseline.championErrorRate,
    candidateErrorRate: rate(live.errors, live.requests),
    championP99Ms: o.baseline.championP99Ms,
    candidateP99Ms: p99 === undefined ? undefined : round(p99, 3),
    latencyRatio: ratio(p99, o.baseline.championP99Ms),
    outputDrift: outputDrift(live.outputs, o.baseline.championOutputQuantiles ?? []),
    pods: live.pods,
  });
}
