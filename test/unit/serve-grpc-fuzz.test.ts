// Thousands of random and malformed gRPC calls (seeded, so a failure
// reproduces) against a running server, sent over bare HTTP/2 so nothing
// tidies them up: requests with every part broken, protobuf bytes truncated,
// corrupted or random, fields of the wrong wire type, lengths declaring far
// more than is sent, raw contents whose length does not fit the shape, and
// broken gRPC framing. Every call must end with a gRPC status (an error with
// a message, or OK with a valid response), never INTERNAL or UNKNOWN from a
// message we decode, and the server must still serve afterwards.
import { Buffer } from 'node:buffer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seededRandom } from '../../src/training/random.js';
import { decodeMessage, encodeMessage } from '../../src/serving/grpc-proto.js';
import type { FluxoraServer } from '../../src/serving/server.js';
import { frame, GrpcTestClient, RawGrpcSession, status, type RawResult } from '../fixtures/models/grpc-client.js';
import { http, metricValue, startTestServer } from '../fixtures/models/serve-harness.js';

const SEED = 0x6e9c_f00d;
const CALLS = 3000;
/** testConfig's maxBodyBytes: larger messages are refused by grpc-js before we see them. */
const MAX_MESSAGE = 64 * 1024;

function rng(seed: number) {
  const next = seededRandom(seed);
  const int = (n: number) => Math.floor(next() * n);
  const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)] as T;
  const bytes = (n: number) => Buffer.from(Array.from({ length: n }, () => int(256)));
  return { next, int, pick, bytes };
}
type Rng = ReturnType<typeof rng>;

const DATATYPES = ['FP32', 'FP64', 'INT32', 'INT64', 'INT8', 'UINT8', 'UINT64', 'BOOL', 'BYTES', 'FP16', 'fp32', '', 'X'];
const FIELDS = ['bool_contents', 'int_contents', 'int64_contents', 'uint_contents', 'uint64_contents', 'fp32_contents', 'fp64_contents', 'bytes_contents'];
const SHAPES: unknown[][] = [[4], [], [-1, 3], [0, 3], [1, 3, 1], [2 ** 40, 3], ['9223372036854775807', 3], ['-9223372036854775808', 3], [3, 2 ** 31], [1e6, 1e6]];
const NUMBERS = [0, -1, 1.5, 1e300, -1e-300, 2 ** 53, NaN, Infinity, -Infinity, 3.4e38, 3.5e38, 255, 256, -129, 2 ** 31];

/** Varint, as protobuf writes lengths and tags. */
function varint(n: number): Buffer {
  const out: number[] = [];
  let v = BigInt(n);
  do {
    let b = Number(v & 0x7fn);
    v >>= 7n;
    if (v > 0n) b |= 0x80;
    out.push(b);
  } while (v > 0n);
  return Buffer.from(out);
}
const tag = (field: number, wireType: number) => varint(field * 8 + wireType);

/** A valid request, typed or raw, with one part broken (or none). */
function mutatedRequest(r: Rng): { message: Record<string, unknown>; raw: boolean } {
  const rows = 1 + r.int(4);
  const values = Array.from({ length: rows * 3 }, () => r.next() * 10 - 5);
  const raw = r.int(2) === 0;
  const input: Record<string, unknown> = { name: 'x', datatype: 'FP32', shape: [rows, 3] };
  const msg: Record<string, unknown> = { model_name: 'churn', id: `f${r.int(1e6)}`, inputs: [input] };
  if (raw) msg.raw_input_contents = [Buffer.from(new Float32Array(values).buffer)];
  else input.contents = { fp32_contents: values };
  switch (r.int(14)) {
    case 0:
      input.name = r.pick(['y', 'X', '', 'x\u0000', '\u00ff'.repeat(200)]);
      break;
    case 1:
      input.datatype = r.pick(DATATYPES);
      break;
    case 2:
      input.shape = r.pick(SHAPES);
      break;
    case 3:
      // Typed values in the wrong field, or bad values in the right one.
      if (raw) delete msg.raw_input_contents;
      input.contents = r.int(2) === 0 ? { [r.pick(FIELDS)]: [1, 2, 3] } : { fp32_contents: values.map((v, i) => (i === 0 ? r.pick(NUMBERS) : v)) };
      if (JSON.stringify(input.contents).includes('bytes_contents')) input.contents = { bytes_contents: [Buffer.from('a')] };
      break;
    case 4:
      // Raw contents of the wrong length, or as many as there are not inputs.
      msg.raw_input_contents = r.pick([[Buffer.alloc(rows * 12 - 1)], [Buffer.alloc(rows * 12 + 4)], [Buffer.alloc(0)], [Buffer.alloc(12), Buffer.alloc(12)], [r.bytes(r.int(64))]]);
      delete input.contents;
      break;
    case 5:
      // Both raw and typed.
      input.contents = { fp32_contents: values };
      msg.raw_input_contents = [Buffer.from(new Float32Array(values).buffer)];
      break;
    case 6:
      msg.inputs = r.pick([[], [input, input], [input, { name: 'z' }], [{}]]);
      break;
    case 7:
      msg.outputs = r.pick([[{ name: 'nope' }], [{ name: 'y' }, { name: 'y' }], [{}], [{ name: 'y', parameters: { binary_data: { bool_param: true } } }]]);
      break;
    case 8:
      msg.model_name = r.pick(['', 'other', 'churn ', '%ZZ']);
      break;
    case 9:
      msg.model_version = r.pick(['v1', 'v2', '', '../v1']);
      break;
    case 10:
      msg.parameters = { [r.pick(['priority', 'timeout', 'binary_data_output', ''])]: r.pick([{ bool_param: true }, { int64_param: -1 }, { string_param: 'x' }, { double_param: NaN }]) };
      input.parameters = { binary_data_size: { int64_param: r.int(1000) } };
      break;
    default:
      break; // valid
  }
  const rawContents = msg.raw_input_contents;
  return { message: msg, raw: Array.isArray(rawContents) && rawContents.length > 0 };
}

/** Protobuf that protobufjs must refuse or misread: wrong wire types, lengths far beyond the message, deep groups. */
function malformedProtobuf(r: Rng, valid: Buffer): Buffer {
  switch (r.int(9)) {
    case 0:
      return valid.subarray(0, r.int(valid.length)); // truncated
    case 1: {
      const b = Buffer.from(valid);
      for (let i = 0; i < 1 + r.int(4); i++) b[r.int(b.length)] = r.int(256); // corrupted
      return b;
    }
    case 2: {
      const at = r.int(valid.length); // random bytes inserted
      return Buffer.concat([valid.subarray(0, at), r.bytes(1 + r.int(16)), valid.subarray(at)]);
    }
    case 3:
      return r.bytes(r.int(300)); // random
    case 4:
      // A known field with another wire type: inputs (5) as a varint, model_name (1) as fixed64, raw contents (7) as fixed32.
      return Buffer.concat([r.pick([Buffer.concat([tag(5, 0), varint(r.int(1e9))]), Buffer.concat([tag(1, 1), r.bytes(8)]), Buffer.concat([tag(7, 5), r.bytes(4)])]), valid]);
    case 5:
      // Invalid wire types 6 and 7, and an end-group without a start.
      return Buffer.concat([valid, tag(1 + r.int(20), r.pick([4, 6, 7])), r.bytes(r.int(8))]);
    case 6:
      // A length-delimited field declaring far more than the message holds.
      return Buffer.concat([valid, tag(r.pick([1, 3, 5, 6, 7]), 2), varint(r.pick([2 ** 31 - 1, 2 ** 32, 2 ** 35, 1e6])), r.bytes(r.int(32))]);
    case 7: {
      // An input whose packed shape, or whose contents, declares far more bytes than follow.
      const inner = r.int(2) === 0 ? Buffer.concat([tag(3, 2), varint(2 ** 30)]) : Buffer.concat([tag(5, 2), varint(1e9), tag(6, 2), varint(4)]);
      return Buffer.concat([tag(1, 2), varint(5), Buffer.from('churn'), tag(5, 2), varint(inner.length + 4), inner, r.bytes(4)]);
    }
    default: {
      // Unknown fields as nested groups, deeper than any decoder should recurse.
      const depth = r.pick([10, 200, 5000]);
      return Buffer.concat([valid, Buffer.concat(Array.from({ length: depth }, () => tag(99, 3))), Buffer.concat(Array.from({ length: r.int(2) === 0 ? depth : 0 }, () => tag(99, 4)))]);
    }
  }
}

interface FuzzCall {
  method: string;
  body: Buffer;
  /** The body is the whole HTTP/2 payload (broken gRPC framing), not one message to frame. */
  framed: boolean;
  /** Sent raw_input_contents: an OK answer must be raw. */
  raw?: boolean;
}

function randomCall(r: Rng): FuzzCall {
  const { message, raw } = mutatedRequest(r);
  let body: Buffer;
  try {
    body = encodeMessage('ModelInferRequest', message);
  } catch {
    body = encodeMessage('ModelInferRequest', { model_name: 'churn' });
  }
  const kind = r.int(20);
  if (kind < 11) return { method: 'ModelInfer', body, framed: false, raw };
  if (kind < 16) return { method: 'ModelInfer', body: malformedProtobuf(r, body), framed: false };
  if (kind < 18) {
    const method = r.pick(['ServerLive', 'ServerReady', 'ModelReady', 'ServerMetadata', 'ModelMetadata']);
    const named = encodeMessage('ModelReadyRequest', { name: r.pick(['churn', 'other', '']), version: r.pick(['', 'v1', 'v2']) });
    return { method, body: r.int(2) === 0 ? named : malformedProtobuf(r, named), framed: false };
  }
  // Broken framing: a length prefix that lies, over the limit, nothing, half a header, two messages.
  const framed = r.pick([
    frame(body, { declaredLength: body.length + 1 + r.int(100) }),
    frame(body, { declaredLength: Math.max(0, body.length - 1 - r.int(body.length)) }),
    frame(body, { declaredLength: r.pick([MAX_MESSAGE + 1, 2 ** 31, 2 ** 32 - 1]) }),
    Buffer.alloc(0),
    Buffer.from([0, 0, 0]),
    Buffer.concat([frame(body), frame(body)]),
  ]);
  return { method: 'ModelInfer', body: framed, framed: true };
}

let server: FluxoraServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => {
  await server?.shutdown();
});

describe('gRPC fuzz', () => {
  it(`${CALLS} random and malformed gRPC calls each end with a gRPC status, never a crash`, { timeout: 120_000 }, async () => {
    const r = rng(SEED);
    const calls = Array.from({ length: CALLS }, () => randomCall(r));
    const sessions = Array.from({ length: 4 }, () => new RawGrpcSession(server.grpcPort));
    const codes = new Map<string, number>();
    const problems: string[] = [];
    let countedInvalid = 0;
    const check = (c: FuzzCall, res: RawResult, i: number) => {
      const name = res.code === undefined ? 'none' : (status[res.code] ?? String(res.code));
      codes.set(name, (codes.get(name) ?? 0) + 1);
      // Like REST's health endpoints, ServerLive and ServerReady are not counted in the metrics.
      if (res.code === status.INVALID_ARGUMENT && c.method !== 'ServerLive' && c.method !== 'ServerReady') countedInvalid++;
      const where = `#${i} ${c.method}${c.framed ? ' (framing)' : ''} -> ${name} ${res.details.slice(0, 160)}${res.error ? ` [${res.error}]` : ''}`;
      if (res.code === undefined) return void problems.push(`${where}: no gRPC status`);
      // Broken framing is grpc-js's to refuse (UNIMPLEMENTED "no request message", RESOURCE_EXHAUSTED): any status will do.
      if (c.framed) return;
      if (res.code === status.OK) {
        if (!res.message) return void problems.push(`${where}: OK without a response message`);
        if (c.method !== 'ModelInfer') return;
        try {
          const out = decodeMessage<{ outputs: unknown[]; raw_output_contents: unknown[] }>('ModelInferResponse', res.message);
          if (out.outputs.length === 0) problems.push(`${where}: OK without outputs`);
          if (c.raw && out.raw_output_contents.length !== out.outputs.length) problems.push(`${where}: raw request, answer not raw`);
        } catch (e) {
          problems.push(`${where}: response does not decode: ${(e as Error).message}`);
        }
        return;
      }
      const allowed = [status.INVALID_ARGUMENT, status.NOT_FOUND, ...(c.body.length > MAX_MESSAGE ? [status.RESOURCE_EXHAUSTED] : [])];
      if (!allowed.includes(res.code)) problems.push(where);
      else if (res.details === '') problems.push(`${where}: no message`);
    };
    let next = 0;
    await Promise.all(
      Array.from({ length: 16 }, async (_, worker) => {
        const session = sessions[worker % sessions.length] as RawGrpcSession;
        while (next < calls.length) {
          const i = next++;
          const c = calls[i] as FuzzCall;
          check(c, await session.call(c.method, c.body, { framed: c.framed }), i);
        }
      }),
    );
    for (const s of sessions) s.close();
    expect(problems.slice(0, 20)).toEqual([]);
    // The corpus must exercise both outcomes, or it tests nothing.
    expect(codes.get('OK') ?? 0).toBeGreaterThan(300);
    expect(codes.get('INVALID_ARGUMENT') ?? 0).toBeGreaterThan(1000);
    expect(codes.get('NOT_FOUND') ?? 0).toBeGreaterThan(50);

    // Still serving, on both protocols, and nothing was an internal error.
    const client = new GrpcTestClient(server.grpcPort);
    try {
      const ok = await client.call<{ outputs: { contents: { fp32_contents: number[] } }[] }>('ModelInfer', {
        model_name: 'churn',
        inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 3], contents: { fp32_contents: [1, 2, 3] } }],
      });
      expect(ok.code).toBe(status.OK);
      expect(ok.response?.outputs[0]?.contents.fp32_contents[0]).toBeCloseTo(4.1, 5);
      expect((await client.call('ServerReady', {})).response).toMatchObject({ ready: true });
    } finally {
      client.close();
    }
    expect((await http(server.port, { path: '/v2/health/ready' })).status).toBe(200);
    const metrics = (await http(server.port, { path: '/metrics' })).text;
    expect(metricValue(metrics, 'fluxora_inference_errors_total', 'reason="internal"')).toBeUndefined();
    // Every refused ModelInfer we decoded is counted (under the served model or "_unknown").
    const invalid = metrics
      .split('\n')
      .filter((l) => l.startsWith('fluxora_inference_errors_total{') && l.includes('reason="invalid_request"') && l.includes('protocol="grpc"'))
      .reduce((n, l) => n + Number(l.slice(l.lastIndexOf(' ') + 1)), 0);
    expect(invalid).toBe(countedInvalid);
  });

  it('answers a request that is not gRPC at all with HTTP 415, and keeps serving', async () => {
    const session = new RawGrpcSession(server.grpcPort);
    try {
      const { stream, result } = session.open('ModelInfer', { 'content-type': 'application/json' });
      const head = new Promise<number>((resolve) => stream.once('response', (h) => resolve(Number(h[':status']))));
      stream.end('{"inputs": []}');
      expect(await head).toBe(415);
      await result;
      const ok = await session.call('ServerLive', Buffer.alloc(0));
      expect(ok.code).toBe(status.OK);
    } finally {
      session.close();
    }
  });
});
