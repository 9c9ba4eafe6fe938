// `fluxora serve` over real HTTP (in-process server on ephemeral ports):
// the V2/V1 endpoints, their error statuses, the binary tensor extension,
// the samples endpoint's port and auth, and the metric names.
import { Buffer } from 'node:buffer';
import { Agent } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FluxoraServer } from '../../src/serving/server.js';
import { startServer } from '../../src/serving/server.js';
import { pino } from 'pino';
import { LINEAR } from '../fixtures/models/generate.js';
import { http, inferBody, linearExpected, metricValue, startTestServer, testConfig } from '../fixtures/models/serve-harness.js';

let server: FluxoraServer;
const get = (path: string, headers?: Record<string, string>) => http(server.port, { path, headers });
const post = (path: string, body: string | Buffer, headers?: Record<string, string>) => http(server.port, { path, body, headers });
const admin = (path: string, headers?: Record<string, string>) => http(server.adminPort, { path, headers });
const TOKEN = { authorization: 'Bearer test-token' };

beforeAll(async () => {
  server = await startTestServer({ maxBodyBytes: 4096 });
});
afterAll(async () => {
  await server.shutdown();
});

describe('V2 endpoints', () => {
  it('health, server metadata, model metadata and readiness', async () => {
    expect((await get('/v2/health/live')).status).toBe(200);
    expect(await get('/v2/health/ready').then((r) => [r.status, r.json()])).toEqual([200, { ready: true }]);
    const meta = await get('/v2');
    expect(meta.json()).toMatchObject({ name: 'fluxora', extensions: ['binary_tensor_data'] });
    expect(typeof (meta.json() as { version: string }).version).toBe('string');
    const model = {
      name: 'churn',
      versions: ['v1'],
      platform: 'onnxruntime_onnx',
      inputs: [{ name: 'x', datatype: 'FP32', shape: [-1, 3] }],
      outputs: [{ name: 'y', datatype: 'FP32', shape: [-1, 1] }],
    };
    expect((await get('/v2/models/churn')).json()).toEqual(model);
    expect((await get('/v2/models/churn/versions/v1')).json()).toEqual(model);
    expect((await get('/v2/models/churn/ready')).json()).toEqual({ name: 'churn', ready: true });
    expect((await get('/v2/models/churn/versions/v1/ready')).status).toBe(200);
  });

  it('infers with nested or flat data, echoes the id and honours requested outputs', async () => {
    const rows = [
      [1, 2, 3],
      [4, 5, 6],
    ];
    const res = await post('/v2/models/churn/infer', inferBody(rows, { id: 'req-1', outputs: [{ name: 'y' }] }));
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('application/json');
    const body = res.json() as { model_name: string; model_version: string; id: string; outputs: { name: string; shape: number[]; datatype: string; data: number[] }[] };
    expect(body).toMatchObject({ model_name: 'churn', model_version: 'v1', id: 'req-1' });
    expect(body.outputs).toHaveLength(1);
    expect(body.outputs[0]).toMatchObject({ name: 'y', datatype: 'FP32', shape: [2, 1] });
    body.outputs[0]?.data.forEach((v, i) => expect(v).toBeCloseTo(linearExpected(rows[i] as number[], LINEAR.weights, LINEAR.bias), 5));
    const flat = await post('/v2/models/churn/versions/v1/infer', JSON.stringify({ inputs: [{ name: 'x', datatype: 'FP32', shape: [2, 3], data: rows.flat() }] }));
    expect((flat.json() as typeof body).outputs[0]?.data).toEqual(body.outputs[0]?.data);
    expect(typeof (flat.json() as typeof body).id).toBe('string');
  });

  it('speaks the binary tensor extension both ways', async () => {
    const header = Buffer.from(
      JSON.stringify({
        inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 3], parameters: { binary_data_size: 12 } }],
        parameters: { binary_data_output: true },
      }),
    );
    const body = Buffer.concat([header, Buffer.from(Float32Array.from([1, 2, 3]).buffer)]);
    const res = await post('/v2/models/churn/infer', body, { 'inference-header-content-length': String(header.length) });
    expect(res.status).toBe(200);
    const n = Number(res.headers['inference-header-content-length']);
    const head = JSON.parse(res.body.subarray(0, n).toString()) as { outputs: { parameters: { binary_data_size: number } }[] };
    expect(head.outputs[0]?.parameters.binary_data_size).toBe(4);
    expect(res.body.subarray(n).readFloatLE(0)).toBeCloseTo(4.1, 5);
  });

  it('answers errors with V2 error bodies and the right status', async () => {
    const cases: [Promise<{ status: number; json: () => unknown }>, number, RegExp][] = [
      [post('/v2/models/nope/infer', inferBody([[1, 2, 3]])), 404, /unknown model "nope"; this server serves "churn"/],
      [get('/v2/models/nope'), 404, /unknown model/],
      [get('/v2/models/churn/versions/v9'), 404, /has no version "v9"/],
      [post('/v2/models/churn/infer', '{"inputs": [{"name": "x", "datatype": "FP32", "shape": [2,3], "data": [1,2,3,4,5]}]}'), 400, /shape \[2,3\] needs 6 elements, got 5/],
      [post('/v2/models/churn/infer', '{"inputs": '), 400, /not valid JSON/],
      [post('/v2/models/churn/infer', '{"inputs": [{"name": "x", "datatype": "FP32", "shape": [1,3], "data": [1,NaN,3]}]}'), 400, /element 1 is NaN/],
      [post('/v2/models/churn/infer', JSON.stringify({ inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 3], data: Array(3).fill('x'.repeat(2000)) }] })), 413, /exceeds the limit of 4096 bytes/],
      [get('/v2/models/churn/infer'), 405, /method GET is not allowed on \/v2\/models\/churn\/infer; use POST/],
      [post('/v2/models/churn', '{}'), 405, /use GET/],
      [post('/v2/health/live', '{}'), 405, /use GET/],
      [get('/v3/anything'), 404, /no such endpoint/],
      [post('/v2/models/churn/infer', inferBody([[1, 2, 3]]), { 'content-encoding': 'gzip' }), 415, /Content-Encoding "gzip"/],
      [post('/v2/models/%E0%A4%A/infer', '{}'), 400, /malformed URL escape/],
    ];
    for (const [p, status, message] of cases) {
      const res = await p;
      expect(res.status, String(message)).toBe(status);
      expect((res.json() as { error: string }).error).toMatch(message);
    }
  });

  it('refuses an oversized body by Content-Length before reading it, and keeps serving', async () => {
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const res = await http(server.port, { path: '/v2/models/churn/infer', body: Buffer.alloc(100_000, 32), agent });
    expect(res.status).toBe(413);
    expect(res.headers.connection).toBe('close');
    expect((await http(server.port, { path: '/v2/models/churn/infer', body: inferBody([[1, 2, 3]]), agent })).status).toBe(200);
    agent.destroy();
  });
});

describe('KServe V1', () => {
  it('predicts from row arrays or feature-keyed objects', async () => {
    const res = await post('/v1/models/churn:predict', JSON.stringify({ instances: [[1, 2, 3], { tenure: 4, spend: 5, visits: 6 }] }));
    expect(res.status).toBe(200);
    const p = (res.json() as { predictions: number[] }).predictions;
    expect(p).toHaveLength(2);
    expect(p[0]).toBeCloseTo(4.1, 5);
    expect(p[1]).toBeCloseTo(7.85, 5);
    expect((await get('/v1/models/churn')).json()).toEqual({ name: 'churn', ready: true });
  });

  it('reports V1 problems as 400/404', async () => {
    expect((await post('/v1/models/churn:predict', '{"instances": []}')).status).toBe(400);
    expect(((await post('/v1/models/churn:predict', '{"instances": [{"tenure": 1}]}')).json() as { error: string }).error).toMatch(/missing feature "spend"/);
    expect((await post('/v1/models/churn:predict', '{"instances": [[1, 2]]}')).status).toBe(400);
    expect((await post('/v1/models/other:predict', '{"instances": [[1, 2, 3]]}')).status).toBe(404);
  });
});

describe('samples', () => {
  it('are served only on the admin port, with the bearer token', async () => {
    await post('/v2/models/churn/infer', inferBody([[7, 8, 9]], { id: 'sampled' }));
    // The public port does not know the endpoint, whatever the credentials.
    expect((await get('/v2/models/churn/samples', TOKEN)).status).toBe(404);
    expect((await admin('/v2/models/churn/samples')).status).toBe(401);
    const wrong = await admin('/v2/models/churn/samples', { authorization: 'Bearer test-tokem' });
    expect(wrong.status).toBe(401);
    expect(wrong.headers['www-authenticate']).toMatch(/^Bearer/);
    expect((await admin('/v2/models/other/samples', TOKEN)).status).toBe(404);
    expect((await admin('/v2/models/churn/samples?limit=x', TOKEN)).status).toBe(400);
    const res = await admin('/v2/models/churn/samples?limit=1', TOKEN);
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('application/x-ndjson');
    const lines = res.text.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ tenure: 7, spend: 8, visits: 9 });
    expect(lines[0]?._output).toBeCloseTo(linearExpected([7, 8, 9], LINEAR.weights, LINEAR.bias), 5);
    expect(typeof lines[0]?._ts).toBe('string');
    const all = await admin('/v2/models/churn/samples', TOKEN);
    expect(all.text.trim().split('\n').length).toBeGreaterThan(1);
  });

  it('are counted under the model the request names, whatever the answer', async () => {
    const before = (await get('/metrics')).text;
    const count = (text: string, labels: string) => metricValue(text, 'fluxora_inference_requests_total', labels) ?? 0;
    const requests: [string, Record<string, string> | undefined, string][] = [
      ['/v2/models/churn/samples', TOKEN, 'model="churn",endpoint="samples",code="200"'],
      ['/v2/models/churn/samples', undefined, 'model="churn",endpoint="samples",code="401"'],
      ['/v2/models/churn/samples?limit=x', TOKEN, 'model="churn",endpoint="samples",code="400"'],
      ['/v2/models/other/samples', TOKEN, 'model="_unknown",endpoint="samples",code="404"'],
    ];
    for (const [path, headers] of requests) await admin(path, headers);
    // Health checks on the admin port are not samples requests.
    expect((await admin('/v2/health/live')).status).toBe(200);
    const after = (await get('/metrics')).text;
    for (const [, , labels] of requests) expect(count(after, labels) - count(before, labels), labels).toBe(1);
  });

  it('answer 503 when no token is configured', async () => {
    const s = await startServer(testConfig({ samplesToken: undefined }), { logger: pino({ level: 'silent' }) });
    await s.loaded;
    try {
      const res = await http(s.adminPort, { path: '/v2/models/churn/samples', headers: TOKEN });
      expect(res.status).toBe(503);
      expect((res.json() as { error: string }).error).toMatch(/no token is configured/);
    } finally {
      await s.shutdown();
    }
  });
});

describe('metrics and lifecycle', () => {
  it('exposes the fluxora_* metrics and process metrics on /metrics', async () => {
    const text = (await get('/metrics')).text;
    for (const name of [
      'fluxora_inference_requests_total',
      'fluxora_inference_request_duration_seconds_bucket',
      'fluxora_inference_batch_size_bucket',
      'fluxora_inference_queue_wait_seconds_bucket',
      'fluxora_model_load_seconds',
      'fluxora_inference_errors_total',
      'process_cpu_user_seconds_total',
    ]) {
      expect(text, name).toContain(name);
    }
    expect(metricValue(text, 'fluxora_inference_requests_total', 'endpoint="infer",code="200"')).toBeGreaterThan(0);
    expect(metricValue(text, 'fluxora_inference_errors_total', 'reason="invalid_request"')).toBeGreaterThan(0);
    expect(metricValue(text, 'fluxora_inference_requests_total', 'model="_unknown"')).toBeGreaterThan(0);
  });

  it('fails to load a model whose sha256 does not match, and says why on readiness', async () => {
    const s = await startServer(testConfig({ modelSha256: '0'.repeat(64) }), { logger: pino({ level: 'silent' }) });
    await expect(s.loaded).rejects.toThrow(/sha256/);
    const ready = await http(s.port, { path: '/v2/health/ready' });
    expect(ready.status).toBe(503);
    expect((ready.json() as { error: string }).error).toMatch(/loading the model failed/);
    expect((await http(s.port, { path: '/v2/models/churn/infer', body: inferBody([[1, 2, 3]]) })).status).toBe(503);
    await s.shutdown();
  });

  it('goes unready at once on shutdown and still answers requests on open connections', async () => {
    const s = await startTestServer({ maxBatchDelayMs: 50 });
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    expect((await http(s.port, { path: '/v2/health/ready', agent })).status).toBe(200);
    const stopping = s.shutdown();
    expect(s.ready).toBe(false);
    const ready = await http(s.port, { path: '/v2/health/ready', agent });
    expect(ready.status).toBe(503);
    expect(ready.headers.connection).toBe('close');
    expect(await stopping).toBe(true);
    agent.destroy();
  });
});
