// The gRPC service (inference.GRPCInferenceService) of an in-process server,
// called with @grpc/grpc-js: health, metadata, ModelInfer with typed and raw
// tensors of every datatype, errors with REST's messages under the gRPC code
// of the same meaning, and the batcher, metrics and sample capture shared
// with REST.
import { Buffer } from 'node:buffer';
import { Agent } from 'node:http';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OnnxDataType, type OnnxDataTypeCode } from '../../src/serving/onnx-proto.js';
import { startServer, type FluxoraServer } from '../../src/serving/server.js';
import { LINEAR } from '../fixtures/models/generate.js';
import { GrpcTestClient, RawGrpcSession, status } from '../fixtures/models/grpc-client.js';
import { http, inferBody, linearExpected, metricValue, startTestServer, testConfig } from '../fixtures/models/serve-harness.js';
import { gatherModel, identityModel } from '../fixtures/models/test-models.js';

type Int64 = number | { toString(): string };
const num = (v: Int64) => (typeof v === 'number' ? v : Number(v.toString()));

interface OutTensor {
  name: string;
  datatype: string;
  shape: Int64[];
  contents?: Record<string, unknown[]>;
}
interface InferResponse {
  model_name: string;
  model_version: string;
  id: string;
  outputs: OutTensor[];
  raw_output_contents: Uint8Array[];
}

const f32 = (xs: number[]) => Buffer.from(new Float32Array(xs).buffer);
const ROWS = [
  [1, 2, 3],
  [4, 5, 6],
  [-0.5, 0, 10],
];
const want = ROWS.map((r) => linearExpected(r, LINEAR.weights, LINEAR.bias));

const typedRequest = (rows: number[][], extra: Record<string, unknown> = {}) => ({
  model_name: 'churn',
  inputs: [{ name: 'x', datatype: 'FP32', shape: [rows.length, rows[0]?.length ?? 0], contents: { fp32_contents: rows.flat() } }],
  ...extra,
});
const rawRequest = (rows: number[][], extra: Record<string, unknown> = {}) => ({
  model_name: 'churn',
  inputs: [{ name: 'x', datatype: 'FP32', shape: [rows.length, rows[0]?.length ?? 0] }],
  raw_input_contents: [f32(rows.flat())],
  ...extra,
});

describe('gRPC on the linear model', () => {
  let server: FluxoraServer;
  let client: GrpcTestClient;
  beforeAll(async () => {
    server = await startTestServer({ maxBatchDelayMs: 5 });
    client = new GrpcTestClient(server.grpcPort);
  });
  afterAll(async () => {
    client?.close();
    await server?.shutdown();
  });
  const rest = (path: string, body?: string) => http(server.port, { path, ...(body !== undefined ? { body } : {}) });

  it('answers health and metadata as REST does', async () => {
    expect((await client.call('ServerLive', {})).response).toMatchObject({ live: true });
    expect((await client.call('ServerReady', {})).response).toMatchObject({ ready: true });
    expect((await client.call('ModelReady', { name: 'churn' })).response).toMatchObject({ ready: true });
    expect((await client.call('ModelReady', { name: 'churn', version: 'v1' })).response).toMatchObject({ ready: true });
    const meta = await client.call<{ name: string; version: string; extensions: string[] }>('ServerMetadata', {});
    expect({ ...meta.response }).toEqual((await rest('/v2')).json());
    const model = await client.call<{ inputs: OutTensor[]; outputs: OutTensor[] }>('ModelMetadata', { name: 'churn', version: 'v1' });
    const tensors = (ts: OutTensor[]) => ts.map((t) => ({ name: t.name, datatype: t.datatype, shape: t.shape.map(num) }));
    expect({ ...model.response, inputs: tensors(model.response?.inputs ?? []), outputs: tensors(model.response?.outputs ?? []) }).toEqual(
      (await rest('/v2/models/churn')).json(),
    );
  });

  it('infers with typed contents and answers in typed contents', async () => {
    const r = await client.call<InferResponse>('ModelInfer', typedRequest(ROWS, { id: 'typed-1' }));
    expect(r.code).toBe(status.OK);
    const res = r.response as InferResponse;
    expect([res.model_name, res.model_version, res.id]).toEqual(['churn', 'v1', 'typed-1']);
    expect(res.raw_output_contents).toEqual([]);
    const y = res.outputs[0] as OutTensor;
    expect([y.name, y.datatype, y.shape.map(num)]).toEqual(['y', 'FP32', [3, 1]]);
    expect(y.contents?.fp32_contents).toEqual(want);
  });

  it('infers with raw contents and answers in raw contents, as Triton does', async () => {
    const r = await client.call<InferResponse>('ModelInfer', rawRequest(ROWS, { outputs: [{ name: 'y' }] }));
    expect(r.code).toBe(status.OK);
    const res = r.response as InferResponse;
    expect(res.id).toMatch(/^[0-9a-f-]{36}$/); // like REST: a request without an id gets one
    expect(res.outputs[0]?.contents).toBeFalsy();
    const raw = res.raw_output_contents[0] as Uint8Array;
    expect(Array.from(new Float32Array(Buffer.from(raw).buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength)))).toEqual(want);
  });

  // Each case: the gRPC request, the REST request that makes the same mistake, and the expected code.
  const cases: { what: string; grpc: Record<string, unknown>; rest: [string, string?]; code: status }[] = [
    { what: 'unknown model', grpc: typedRequest(ROWS, { model_name: 'nope' }), rest: ['/v2/models/nope/infer', inferBody(ROWS)], code: status.NOT_FOUND },
    { what: 'unknown version', grpc: typedRequest(ROWS, { model_version: 'v9' }), rest: ['/v2/models/churn/versions/v9/infer', inferBody(ROWS)], code: status.NOT_FOUND },
    {
      what: 'too few elements for the shape',
      grpc: { model_name: 'churn', inputs: [{ name: 'x', datatype: 'FP32', shape: [2, 3], contents: { fp32_contents: [1, 2, 3, 4, 5] } }] },
      rest: ['/v2/models/churn/infer', JSON.stringify({ inputs: [{ name: 'x', datatype: 'FP32', shape: [2, 3], data: [1, 2, 3, 4, 5] }] })],
      code: status.INVALID_ARGUMENT,
    },
    {
      what: 'a dimension the model does not take',
      grpc: { model_name: 'churn', inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 4], contents: { fp32_contents: [1, 2, 3, 4] } }] },
      rest: ['/v2/models/churn/infer', JSON.stringify({ inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 4], data: [1, 2, 3, 4] }] })],
      code: status.INVALID_ARGUMENT,
    },
    {
      what: 'a negative dimension',
      grpc: { model_name: 'churn', inputs: [{ name: 'x', datatype: 'FP32', shape: [-1, 3], contents: { fp32_contents: [1, 2, 3] } }] },
      rest: ['/v2/models/churn/infer', JSON.stringify({ inputs: [{ name: 'x', datatype: 'FP32', shape: [-1, 3], data: [1, 2, 3] }] })],
      code: status.INVALID_ARGUMENT,
    },
    {
      what: 'the wrong datatype',
      grpc: { model_name: 'churn', inputs: [{ name: 'x', datatype: 'FP64', shape: [1, 3], contents: { fp64_contents: [1, 2, 3] } }] },
      rest: ['/v2/models/churn/infer', JSON.stringify({ inputs: [{ name: 'x', datatype: 'FP64', shape: [1, 3], data: [1, 2, 3] }] })],
      code: status.INVALID_ARGUMENT,
    },
    {
      what: 'an unknown input',
      grpc: { model_name: 'churn', inputs: [{ name: 'z', datatype: 'FP32', shape: [1, 3], contents: { fp32_contents: [1, 2, 3] } }] },
      rest: ['/v2/models/churn/infer', JSON.stringify({ inputs: [{ name: 'z', datatype: 'FP32', shape: [1, 3], data: [1, 2, 3] }] })],
      code: status.INVALID_ARGUMENT,
    },
    {
      what: 'an unknown output',
      grpc: typedRequest(ROWS, { outputs: [{ name: 'nope' }] }),
      rest: ['/v2/models/churn/infer', inferBody(ROWS, { outputs: [{ name: 'nope' }] })],
      code: status.INVALID_ARGUMENT,
    },
    {
      what: 'NaN',
      grpc: typedRequest([[NaN, 1, 2]]),
      rest: ['/v2/models/churn/infer', JSON.stringify({ inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 3], data: ['NaN', 1, 2] }] })],
      code: status.INVALID_ARGUMENT,
    },
    {
      what: 'no inputs',
      grpc: { model_name: 'churn' },
      rest: ['/v2/models/churn/infer', JSON.stringify({ inputs: [] })],
      code: status.INVALID_ARGUMENT,
    },
  ];
  for (const c of cases) {
    it(`refuses ${c.what} with ${status[c.code]} and REST's message`, async () => {
      const [path, body] = c.rest;
      const restRes = await rest(path, body);
      const r = await client.call('ModelInfer', c.grpc);
      expect(r.code).toBe(c.code);
      expect(restRes.status).toBe(c.code === status.NOT_FOUND ? 404 : 400);
      expect(r.details).toBe((restRes.json() as { error: string }).error);
    });
  }

  it("refuses raw contents whose length does not fit the shape with REST's binary-data message", async () => {
    const r = await client.call('ModelInfer', { ...rawRequest(ROWS), raw_input_contents: [f32([1, 2, 3, 4, 5])] });
    const header = JSON.stringify({ inputs: [{ name: 'x', datatype: 'FP32', shape: [3, 3], parameters: { binary_data_size: 20 } }] });
    const restRes = await http(server.port, {
      path: '/v2/models/churn/infer',
      body: Buffer.concat([Buffer.from(header), f32([1, 2, 3, 4, 5])]),
      headers: { 'inference-header-content-length': String(Buffer.byteLength(header)) },
    });
    expect(r.code).toBe(status.INVALID_ARGUMENT);
    expect(r.details).toBe((restRes.json() as { error: string }).error);
    expect(r.details).toBe('input "x": shape [3,3] needs 9 elements (36 bytes of FP32), got 20 bytes');
  });

  it('refuses what only gRPC can get wrong, naming the problem', async () => {
    const both = await client.call('ModelInfer', { ...rawRequest(ROWS), inputs: [{ name: 'x', datatype: 'FP32', shape: [3, 3], contents: { fp32_contents: ROWS.flat() } }] });
    expect([both.code, both.details]).toEqual([status.INVALID_ARGUMENT, 'input "x": has both contents.fp32_contents and raw_input_contents; use one']);
    const count = await client.call('ModelInfer', { ...rawRequest(ROWS), raw_input_contents: [f32(ROWS.flat()), f32([1])] });
    expect([count.code, count.details]).toEqual([status.INVALID_ARGUMENT, 'raw_input_contents has 2 entries for 1 inputs; give one per input, in the order of "inputs"']);
    const field = await client.call('ModelInfer', { model_name: 'churn', inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 3], contents: { int_contents: [1, 2, 3] } }] });
    expect([field.code, field.details]).toEqual([status.INVALID_ARGUMENT, 'input "x": datatype FP32 takes its values in contents.fp32_contents, got contents.int_contents']);
    const session = new RawGrpcSession(server.grpcPort);
    try {
      const garbage = await session.call('ModelInfer', Buffer.from([0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f]));
      expect([garbage.code, garbage.details]).toEqual([status.INVALID_ARGUMENT, 'the request is not a valid inference.ModelInferRequest message: invalid length encoding']);
    } finally {
      session.close();
    }
  });

  it('counts gRPC calls in the REST series with protocol="grpc", and captures their rows for drift', async () => {
    const metrics = async () => (await rest('/metrics')).text;
    const samples = async () =>
      (await http(server.adminPort, { path: '/v2/models/churn/samples', headers: { authorization: 'Bearer test-token' } })).text.trim().split('\n').filter(Boolean);
    const before = await metrics();
    const rowsBefore = (await samples()).length;
    const ok = 'endpoint="infer",code="200",protocol="grpc"';
    const bad = 'endpoint="infer",code="400",protocol="grpc"';
    await client.call('ModelInfer', typedRequest([[7, 8, 9]]));
    await client.call('ModelInfer', rawRequest([[10, 11, 12]]));
    await client.call('ModelInfer', typedRequest([[1, 2]]));
    await client.call('ModelMetadata', { name: 'other' });
    await rest('/v2/models/churn/infer', inferBody([[0, 0, 0]]));
    const after = await metrics();
    const delta = (name: string, labels: string) => (metricValue(after, name, labels) ?? 0) - (metricValue(before, name, labels) ?? 0);
    expect(delta('fluxora_inference_requests_total', ok)).toBe(2);
    expect(delta('fluxora_inference_requests_total', bad)).toBe(1);
    expect(delta('fluxora_inference_requests_total', 'model="_unknown",endpoint="metadata",code="404",protocol="grpc"')).toBe(1);
    expect(delta('fluxora_inference_request_duration_seconds_count', 'endpoint="infer",protocol="grpc"')).toBe(3);
    expect(delta('fluxora_inference_errors_total', 'reason="invalid_request",protocol="grpc"')).toBe(1);
    // REST requests keep their series, now labelled protocol="rest".
    expect(delta('fluxora_inference_requests_total', 'endpoint="infer",code="200",protocol="rest"')).toBe(1);
    const rows = await samples();
    expect(rows.length - rowsBefore).toBe(3);
    const last = rows.slice(-3, -1).map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(last.map((r) => [r.tenure, r.spend, r.visits])).toEqual([
      [7, 8, 9],
      [10, 11, 12],
    ]);
  });

  it('stacks concurrent gRPC calls and REST requests into the same model runs', { timeout: 30_000 }, async () => {
    const before = (await rest('/metrics')).text;
    const agent = new Agent({ keepAlive: true, maxSockets: 32 });
    const n = 200;
    const calls = Array.from({ length: n }, (_, i) => {
      const row = [i, -i, i / 3];
      if (i % 2 === 0) return client.call<InferResponse>('ModelInfer', typedRequest([row], { id: String(i) })).then((r) => ({ row, y: r.response?.outputs[0]?.contents?.fp32_contents?.[0] }));
      return http(server.port, { path: '/v2/models/churn/infer', body: inferBody([row]), agent }).then((r) => ({
        row,
        y: (r.json() as { outputs: { data: number[] }[] }).outputs[0]?.data[0],
      }));
    });
    const results = await Promise.all(calls);
    agent.destroy();
    for (const { row, y } of results) expect(y).toBeCloseTo(linearExpected(row, LINEAR.weights, LINEAR.bias), 4);
    const after = (await rest('/metrics')).text;
    const runs = (metricValue(after, 'fluxora_inference_batch_size_count') ?? 0) - (metricValue(before, 'fluxora_inference_batch_size_count') ?? 0);
    expect(runs).toBeGreaterThan(0);
    expect(runs).toBeLessThan(n);
  });
});

describe('gRPC while the model is loading', () => {
  it('answers not ready, and UNAVAILABLE with REST\'s message for what needs the model', async () => {
    let release: (b: Uint8Array) => void = () => undefined;
    const server = await startServer(testConfig(), {
      logger: pino({ level: 'silent' }),
      readArtifact: () => new Promise((resolve) => (release = resolve)),
    });
    const client = new GrpcTestClient(server.grpcPort);
    try {
      expect((await client.call('ServerLive', {})).response).toMatchObject({ live: true });
      expect((await client.call('ServerReady', {})).response?.ready).toBeFalsy();
      expect((await client.call('ModelReady', { name: 'churn' })).response?.ready).toBeFalsy();
      const restRes = await http(server.port, { path: '/v2/models/churn/infer', body: inferBody(ROWS) });
      expect(restRes.status).toBe(503);
      for (const [method, req] of [
        ['ModelInfer', typedRequest(ROWS)],
        ['ModelMetadata', { name: 'churn' }],
      ] as const) {
        const r = await client.call(method, req);
        expect([r.code, r.details]).toEqual([status.UNAVAILABLE, (restRes.json() as { error: string }).error]);
      }
      const { readFile } = await import('node:fs/promises');
      const { fixturePath } = await import('../fixtures/models/generate.js');
      release(await readFile(fixturePath('linear.onnx')));
      await server.loaded;
      expect((await client.call('ServerReady', {})).response).toMatchObject({ ready: true });
      expect((await client.call('ModelInfer', typedRequest(ROWS))).code).toBe(status.OK);
    } finally {
      client.close();
      await server.shutdown();
    }
  });
});

describe('a model failure over gRPC', () => {
  it('is INTERNAL with REST\'s 500 message, and fails only the call that broke the shared batch', async () => {
    const server = await startServer(testConfig({ maxBatchSize: 64, maxBatchDelayMs: 20, features: [] }), {
      logger: pino({ level: 'silent' }),
      readArtifact: async () => gatherModel(),
    });
    await server.loaded;
    const client = new GrpcTestClient(server.grpcPort);
    try {
      const req = (i: number) => ({ model_name: 'churn', inputs: [{ name: 'idx', datatype: 'INT64', shape: [1], contents: { int64_contents: [i] } }] });
      const results = await Promise.all([0, 1, 99, 2, 3, 4].map((i) => client.call<InferResponse>('ModelInfer', req(i))));
      expect(results.map((r) => r.code)).toEqual([status.OK, status.OK, status.INTERNAL, status.OK, status.OK, status.OK]);
      expect(results[2]?.details).toMatch(/^inference failed: .*indices/i);
      expect(results.filter((r) => r.code === status.OK).map((r) => r.response?.outputs[0]?.contents?.fp32_contents?.[0])).toEqual([10, 11, 12, 13, 14]);
      const text = (await http(server.port, { path: '/metrics' })).text;
      expect(metricValue(text, 'fluxora_inference_errors_total', 'reason="inference",protocol="grpc"')).toBe(1);
      expect(metricValue(text, 'fluxora_inference_requests_total', 'code="500",protocol="grpc"')).toBe(1);
    } finally {
      client.close();
      await server.shutdown();
    }
  });
});

// Every datatype through onnxruntime and back: one Identity (Not for BOOL) per type.
const TYPES: [string, OnnxDataTypeCode, string, unknown[], string][] = [
  ['f64', OnnxDataType.DOUBLE, 'FP64', [0.125, -1e300], 'fp64_contents'],
  ['i32', OnnxDataType.INT32, 'INT32', [-2147483648, 7], 'int_contents'],
  ['i64', OnnxDataType.INT64, 'INT64', ['9007199254740993', '-9223372036854775808'], 'int64_contents'],
  ['i8', OnnxDataType.INT8, 'INT8', [-128, 127], 'int_contents'],
  ['u8', OnnxDataType.UINT8, 'UINT8', [0, 255], 'uint_contents'],
  ['b', OnnxDataType.BOOL, 'BOOL', [true, false], 'bool_contents'],
  ['s', OnnxDataType.STRING, 'BYTES', ['ünï-1', ''], 'bytes_contents'],
];

/** Little-endian element bytes (BYTES: 4-byte length, then the UTF-8 bytes), as raw contents carry them. */
function rawBytes(datatype: string, values: unknown[]): Buffer {
  switch (datatype) {
    case 'FP64':
      return Buffer.from(new Float64Array(values as number[]).buffer);
    case 'INT32':
      return Buffer.from(new Int32Array(values as number[]).buffer);
    case 'INT64':
      return Buffer.from(new BigInt64Array((values as string[]).map((v) => BigInt(v))).buffer);
    case 'INT8':
      return Buffer.from(new Int8Array(values as number[]).buffer);
    case 'UINT8':
    case 'BOOL':
      return Buffer.from((values as (number | boolean)[]).map(Number));
    default:
      return Buffer.concat(
        (values as string[]).flatMap((s) => {
          const b = Buffer.from(s, 'utf8');
          const len = Buffer.alloc(4);
          len.writeUInt32LE(b.length);
          return [len, b];
        }),
      );
  }
}

describe('gRPC datatypes end to end', () => {
  let server: FluxoraServer;
  let client: GrpcTestClient;
  beforeAll(async () => {
    server = await startServer(testConfig({ features: [] }), { logger: pino({ level: 'silent' }), readArtifact: async () => identityModel(TYPES.map(([name, elemType]) => ({ name, elemType }))) });
    await server.loaded;
    client = new GrpcTestClient(server.grpcPort);
  });
  afterAll(async () => {
    client?.close();
    await server?.shutdown();
  });

  it('reports every datatype in ModelMetadata', async () => {
    const meta = await client.call<{ inputs: OutTensor[] }>('ModelMetadata', { name: 'churn' });
    expect(meta.response?.inputs.map((t) => [t.name, t.datatype, t.shape.map(num)])).toEqual(TYPES.map(([n, , d]) => [n, d, [-1]]));
  });

  it('carries every datatype in typed contents, exactly (INT64 beyond 2^53, UTF-8 BYTES)', async () => {
    const inputs = TYPES.map(([name, , datatype, values, field]) => ({
      name,
      datatype,
      shape: [values.length],
      contents: { [field]: field === 'bytes_contents' ? (values as string[]).map((s) => Buffer.from(s)) : values },
    }));
    const r = await client.call<InferResponse>('ModelInfer', { model_name: 'churn', inputs });
    expect(r.details).toBe('');
    const outputs = new Map((r.response?.outputs ?? []).map((o) => [o.name, o]));
    for (const [name, , datatype, values, field] of TYPES) {
      const o = outputs.get(`${name}_out`) as OutTensor;
      expect([o.datatype, o.shape.map(num)], name).toEqual([datatype, [values.length]]);
      const got = (o.contents?.[field] ?? []) as Int64[];
      if (field === 'int64_contents') expect(got.map((v) => v.toString()), name).toEqual(values);
      else if (field === 'bytes_contents') expect(got.map((v) => Buffer.from(v as unknown as Uint8Array).toString('utf8')), name).toEqual(values);
      else if (datatype === 'BOOL') expect(got, name).toEqual((values as boolean[]).map((v) => !v));
      else expect(got, name).toEqual(values);
    }
  });

  it('carries every datatype in raw contents and answers raw', async () => {
    const r = await client.call<InferResponse>('ModelInfer', {
      model_name: 'churn',
      inputs: TYPES.map(([name, , datatype, values]) => ({ name, datatype, shape: [values.length] })),
      raw_input_contents: TYPES.map(([, , datatype, values]) => rawBytes(datatype, values)),
      outputs: TYPES.map(([name]) => ({ name: `${name}_out` })),
    });
    expect(r.details).toBe('');
    const res = r.response as InferResponse;
    expect(res.outputs.every((o) => !o.contents)).toBe(true);
    TYPES.forEach(([name, , datatype, values], i) => {
      const expected = datatype === 'BOOL' ? rawBytes(datatype, (values as boolean[]).map((v) => !v)) : rawBytes(datatype, values);
      expect(Buffer.from(res.raw_output_contents[i] as Uint8Array), name).toEqual(expected);
    });
  });

  it('refuses integers out of their datatype\'s range with REST\'s messages', async () => {
    const one = (name: string, datatype: string, contents: Record<string, unknown[]>) =>
      client.call('ModelInfer', {
        model_name: 'churn',
        inputs: TYPES.map(([n, , d, values, field]) =>
          n === name
            ? { name, datatype, shape: [1], contents }
            : { name: n, datatype: d, shape: [values.length], contents: { [field]: field === 'bytes_contents' ? (values as string[]).map((s) => Buffer.from(s)) : values } },
        ),
      });
    const u8 = await one('u8', 'UINT8', { uint_contents: [256] });
    expect([u8.code, u8.details]).toEqual([status.INVALID_ARGUMENT, 'input "u8": element 0 is out of the UINT8 range (got 256)']);
    const i8 = await one('i8', 'INT8', { int_contents: [-129] });
    expect([i8.code, i8.details]).toEqual([status.INVALID_ARGUMENT, 'input "i8": element 0 is out of the INT8 range (got -129)']);
  });
});
