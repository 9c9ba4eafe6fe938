import { describe, expect, it } from 'vitest';
import { ServingMetrics } from './metrics.js';
import { aggregatePodMetrics, mergeSamples } from './pod.js';

const value = (text: string, series: string) => {
  const line = text.split('\n').find((l) => l.startsWith(series + ' '));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
};

describe('aggregatePodMetrics', () => {
  it('sums counters and histograms, takes the slowest load and caps the samples at the buffer size', async () => {
    const workers = [new ServingMetrics('churn'), new ServingMetrics('churn')];
    const [a, b] = workers as [ServingMetrics, ServingMetrics];
    a.observe('infer', 200, 0.001, undefined);
    a.observe('infer', 200, 0.002, undefined);
    b.observe('infer', 200, 0.003, undefined, 'churn', 'grpc');
    b.observe('infer', 400, 0.001, 'invalid_request');
    a.observeRun(3);
    b.observeRun(5);
    a.modelLoad.set({ model: 'churn' }, 0.5);
    b.modelLoad.set({ model: 'churn' }, 1.5);
    a.bufferedRows = () => 70;
    b.bufferedRows = () => 60;
    const text = await (await aggregatePodMetrics(await Promise.all(workers.map((w) => w.registry.getMetricsAsJSON())), 100)).metrics();
    expect(value(text, 'fluxora_inference_requests_total{model="churn",endpoint="infer",code="200",protocol="rest"}')).toBe(2);
    expect(value(text, 'fluxora_inference_requests_total{model="churn",endpoint="infer",code="200",protocol="grpc"}')).toBe(1);
    expect(value(text, 'fluxora_inference_requests_total{model="churn",endpoint="infer",code="400",protocol="rest"}')).toBe(1);
    expect(value(text, 'fluxora_inference_errors_total{model="churn",reason="invalid_request",protocol="rest"}')).toBe(1);
    expect(value(text, 'fluxora_inference_request_duration_seconds_count{model="churn",endpoint="infer",protocol="rest"}')).toBe(3);
    expect(value(text, 'fluxora_inference_batch_size_sum{model="churn"}')).toBe(8);
    expect(value(text, 'fluxora_inference_batch_size_bucket{le="4",model="churn"}')).toBe(1);
    expect(value(text, 'fluxora_inference_batch_size_bucket{le="8",model="churn"}')).toBe(2);
    expect(value(text, 'fluxora_model_load_seconds{model="churn"}')).toBe(1.5);
    expect(value(text, 'fluxora_inference_samples_buffered{model="churn"}')).toBe(100);
    expect(text).toMatch(/^# TYPE fluxora_inference_batch_size histogram$/m);
  });
});

describe('mergeSamples', () => {
  it("keeps the newest rows of all workers, oldest first, and a worker's order within a millisecond", () => {
    const w1: [number, string][] = [
      [1, 'a1'],
      [3, 'a3'],
      [3, 'a3b'],
      [7, 'a7'],
    ];
    const w2: [number, string][] = [
      [2, 'b2'],
      [5, 'b5'],
      [6, 'b6'],
    ];
    expect(mergeSamples([w1, w2], 100)).toEqual(['a1', 'b2', 'a3', 'a3b', 'b5', 'b6', 'a7']);
    expect(mergeSamples([w1, w2], 4)).toEqual(['a3b', 'b5', 'b6', 'a7']);
    expect(mergeSamples([w1, w2], 0)).toEqual([]);
    expect(mergeSamples([], 5)).toEqual([]);
  });
});
