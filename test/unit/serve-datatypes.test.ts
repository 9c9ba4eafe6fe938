// Every V2 datatype the server carries, end to end through onnxruntime: a
// model of Identity (and Not) nodes over one input per type, called with JSON
// data and with the binary tensor extension, alone and batched.
import { Buffer } from 'node:buffer';
import { Agent } from 'node:http';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OnnxDataType, type OnnxDataTypeCode } from '../../src/serving/onnx-proto.js';
import { startServer, type FluxoraServer } from '../../src/serving/server.js';
import { http, testConfig } from '../fixtures/models/serve-harness.js';
import { identityModel } from '../fixtures/models/test-models.js';

const TYPES: [string, OnnxDataTypeCode, string, (string | number)[]][] = [
  ['f64', OnnxDataType.DOUBLE, 'FP64', [-1, 2]],
  ['i32', OnnxDataType.INT32, 'INT32', [-1]],
  ['i64', OnnxDataType.INT64, 'INT64', [-1]],
  ['i8', OnnxDataType.INT8, 'INT8', [-1]],
  ['u8', OnnxDataType.UINT8, 'UINT8', [-1]],
  ['b', OnnxDataType.BOOL, 'BOOL', [-1]],
  ['s', OnnxDataType.STRING, 'BYTES', [-1]],
];

const row = (i: number) => ({
  f64: [i + 0.125, -i - 1],
  i32: [-100000 * i - 1],
  i64: [i === 1 ? '9007199254740993' : i],
  i8: [-i - 1],
  u8: [200 + i],
  b: [i % 2 === 0],
  s: [`ünï-${i}`],
});

function jsonRequest(rows: ReturnType<typeof row>[]) {
  return {
    inputs: TYPES.map(([name, , datatype, s]) => ({
      name,
      datatype,
      shape: [rows.length, ...s.slice(1)],
      data: rows.map((r) => r[name as keyof typeof r]),
    })),
  };
}

interface Out {
  name: string;
  datatype: string;
  shape: number[];
  data: unknown[];
  parameters?: { binary_data_size: number };
}

let server: FluxoraServer;
beforeAll(async () => {
  server = await startServer(testConfig({ features: [], maxBatchDelayMs: 20 }), { logger: pino({ level: 'silent' }), readArtifact: async () => identityModel(TYPES.map(([name, elemType, , shape]) => ({ name, elemType, shape }))) });
  await server.loaded;
});
afterAll(async () => {
  await server.shutdown();
});

describe('datatypes end to end', () => {
  it('reports the model metadata of every type', async () => {
    const meta = (await http(server.port, { path: '/v2/models/churn' })).json() as { inputs: Out[] };
    expect(meta.inputs.map((i) => [i.name, i.datatype, i.shape])).toEqual(TYPES.map(([n, , d, s]) => [n, d, s]));
  });

  it('round-trips JSON data of every type, batched across concurrent requests', async () => {
    const agent = new Agent({ keepAlive: true, maxSockets: 8 });
    const results = await Promise.all(
      [0, 1, 2, 3].map((i) => http(server.port, { path: '/v2/models/churn/infer', body: JSON.stringify(jsonRequest([row(i)])), agent })),
    );
    agent.destroy();
    results.forEach((res, i) => {
      expect(res.status, res.text).toBe(200);
      const outs = Object.fromEntries((res.json() as { outputs: Out[] }).outputs.map((o) => [o.name, o]));
      const r = row(i);
      expect(outs.f64_out?.data).toEqual(r.f64);
      expect(outs.f64_out?.shape).toEqual([1, 2]);
      expect(outs.i32_out?.data).toEqual(r.i32);
      // JSON numbers are doubles: INT64 beyond 2^53 comes back rounded (binary data keeps it exact).
      expect(outs.i64_out?.data).toEqual([Number(r.i64[0])]);
      expect(outs.i8_out?.data).toEqual(r.i8);
      expect(outs.u8_out?.data).toEqual(r.u8);
      expect(outs.b_out?.data).toEqual([!r.b[0]]);
      expect(outs.s_out).toMatchObject({ datatype: 'BYTES', data: r.s });
    });
  });

  it('round-trips the binary tensor extension, exactly', async () => {
    const parts: Buffer[] = [];
    const bin = (name: string, datatype: string, shape: number[], bytes: Buffer) => {
      parts.push(bytes);
      return { name, datatype, shape, parameters: { binary_data_size: bytes.length } };
    };
    const str = (s: string) => {
      const b = Buffer.from(s);
      const len = Buffer.alloc(4);
      len.writeUInt32LE(b.length);
      return Buffer.concat([len, b]);
    };
    const inputs = [
      bin('f64', 'FP64', [1, 2], Buffer.from(Float64Array.from([0.1, -2]).buffer)),
      bin('i32', 'INT32', [1], Buffer.from(Int32Array.from([-7]).buffer)),
      bin('i64', 'INT64', [1], Buffer.from(BigInt64Array.from([9007199254740993n]).buffer)),
      bin('i8', 'INT8', [1], Buffer.from(Int8Array.from([-128]).buffer)),
      bin('u8', 'UINT8', [1], Buffer.from([255])),
      bin('b', 'BOOL', [1], Buffer.from([1])),
      bin('s', 'BYTES', [1], str('bïnary')),
    ];
    const header = Buffer.from(JSON.stringify({ inputs, parameters: { binary_data_output: true } }));
    const res = await http(server.port, {
      path: '/v2/models/churn/infer',
      body: Buffer.concat([header, ...parts]),
      headers: { 'inference-header-content-length': String(header.length) },
    });
    expect(res.status, res.text).toBe(200);
    const n = Number(res.headers['inference-header-content-length']);
    const outs = (JSON.parse(res.body.subarray(0, n).toString()) as { outputs: Out[] }).outputs;
    let off = n;
    const got: Record<string, Buffer> = {};
    for (const o of outs) {
      const size = o.parameters?.binary_data_size ?? 0;
      got[o.name] = res.body.subarray(off, off + size);
      off += size;
    }
    expect(off).toBe(res.body.length);
    expect(got.f64_out?.equals(parts[0] as Buffer)).toBe(true);
    expect(got.i64_out?.readBigInt64LE(0)).toBe(9007199254740993n);
    expect(got.i8_out?.readInt8(0)).toBe(-128);
    expect(got.u8_out?.[0]).toBe(255);
    expect(got.b_out?.[0]).toBe(0);
    expect(got.s_out?.equals(str('bïnary'))).toBe(true);
  });
});
