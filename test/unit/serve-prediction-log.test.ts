// The prediction log through the real server, on a file:// prefix (no store
// needed): every answered inference, REST V2, V1 and gRPC, is logged once
// under the id its answer carries (the client's when it gave one), with the
// outputs it was answered; bad requests are not logged; the admin port
// reports the state, /metrics counts the records; a pod of two workers writes
// one set of objects per worker and flushes both at SIGTERM. The same against
// MinIO: test/integration/prediction-log-s3.test.ts.
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import type { PredictionLogConfig } from '../../src/serving/config.js';
import { LINEAR } from '../fixtures/models/generate.js';
import { GrpcTestClient, status } from '../fixtures/models/grpc-client.js';
import { parseLogObject, type LogRecord } from '../fixtures/models/prediction-log-records.js';
import { fixtureUri, http, inferBody, linearExpected, metricValue, spawnServe, startTestServer, type ServeProcess } from '../fixtures/models/serve-harness.js';

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'fluxora-plog-'));
  dirs.push(d);
  return d;
}

function files(dir: string): string[] {
  return (readdirSync(dir, { recursive: true, withFileTypes: true }) as { isFile(): boolean; parentPath: string; name: string }[])
    .filter((e) => e.isFile())
    .map((e) => relative(dir, join(e.parentPath, e.name)))
    .sort();
}

const readRecords = (dir: string): LogRecord[] => files(dir).flatMap((f) => parseLogObject(readFileSync(join(dir, f))));

const expectedY = (row: number[]) => linearExpected(row, LINEAR.weights, LINEAR.bias);
const rowOf = (i: number) => [i, i / 2, 1 - i];

/** Each id once, with the outputs the model gives for its rows. */
function expectEachOnce(records: LogRecord[], ids: Map<string, number[][]>): void {
  expect(records.map((r) => r.id).sort()).toEqual([...ids.keys()].sort());
  for (const r of records) {
    const rows = ids.get(r.id)!;
    expect(r.inputs).toEqual([{ name: 'x', datatype: 'FP32', shape: [rows.length, 3], data: rows.flat().map(Math.fround) }]);
    expect(r.outputs).toEqual([{ name: 'y', datatype: 'FP32', shape: [rows.length, 1], data: rows.map(expectedY) }]);
  }
}

const logConfig = (dir: string, over: Partial<PredictionLogConfig> = {}): PredictionLogConfig => ({
  uri: pathToFileURL(join(dir, 'predictions')).href,
  sampleRate: 1,
  flushIntervalSeconds: 3600,
  maxBatchRecords: 1000,
  maxBufferedRecords: 10000,
  ...over,
});

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

describe('prediction log in one process', () => {
  it('logs every answered request once under the id its answer carries, over REST, V1 and gRPC, and flushes at shutdown', async () => {
    const dir = tempDir();
    const server = await startTestServer({ predictionLog: logConfig(dir, { maxBatchRecords: 7 }), podName: 'pod-a' });
    const ids = new Map<string, number[][]>();
    const post = (body: string) => http(server.port, { path: '/v2/models/churn/infer', body });

    // A client-given id is kept; without one the answer carries a generated one.
    const given = await post(inferBody([rowOf(1)], { id: 'client-given-1' }));
    expect((given.json() as { id: string }).id).toBe('client-given-1');
    ids.set('client-given-1', [rowOf(1)]);
    const generated = (await post(inferBody([rowOf(2), rowOf(3)]))).json() as { id: string };
    expect(generated.id).toMatch(UUID);
    ids.set(generated.id, [rowOf(2), rowOf(3)]);

    // Concurrent requests (stacked into shared model runs) keep their own ids and outputs.
    const many = await Promise.all(Array.from({ length: 40 }, (_, i) => post(inferBody([rowOf(10 + i)], { id: `c-${i}` }))));
    expect(many.map((r) => r.status)).toEqual(Array(40).fill(200));
    for (let i = 0; i < 40; i++) ids.set(`c-${i}`, [rowOf(10 + i)]);

    // V1: the X-Request-Id header, or a generated id, comes back in the header.
    const v1 = await http(server.port, { path: '/v1/models/churn:predict', body: JSON.stringify({ instances: [rowOf(4)] }), headers: { 'X-Request-Id': 'v1-given' } });
    expect(v1.headers['x-request-id']).toBe('v1-given');
    ids.set('v1-given', [rowOf(4)]);
    const v1gen = await http(server.port, { path: '/v1/models/churn:predict', body: JSON.stringify({ instances: [rowOf(5)] }) });
    expect(v1gen.headers['x-request-id']).toMatch(UUID);
    ids.set(v1gen.headers['x-request-id'] as string, [rowOf(5)]);

    // gRPC: the request's id, or a generated one, as the answer's id.
    const client = new GrpcTestClient(server.grpcPort);
    const typed = (rows: number[][], extra: Record<string, unknown> = {}) => ({
      model_name: 'churn',
      inputs: [{ name: 'x', datatype: 'FP32', shape: [rows.length, 3], contents: { fp32_contents: rows.flat() } }],
      ...extra,
    });
    const g1 = await client.call<{ id: string }>('ModelInfer', typed([rowOf(6)], { id: 'grpc-given' }));
    expect([g1.code, g1.response?.id]).toEqual([status.OK, 'grpc-given']);
    ids.set('grpc-given', [rowOf(6)]);
    const g2 = await client.call<{ id: string }>('ModelInfer', typed([rowOf(7)]));
    expect(g2.response?.id).toMatch(UUID);
    ids.set(g2.response!.id, [rowOf(7)]);
    client.close();

    // Refused requests are not logged.
    expect((await post(inferBody([[1, 2]]))).status).toBe(400);
    expect((await post('{"inputs": 3}')).status).toBe(400);

    const st = (await http(server.adminPort, { path: '/v2/models/churn/prediction-log' })).json() as Record<string, unknown>;
    expect(st).toMatchObject({ enabled: true, uri: logConfig(dir).uri, dropped: 0, failed: 0, losing: false });
    expect((st.written as number) + (st.writing as number) + (st.buffered as number)).toBe(ids.size);
    expect(st.written).toBeGreaterThan(0); // full batches of 7 went out without waiting for the timer

    await server.shutdown();
    const records = readRecords(dir);
    expectEachOnce(records, ids);
    for (const r of records) expect([r.model, r.version, Number.isNaN(Date.parse(r.time))]).toEqual(['churn', 'v1', false]);
    const names = files(dir);
    for (const f of names) expect(f).toMatch(/^predictions\/model=churn\/version=v1\/date=\d{4}-\d\d-\d\d\/hour=\d\d\/pod-a-0-\d{6}-\d{8}T\d{6}\.\d{3}Z\.jsonl\.gz$/);
    expect(names.length).toBeGreaterThanOrEqual(Math.ceil(ids.size / 7));

    const metrics = await server.metrics.registry.metrics();
    expect(metricValue(metrics, 'fluxora_prediction_log_records_total', 'result="written"')).toBe(ids.size);
    expect(metricValue(metrics, 'fluxora_prediction_log_records_total', 'result="dropped"')).toBe(0);
    expect(metricValue(metrics, 'fluxora_prediction_log_records_total', 'result="failed"')).toBe(0);
  });

  it('has no log, and says so, unless one is configured', async () => {
    const server = await startTestServer();
    expect((await http(server.adminPort, { path: '/v2/models/churn/prediction-log' })).json()).toEqual({ enabled: false });
    expect(metricValue(await server.metrics.registry.metrics(), 'fluxora_prediction_log_records_total')).toBeUndefined();
    await server.shutdown();
  });
});

describe('prediction log in a pod of two workers', () => {
  let proc: ServeProcess | undefined;
  afterAll(() => {
    if (proc && proc.child.exitCode === null) proc.child.kill('SIGKILL');
  });

  it('each worker writes its own objects; the pod reports one state; SIGTERM flushes both', { timeout: 60_000 }, async () => {
    const dir = tempDir();
    const uri = pathToFileURL(join(dir, 'predictions')).href;
    proc = await spawnServe(
      ['--model-name', 'churn', '--model-uri', fixtureUri('linear.onnx'), '--model-version', 'v3', '--host', '127.0.0.1', '--port', '0', '--admin-port', '0', '--workers', '2'],
      { FLUXORA_PREDICTION_LOG_URI: uri, FLUXORA_PREDICTION_LOG_FLUSH_INTERVAL_SECONDS: '3600', FLUXORA_POD_NAME: 'churn-pod' },
    );
    const ids = new Map<string, number[][]>();
    // A new connection per request: the primary hands connections to the workers in turn.
    for (let i = 0; i < 30; i++) {
      const r = await http(proc.port, { path: '/v2/models/churn/infer', body: inferBody([rowOf(i)], { id: `w-${i}` }), headers: { Connection: 'close' } });
      expect(r.status).toBe(200);
      ids.set(`w-${i}`, [rowOf(i)]);
    }
    const st = (await http(proc.adminPort, { path: '/v2/models/churn/prediction-log' })).json() as Record<string, unknown>;
    expect(st).toMatchObject({ enabled: true, buffered: 30, writing: 0, written: 0, dropped: 0, failed: 0 });
    const m = (await http(proc.port, { path: '/metrics' })).text;
    expect(metricValue(m, 'fluxora_prediction_log_buffered_records')).toBe(30);

    proc.child.kill('SIGTERM');
    expect(await proc.exited).toBe(0);
    expectEachOnce(readRecords(dir), ids);
    const workersSeen = new Set(files(dir).map((f) => /churn-pod-(\d+)-/.exec(f)?.[1]));
    expect(workersSeen).toEqual(new Set(['1', '2']));
    for (const f of files(dir)) expect(f).toMatch(/^predictions\/model=churn\/version=v3\//);
  });
});
