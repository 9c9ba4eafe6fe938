// The prediction log against a real S3 store (MinIO): the real `fluxora
// serve` process, with one worker and with two, answers inferences (REST and
// gRPC, with and without client ids), is stopped with SIGTERM, and the objects
// it left are listed and read back: every answered request is there exactly
// once, under the id its answer carried, with the outputs it was answered.
// A store that accepts connections and never answers (slow, then gone) does
// not slow inference: requests are dropped and counted instead, and every
// request is accounted for. Needs no control plane, only hack/minio.sh.
import { createServer, type Server, type Socket } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { listObjects, readObject } from '../../src/storage/index.js';
import { LINEAR } from '../fixtures/models/generate.js';
import { GrpcTestClient, status } from '../fixtures/models/grpc-client.js';
import { parseLogObject, type LogRecord } from '../fixtures/models/prediction-log-records.js';
import { fixtureUri, http, inferBody, linearExpected, metricValue, spawnServe, type ServeProcess } from '../fixtures/models/serve-harness.js';
import { createBucket, MINIO_START_TIMEOUT_MS, s3Options, startMinio, type MinioEndpoint } from '../support/minio.js';

const BUCKET = 'fluxora-prediction-log';
const rowOf = (i: number) => [i, i / 4, 3 - i];
const expectedY = (row: number[]) => linearExpected(row, LINEAR.weights, LINEAR.bias);
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const KEY = /^model=churn\/version=v7\/date=\d{4}-\d\d-\d\d\/hour=\d\d\/churn-5f7d-abcde-\d+-\d{6}-\d{8}T\d{6}\.\d{3}Z\.jsonl\.gz$/;

let minio: MinioEndpoint;
let proc: ServeProcess | undefined;
const others: ServeProcess[] = [];

beforeAll(async () => {
  minio = await startMinio();
  await createBucket(minio, BUCKET);
}, MINIO_START_TIMEOUT_MS);

afterEach(() => {
  for (const p of [proc, ...others.splice(0)]) if (p && p.child.exitCode === null) p.child.kill('SIGKILL');
  proc = undefined;
});

const serveArgs = (workers: number) => [
  '--model-name',
  'churn',
  '--model-uri',
  fixtureUri('linear.onnx'),
  '--model-version',
  'v7',
  '--host',
  '127.0.0.1',
  '--port',
  '0',
  '--admin-port',
  '0',
  '--workers',
  String(workers),
];

/** At most `n` promises at a time. */
async function pool<T>(n: number, jobs: (() => Promise<T>)[]): Promise<T[]> {
  const out: T[] = new Array<T>(jobs.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: n }, async () => {
      while (next < jobs.length) {
        const i = next++;
        out[i] = await jobs[i]!();
      }
    }),
  );
  return out;
}

async function readLog(prefix: string): Promise<{ keys: string[]; records: LogRecord[] }> {
  const o = { s3: s3Options(minio) };
  const uris = await listObjects(prefix, o);
  const records: LogRecord[] = [];
  for (const uri of uris) {
    records.push(...parseLogObject(await readObject(uri, o)));
  }
  return { keys: uris.map((u) => u.slice(prefix.length)), records };
}

const closedLines = (p: ServeProcess) => p.logs.filter((l) => l.msg === 'prediction log closed') as { written: number; dropped: number; failed: number }[];
const sum = (xs: { written: number; dropped: number; failed: number }[], k: 'written' | 'dropped' | 'failed') => xs.reduce((s, x) => s + x[k], 0);

describe.each([1, 2])('prediction log on MinIO, --workers %i', (workers) => {
  it('every answered request is stored exactly once, under its id, with its outputs', { timeout: 120_000 }, async () => {
    const prefix = `s3://${BUCKET}/run-${workers}-${Date.now().toString(36)}/`;
    proc = await spawnServe(serveArgs(workers), {
      FLUXORA_PREDICTION_LOG_URI: prefix,
      FLUXORA_PREDICTION_LOG_FLUSH_INTERVAL_SECONDS: '1',
      FLUXORA_PREDICTION_LOG_MAX_BATCH_RECORDS: '20',
      FLUXORA_POD_NAME: 'churn-5f7d-abcde',
      // The log's own credentials, under the prefix the operator gives them (envFrom prefix)...
      FLUXORA_PREDICTION_LOG_AWS_ACCESS_KEY_ID: minio.accessKeyId,
      FLUXORA_PREDICTION_LOG_AWS_SECRET_ACCESS_KEY: minio.secretAccessKey,
      FLUXORA_PREDICTION_LOG_AWS_ENDPOINT_URL: minio.endpoint,
      // ...win over the pod's own (the artifact's), which this store refuses.
      AWS_ACCESS_KEY_ID: 'not-the-log-key',
      AWS_SECRET_ACCESS_KEY: 'not-the-log-secret',
      AWS_ENDPOINT_URL: minio.endpoint,
    });
    const p = proc;
    const want = new Map<string, number[][]>();
    const clientIds: string[] = [];
    // 150 REST requests, 8 at a time: every third with a client id, some with two rows.
    const results = await pool(
      8,
      Array.from({ length: 150 }, (_, i) => async () => {
        const rows = i % 5 === 0 ? [rowOf(i), rowOf(i + 1000)] : [rowOf(i)];
        const id = i % 3 === 0 ? `client-${i}` : undefined;
        const r = await http(p.port, { path: '/v2/models/churn/infer', body: inferBody(rows, id ? { id } : {}), headers: { Connection: 'close' } });
        expect(r.status).toBe(200);
        const got = (r.json() as { id: string }).id;
        if (id) {
          expect(got).toBe(id);
          clientIds.push(id);
        } else expect(got).toMatch(UUID);
        want.set(got, rows);
        return got;
      }),
    );
    expect(new Set(results).size).toBe(150);
    // gRPC, with and without an id.
    const client = new GrpcTestClient(p.grpcPort);
    for (let i = 0; i < 10; i++) {
      const id = i % 2 === 0 ? `grpc-${i}` : undefined;
      const rows = [rowOf(500 + i)];
      const r = await client.call<{ id: string }>('ModelInfer', {
        model_name: 'churn',
        inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 3], contents: { fp32_contents: rows.flat() } }],
        ...(id ? { id } : {}),
      });
      expect(r.code).toBe(status.OK);
      if (id) {
        expect(r.response?.id).toBe(id);
        clientIds.push(id);
      }
      want.set(r.response!.id, rows);
    }
    client.close();

    // Batches go out while serving (full batches at once, the rest on the 1 s timer), not only at shutdown.
    const deadline = Date.now() + 15_000;
    let st: Record<string, number | boolean | string> = {};
    while (Date.now() < deadline) {
      st = (await http(p.adminPort, { path: '/v2/models/churn/prediction-log' })).json() as typeof st;
      if ((st.written as number) > 0) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    expect(st).toMatchObject({ enabled: true, dropped: 0, failed: 0, losing: false });
    expect(st.written).toBeGreaterThan(0);
    // Read after the state, so it may have grown since.
    const written = metricValue((await http(p.port, { path: '/metrics' })).text, 'fluxora_prediction_log_records_total', 'result="written"') ?? 0;
    expect(written).toBeGreaterThanOrEqual(st.written as number);
    expect(written).toBeLessThanOrEqual(want.size);

    p.child.kill('SIGTERM');
    expect(await p.exited).toBe(0);
    const closed = closedLines(p);
    expect(closed).toHaveLength(workers);
    expect([sum(closed, 'written'), sum(closed, 'dropped'), sum(closed, 'failed')]).toEqual([want.size, 0, 0]);

    const { keys, records } = await readLog(prefix);
    for (const k of keys) expect(k).toMatch(KEY);
    if (workers === 2) expect(new Set(keys.map((k) => /abcde-(\d+)-/.exec(k)?.[1]))).toEqual(new Set(['1', '2']));
    // Exactly once each: no id missing, none twice.
    expect(records.map((r) => r.id).sort()).toEqual([...want.keys()].sort());
    for (const id of clientIds) expect(records.filter((r) => r.id === id)).toHaveLength(1);
    for (const r of records) {
      const rows = want.get(r.id)!;
      expect([r.model, r.version]).toEqual(['churn', 'v7']);
      expect(Date.parse(r.time)).not.toBeNaN();
      expect(r.inputs).toEqual([{ name: 'x', datatype: 'FP32', shape: [rows.length, 3], data: rows.flat().map(Math.fround) }]);
      expect(r.outputs).toEqual([{ name: 'y', datatype: 'FP32', shape: [rows.length, 1], data: rows.map(expectedY) }]);
    }
  });
});

describe('prediction log on a store that never answers', () => {
  let blackHole: Server;
  let port = 0;
  const sockets = new Set<Socket>();
  beforeAll(async () => {
    // Accepts connections and never answers: a write waits until its time limit.
    blackHole = createServer((s) => {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => undefined);
    });
    await new Promise<void>((r) => blackHole.listen(0, '127.0.0.1', r));
    port = (blackHole.address() as { port: number }).port;
  });
  afterAll(async () => {
    for (const s of sockets) s.destroy();
    await new Promise((r) => blackHole.close(r));
  });

  const percentile = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(p * xs.length))]!;

  it('does not slow inference: requests beyond the buffer are dropped and counted, and all are accounted for', { timeout: 120_000 }, async () => {
    const logged = await spawnServe([...serveArgs(1), '--drain-timeout-seconds', '3'], {
      FLUXORA_PREDICTION_LOG_URI: `s3://${BUCKET}/never/`,
      FLUXORA_PREDICTION_LOG_FLUSH_INTERVAL_SECONDS: '1',
      FLUXORA_PREDICTION_LOG_MAX_BATCH_RECORDS: '10',
      FLUXORA_PREDICTION_LOG_MAX_BUFFERED_RECORDS: '20',
      FLUXORA_PREDICTION_LOG_AWS_ACCESS_KEY_ID: 'k',
      FLUXORA_PREDICTION_LOG_AWS_SECRET_ACCESS_KEY: 's',
      FLUXORA_PREDICTION_LOG_AWS_ENDPOINT_URL: `http://127.0.0.1:${port}`,
    });
    others.push(logged);
    const plain = await spawnServe(serveArgs(1));
    others.push(plain);

    // The same requests to both servers, interleaved, so both see the same machine load.
    const N = 300;
    const lat = { logged: [] as number[], plain: [] as number[] };
    const timed = async (p: ServeProcess, i: number) => {
      const t0 = performance.now();
      const r = await http(p.port, { path: '/v2/models/churn/infer', body: inferBody([rowOf(i)], { id: `slow-${i}` }) });
      expect(r.status).toBe(200);
      return performance.now() - t0;
    };
    for (let i = 0; i < N; i++) {
      lat.logged.push(await timed(logged, i));
      lat.plain.push(await timed(plain, i));
    }
    const p50 = { logged: percentile(lat.logged, 0.5), plain: percentile(lat.plain, 0.5) };
    const p99 = { logged: percentile(lat.logged, 0.99), plain: percentile(lat.plain, 0.99) };
    process.stderr.write(`[prediction-log] black-hole store: p50 ${p50.logged.toFixed(2)} ms vs ${p50.plain.toFixed(2)} ms without a log; p99 ${p99.logged.toFixed(2)} vs ${p99.plain.toFixed(2)} ms\n`);
    // A write waits up to 20 s for this store; a request that waited for it would show it.
    expect(Math.max(...lat.logged)).toBeLessThan(2_000);
    expect(p50.logged).toBeLessThan(p50.plain * 1.5 + 1);
    expect(p99.logged).toBeLessThan(p99.plain * 2 + 20);

    const st = (await http(logged.adminPort, { path: '/v2/models/churn/prediction-log' })).json() as Record<string, number | boolean>;
    // One batch of 10 hangs, 20 wait in the buffer, the rest are dropped.
    expect(st).toMatchObject({ enabled: true, written: 0, writing: 10, buffered: 20, dropped: N - 30, losing: true });
    const m = (await http(logged.port, { path: '/metrics' })).text;
    expect(metricValue(m, 'fluxora_prediction_log_records_total', 'result="dropped"')).toBe(N - 30);
    expect(metricValue(m, 'fluxora_prediction_log_buffered_records')).toBe(20);

    // SIGTERM: the log gets until the drain timeout, then counts what it could not write as failed.
    const t0 = performance.now();
    logged.child.kill('SIGTERM');
    expect(await logged.exited).toBe(0);
    expect(performance.now() - t0).toBeLessThan(3_000 + 1_000 + 2_000);
    const closed = closedLines(logged);
    expect(closed).toHaveLength(1);
    expect(closed[0]).toMatchObject({ written: 0, dropped: N - 30, failed: 30 });
    plain.child.kill('SIGTERM');
    expect(await plain.exited).toBe(0);
  });
});
