// Dynamic batching through the real HTTP server: hundreds of concurrent
// requests with distinct inputs each get exactly their own outputs, runs of
// more than one row happen (seen in the metrics), and a batch that fails
// fails only the request that broke it.
import { Agent } from 'node:http';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type FluxoraServer } from '../../src/serving/server.js';
import { LINEAR } from '../fixtures/models/generate.js';
import { http, inferBody, linearExpected, metricValue, startTestServer, testConfig } from '../fixtures/models/serve-harness.js';
import { gatherModel } from '../fixtures/models/test-models.js';

interface InferOut {
  id: string;
  outputs: { name: string; shape: number[]; data: number[] }[];
}

describe('dynamic batching over HTTP', () => {
  let server: FluxoraServer;
  beforeAll(async () => {
    server = await startTestServer({ maxBatchSize: 32, maxBatchDelayMs: 5 });
  });
  afterAll(async () => {
    await server.shutdown();
  });

  it('gives each of 600 concurrent requests exactly its own outputs, in batches', { timeout: 60_000 }, async () => {
    const agent = new Agent({ keepAlive: true, maxSockets: 200 });
    const requests = Array.from({ length: 600 }, (_, i) => {
      const rows = Array.from({ length: 1 + (i % 3) }, (_, r) => [i, r, -i / 7]);
      return { id: `req-${i}`, rows };
    });
    const results = await Promise.all(
      requests.map(async (q) => {
        const res = await http(server.port, { path: '/v2/models/churn/infer', body: inferBody(q.rows, { id: q.id }), agent });
        return { q, status: res.status, body: res.json() as InferOut };
      }),
    );
    agent.destroy();
    for (const { q, status, body } of results) {
      expect(status).toBe(200);
      expect(body.id).toBe(q.id);
      const out = body.outputs[0];
      expect(out?.shape).toEqual([q.rows.length, 1]);
      out?.data.forEach((v, r) => expect(v).toBeCloseTo(linearExpected(q.rows[r] as number[], LINEAR.weights, LINEAR.bias), 4));
    }
    const text = (await http(server.port, { path: '/metrics' })).text;
    const runs = metricValue(text, 'fluxora_inference_batch_size_count') ?? 0;
    const singleRowRuns = metricValue(text, 'fluxora_inference_batch_size_bucket', 'le="1"') ?? 0;
    const rows = metricValue(text, 'fluxora_inference_batch_size_sum') ?? 0;
    expect(rows).toBeGreaterThanOrEqual(1200); // 600 requests of 1-3 rows (plus nothing else ran)
    expect(runs).toBeLessThan(600); // fewer runs than requests: they were stacked
    expect(runs - singleRowRuns).toBeGreaterThan(0); // runs of more than one row happened
    expect(metricValue(text, 'fluxora_inference_batch_size_bucket', 'le="32"')).toBe(runs); // never above maxBatchSize
    expect(metricValue(text, 'fluxora_inference_queue_wait_seconds_count')).toBeGreaterThanOrEqual(600);
  });
});

describe('a failing batch', () => {
  it('fails only the request that breaks the model, with a 500 JSON error', async () => {
    const server = await startServer(testConfig({ maxBatchSize: 64, maxBatchDelayMs: 20, features: [] }), {
      logger: pino({ level: 'silent' }),
      readArtifact: async () => gatherModel(),
    });
    await server.loaded;
    try {
      const body = (i: number) => JSON.stringify({ id: String(i), inputs: [{ name: 'idx', datatype: 'INT64', shape: [1], data: [i] }] });
      const agent = new Agent({ keepAlive: true, maxSockets: 16 });
      const results = await Promise.all([0, 1, 99, 2, 3, 4].map((i) => http(server.port, { path: '/v2/models/churn/infer', body: body(i), agent })));
      agent.destroy();
      expect(results.map((r) => r.status)).toEqual([200, 200, 500, 200, 200, 200]);
      expect((results[2]?.json() as { error: string }).error).toMatch(/^inference failed: .*indices/i);
      expect(results.filter((r) => r.status === 200).map((r) => (r.json() as InferOut).outputs[0]?.data[0])).toEqual([10, 11, 12, 13, 14]);
      const text = (await http(server.port, { path: '/metrics' })).text;
      expect(metricValue(text, 'fluxora_inference_errors_total', 'reason="inference"')).toBe(1);
      expect(metricValue(text, 'fluxora_inference_requests_total', 'code="500"')).toBe(1);
    } finally {
      await server.shutdown();
    }
  });
});
