import { describe, expect, it } from 'vitest';
import { PromotionSpecSchema, type PromotionFigures } from '../api/index.js';
import { decide, failedThresholds } from './decide.js';
import { LATENCY_BUCKETS_MS, outputLabel, outputValue, type PodFigures, type TrafficFigures } from './figures.js';
import { latencyQuantileMs, measureCanary, measureGuard, measureShadow, quantiles21, weightedSample } from './measure.js';

const analysis = PromotionSpecSchema.parse({}).analysis;

/** Latency buckets with `n` requests of about `ms` each. */
function buckets(ms: number, n: number): number[] {
  const b = new Array<number>(LATENCY_BUCKETS_MS.length + 1).fill(0);
  const i = LATENCY_BUCKETS_MS.findIndex((ub) => ms <= ub);
  b[i < 0 ? LATENCY_BUCKETS_MS.length : i] = n;
  return b;
}

function traffic(o: Partial<TrafficFigures> & { ms?: number } = {}): TrafficFigures {
  const requests = o.requests ?? 100;
  return { requests, errors: o.errors ?? 0, latencyBuckets: o.latencyBuckets ?? buckets(o.ms ?? 4, requests), outputs: o.outputs ?? [], outputsSeen: o.outputsSeen ?? (o.outputs?.length ?? 0) };
}

const pod = (version: string, t: TrafficFigures, extra: Partial<PodFigures> = {}): PodFigures => ({ analysis: 'a1', version, traffic: t, ...extra });

describe('figures of a row', () => {
  it('one value is itself and its label is the value rounded; several are the index of the largest', () => {
    expect(outputValue([0.7])).toBe(0.7);
    expect(outputLabel([0.7])).toBe(1);
    expect(outputLabel([0.3])).toBe(0);
    expect(outputValue([0.1, 0.6, 0.3])).toBe(1);
    expect(outputLabel([0.5, 0.5])).toBe(0);
  });
});

describe('measure', () => {
  it('p99 interpolates inside its bucket; no requests is no figure', () => {
    expect(latencyQuantileMs(buckets(4, 100))).toBeGreaterThan(3);
    expect(latencyQuantileMs(buckets(4, 100))).toBeLessThanOrEqual(5);
    expect(latencyQuantileMs(buckets(4, 0))).toBeUndefined();
    const mixed = buckets(4, 98);
    mixed[LATENCY_BUCKETS_MS.indexOf(100)] = 2;
    expect(latencyQuantileMs(mixed)).toBeGreaterThan(75);
  });

  it('a weighted sample gives each pod its share of the rows it saw', () => {
    const s = weightedSample([
      { values: new Array(100).fill(1), seen: 1000 },
      { values: new Array(100).fill(2), seen: 100 },
    ]);
    expect(s.filter((x) => x === 1).length).toBe(10 * s.filter((x) => x === 2).length);
  });

  it('shadow: agreement, difference, errors as the champion saw them, each server its own latency', () => {
    const f = measureShadow(
      [
        pod('v1', traffic({ requests: 1000, errors: 1, ms: 4, outputs: [0.1, 0.2, 0.9], outputsSeen: 3 }), {
          mirror: {
            version: 'v2', mirrored: 500, skipped: 0, candidateErrors: 10, compared: 490, rows: 490, agreedRows: 480, sumAbsDiff: 4.9, maxAbsDiff: 0.2,
            candidateLatencyBuckets: buckets(9, 490), championLatencyBuckets: buckets(4, 490), candidateOutputs: [0.1, 0.2, 0.9], championOutputs: [0.1, 0.2, 0.9], outputsSeen: 3,
          },
        }),
        pod('v2', traffic({ requests: 490, ms: 4 })),
        // Another analysis: ignored.
        { ...pod('v2', traffic({ requests: 5000, errors: 5000 })), analysis: 'old' },
      ],
      { analysis: 'a1', champion: 'v1', candidate: 'v2' },
    );
    expect(f).toMatchObject({ samples: 500, agreement: 0.9796, meanAbsoluteDifference: 0.01, candidateErrorRate: 0.02, championErrorRate: 0.001, outputDrift: 0, pods: 2 });
    expect(f.latencyRatio).toBe(1);
    expect(f.championOutputQuantiles).toHaveLength(21);
  });

  it('canary: each version its own traffic', () => {
    const f = measureCanary([pod('v1', traffic({ requests: 900, ms: 4, outputs: [0, 0, 0, 0], outputsSeen: 4 })), pod('v2', traffic({ requests: 100, errors: 5, ms: 40, outputs: [1, 1, 1, 1], outputsSeen: 4 }))], {
      analysis: 'a1', champion: 'v1', candidate: 'v2',
    });
    expect(f).toMatchObject({ samples: 100, championRequests: 900, candidateErrorRate: 0.05, championErrorRate: 0, outputDrift: 1 });
    expect(f.latencyRatio).toBeGreaterThan(5);
  });

  it('guard: the live version against the baseline kept in status', () => {
    const baseline: PromotionFigures = { samples: 500, championErrorRate: 0, championP99Ms: 4.9, championOutputQuantiles: quantiles21([0.1, 0.2, 0.3, 0.4]) };
    const f = measureGuard([pod('v2', traffic({ requests: 300, errors: 30, ms: 4, outputs: [0.9, 0.95], outputsSeen: 2 }))], { analysis: 'a1', version: 'v2', baseline });
    expect(f).toMatchObject({ samples: 300, candidateErrorRate: 0.1, championErrorRate: 0, outputDrift: 1 });
  });
});

describe('decide', () => {
  const good: PromotionFigures = { samples: 500, agreement: 0.99, candidateErrorRate: 0, championErrorRate: 0, latencyRatio: 1.1, candidateP99Ms: 5, championP99Ms: 4.5, outputDrift: 0.05 };
  const shadow = { strategy: 'Shadow' as const, elapsedMs: 60_000, deadlineMs: 3_600_000, onDeadline: 'Reject' as const };

  it('promotes a candidate that meets every threshold, saying the figures', () => {
    const d = decide(good, analysis, shadow);
    expect(d.verdict).toBe('Promote');
    expect(d.message).toContain('agreement 99.00%');
  });

  it('extends with too few samples, until the deadline decides by onDeadline', () => {
    expect(decide({ ...good, samples: 37 }, analysis, shadow)).toMatchObject({ verdict: 'Extend', message: 'shadow: 37 of 200 samples so far' });
    const d98 = decide({ ...good, samples: 37 }, analysis, { ...shadow, elapsedMs: 3_600_000 });
    expect(d98).toMatchObject({ verdict: 'Reject' });
    expect(d98.message).toMatch(/deadline 60.0m reached with 37 of 200 samples/);
    expect(decide({ ...good, samples: 37 }, analysis, { ...shadow, elapsedMs: 3_600_000, onDeadline: 'Promote' }).verdict).toBe('Promote');
  });

  it("waits for the candidate's own figures before judging", () => {
    const noLatency = { ...good, candidateP99Ms: undefined, latencyRatio: undefined };
    expect(decide(noLatency, analysis, shadow)).toEqual({ verdict: 'Extend', message: "shadow: 500 samples, but no figures from the candidate's own pods yet" });
    expect(decide(noLatency, analysis, { ...shadow, elapsedMs: 3_600_000 }).verdict).toBe('Reject');
  });

  it('rejects naming each failing figure and its limit', () => {
    const d = decide({ ...good, agreement: 0.8, latencyRatio: 3, candidateP99Ms: 13.5, candidateErrorRate: 0.05, outputDrift: 0.4 }, analysis, shadow);
    expect(d.verdict).toBe('Reject');
    expect(d.message).toContain('agreement 80.00% is below minAgreement 95.00%');
    expect(d.message).toContain('p99 latency 13.5 ms is 3.00x the champion\'s 4.5 ms (maxLatencyRatio 1.5)');
    expect(d.message).toContain('error rate 5.00% is 5.00% above the champion\'s 0.00% (maxErrorRateIncrease 1.00%)');
    expect(d.message).toContain('output drift (KS) 0.400 is above maxOutputDrift 0.2');
  });

  it('a latency ratio fails only with an increase of at least minLatencyIncrease (a few ms between tiny p99s is noise)', () => {
    // 1.0 ms -> 3.5 ms: 3.5x, but 2.5 ms more, under the default 5ms.
    const tiny = { ...good, championP99Ms: 1, candidateP99Ms: 3.5, latencyRatio: 3.5 };
    expect(failedThresholds(tiny, analysis, 'Guard')).toEqual([]);
    expect(decide(tiny, analysis, shadow).verdict).toBe('Promote');
    // The same ratio 5 ms up fails; so does the tiny one when the floor is 0s.
    expect(failedThresholds({ ...good, championP99Ms: 2, candidateP99Ms: 7, latencyRatio: 3.5 }, analysis, 'Shadow')).toEqual(["p99 latency 7.0 ms is 3.50x the champion's 2.0 ms (maxLatencyRatio 1.5)"]);
    const strict = PromotionSpecSchema.parse({ analysis: { minLatencyIncrease: '0s' } }).analysis;
    expect(failedThresholds(tiny, strict, 'Guard')).toEqual(["p99 latency 3.5 ms is 3.50x the previous version's 1.0 ms (maxLatencyRatio 1.5)"]);
  });

  it('Scores compares the mean absolute difference instead of labels', () => {
    const scores = PromotionSpecSchema.parse({ analysis: { compare: 'Scores', maxMeanAbsoluteDifference: 0.5 } }).analysis;
    expect(failedThresholds({ ...good, agreement: 0.1, meanAbsoluteDifference: 0.2 }, scores, 'Shadow')).toEqual([]);
    expect(failedThresholds({ ...good, meanAbsoluteDifference: 0.7 }, scores, 'Shadow')[0]).toMatch(/mean absolute difference 0.7 is above maxMeanAbsoluteDifference 0.5/);
  });

  it('a canary step promotes only once its time is up; a failure rejects at once', () => {
    const canary = { strategy: 'Canary' as const, elapsedMs: 60_000, deadlineMs: 3_600_000, onDeadline: 'Reject' as const, stepElapsedMs: 60_000, stepMs: 300_000, stepLabel: 'canary step 1 of 2 (10%)' };
    const d121 = decide(good, analysis, canary);
    expect(d121).toMatchObject({ verdict: 'Extend' });
    expect(d121.message).toMatch(/^canary step 1 of 2 \(10%\): all thresholds met over 500 samples; 4.0m of 5.0m left/);
    expect(decide(good, analysis, { ...canary, stepElapsedMs: 300_000 }).verdict).toBe('Promote');
    expect(decide({ ...good, candidateErrorRate: 0.5 }, analysis, canary).verdict).toBe('Reject');
  });

  it('the guard keeps a version whose window ended with too little traffic', () => {
    const guard = { strategy: 'Guard' as const, elapsedMs: 600_000, deadlineMs: 600_000, onDeadline: 'Promote' as const, stepElapsedMs: 600_000, stepMs: 600_000 };
    expect(decide({ samples: 3 }, analysis, guard).verdict).toBe('Promote');
    expect(decide({ samples: 3 }, analysis, { ...guard, stepElapsedMs: 1000 }).verdict).toBe('Extend');
  });
});
