// Thousands of random and malformed requests (seeded, so a failure
// reproduces) against a running server: every answer is a 4xx JSON error or
// a valid 200, nothing is a 5xx, and the server still serves afterwards.
import { Buffer } from 'node:buffer';
import { Agent } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FluxoraServer } from '../../src/serving/server.js';
import { http, inferBody, startTestServer, type RequestOptions } from '../fixtures/models/serve-harness.js';

const SEED = 0x5eed_f1ec;
const REQUESTS = 3000;

/** mulberry32: tiny, seedable, good enough to pick mutations. */
function prng(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (n: number) => Math.floor(next() * n);
  const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)] as T;
  return { next, int, pick };
}
type Rng = ReturnType<typeof prng>;

const VALUES: unknown[] = [0, -1, 1.5, 1e308, -1e-308, 2 ** 53, 'x', '', 'NaN', 'Infinity', null, true, false, [], {}, [1, 2, 3], [[1], [2]], { a: 1 }];
const DATATYPES = ['FP32', 'FP64', 'INT32', 'INT64', 'INT8', 'UINT8', 'BOOL', 'BYTES', 'FP16', 'fp32', '', 'X'];
const PATHS = [
  '/v2/models/churn/infer',
  '/v2/models/churn/versions/v1/infer',
  '/v2/models/churn/versions/v2/infer',
  '/v2/models/other/infer',
  '/v1/models/churn:predict',
  '/v2/models/churn',
  '/v2/models/churn/ready',
  '/v2/models/churn/samples',
  '/v2',
  '/v2/health/ready',
  '/metrics',
  '/v2/models/%ZZ/infer',
  '/v2/models//infer',
  '/' + 'a'.repeat(300),
];

function randomValue(r: Rng, depth = 0): unknown {
  const k = r.int(depth > 3 ? 3 : 6);
  if (k === 0) return r.pick(VALUES);
  if (k === 1) return r.next() * 2000 - 1000;
  if (k === 2) return String.fromCharCode(...Array.from({ length: r.int(8) }, () => 32 + r.int(90)));
  if (k === 3) return Array.from({ length: r.int(5) }, () => randomValue(r, depth + 1));
  if (k === 4) return Object.fromEntries(Array.from({ length: r.int(4) }, () => [r.pick(['name', 'shape', 'data', 'datatype', 'inputs', 'x', 'id']), randomValue(r, depth + 1)]));
  return r.int(100);
}

/** A valid request with one part broken (or not). */
function mutatedRequest(r: Rng): unknown {
  const rows = 1 + r.int(4);
  const input: Record<string, unknown> = {
    name: 'x',
    datatype: 'FP32',
    shape: [rows, 3],
    data: Array.from({ length: rows }, () => [r.next(), r.next(), r.next()]),
  };
  const body: Record<string, unknown> = { id: `f${r.int(1e6)}`, inputs: [input] };
  switch (r.int(12)) {
    case 0:
      input.name = r.pick(['y', 'X', '', 5, null]);
      break;
    case 1:
      input.datatype = r.pick(DATATYPES);
      break;
    case 2:
      input.shape = r.pick([[rows, 4], [rows], [], [-1, 3], [rows, 3, 1], [1e12, 3], '2,3', null, [rows, 3.5]]);
      break;
    case 3:
      (input.data as unknown[][])[0] = [randomValue(r), 1, 2];
      break;
    case 4:
      input.data = randomValue(r);
      break;
    case 5:
      body.inputs = r.pick([[], null, 'x', [input, input], [input, { name: 'z' }], {}]);
      break;
    case 6:
      body.outputs = r.pick([[{ name: 'nope' }], 'y', [{}], [{ name: 'y', parameters: { binary_data: 'yes' } }], [{ name: 'y', parameters: { binary_data: true } }]]);
      break;
    case 7:
      body.parameters = r.pick([null, 5, { binary_data_output: true }, { binary_data_output: 1 }]);
      break;
    case 8:
      input.parameters = r.pick([{ binary_data_size: 12 * rows }, { binary_data_size: -1 }, 'p', { binary_data_size: 1e9 }]);
      delete input.data;
      break;
    case 9:
      body.id = randomValue(r);
      break;
    default:
      break; // valid
  }
  return body;
}

function randomRequest(r: Rng): RequestOptions {
  const path = r.int(4) === 0 ? r.pick(PATHS) : '/v2/models/churn/infer';
  const method = r.int(8) === 0 ? r.pick(['GET', 'PUT', 'DELETE', 'PATCH', 'POST']) : 'POST';
  const headers: Record<string, string> = { 'content-type': r.pick(['application/json', 'text/plain', 'application/octet-stream']) };
  let body: string | Buffer;
  const kind = r.int(10);
  if (kind === 0) body = Buffer.from(Array.from({ length: r.int(200) }, () => r.int(256)));
  else if (kind === 1) body = JSON.stringify(randomValue(r));
  else {
    let text = JSON.stringify(mutatedRequest(r));
    if (r.int(6) === 0) text = text.slice(0, r.int(text.length)); // truncated
    if (r.int(8) === 0) {
      const at = r.int(text.length);
      text = text.slice(0, at) + r.pick(['NaN', '}', '"', '\\', '\u0000', '[', ',', 'Infinity']) + text.slice(at);
    }
    body = text;
  }
  if (r.int(10) === 0) {
    const b = Buffer.isBuffer(body) ? body : Buffer.from(body);
    headers['inference-header-content-length'] = r.pick([String(r.int(b.length + 5)), '-1', 'abc', '1e3']);
    body = Buffer.concat([b, Buffer.from(Array.from({ length: r.int(40) }, () => r.int(256)))]);
  }
  if (r.int(40) === 0) body = Buffer.alloc(70_000, 97); // over the 64 KiB limit
  return { method, path, body, headers };
}

let server: FluxoraServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => {
  await server.shutdown();
});

describe('fuzz', () => {
  it(`${REQUESTS} random and malformed requests get 4xx JSON errors or valid 200s`, { timeout: 120_000 }, async () => {
    const r = prng(SEED);
    const agent = new Agent({ keepAlive: true, maxSockets: 16 });
    const statuses = new Map<number, number>();
    const problems: string[] = [];
    const check = async (o: RequestOptions, i: number) => {
      const res = await http(server.port, { ...o, agent });
      statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
      const where = `#${i} ${o.method} ${o.path} -> ${res.status}`;
      if (o.path.endsWith('/metrics') && res.status === 200) return;
      const binary = res.headers['inference-header-content-length'];
      const text = binary === undefined ? res.text : res.body.subarray(0, Number(binary)).toString();
      let json: unknown;
      try {
        json = JSON.parse(text);
      } catch {
        problems.push(`${where}: body is not JSON: ${text.slice(0, 80)}`);
        return;
      }
      if (res.status === 200) return;
      if (res.status < 400 || res.status >= 500) problems.push(`${where}: ${text.slice(0, 200)}`);
      else if (typeof (json as { error?: unknown }).error !== 'string') problems.push(`${where}: no "error" string: ${text.slice(0, 120)}`);
    };
    const requests = Array.from({ length: REQUESTS }, () => randomRequest(r));
    let next = 0;
    await Promise.all(
      Array.from({ length: 16 }, async () => {
        while (next < requests.length) {
          const i = next++;
          await check(requests[i] as RequestOptions, i);
        }
      }),
    );
    agent.destroy();
    expect(problems.slice(0, 20)).toEqual([]);
    // The corpus must exercise both outcomes, or it tests nothing.
    expect(statuses.get(200) ?? 0).toBeGreaterThan(100);
    expect(statuses.get(400) ?? 0).toBeGreaterThan(1000);
    const ok = await http(server.port, { path: '/v2/models/churn/infer', body: inferBody([[1, 2, 3]]) });
    expect(ok.status).toBe(200);
    expect((await http(server.port, { path: '/v2/health/ready' })).status).toBe(200);
  });

  it('survives malformed HTTP itself', async () => {
    const { connect } = await import('node:net');
    const raw = (payload: string) =>
      new Promise<string>((resolve) => {
        const s = connect(server.port, '127.0.0.1', () => s.end(payload));
        let out = '';
        s.on('data', (d: Buffer) => (out += d.toString()));
        s.on('close', () => resolve(out));
        s.on('error', () => resolve(out));
      });
    expect(await raw('GARBAGE\r\n\r\n')).toMatch(/^HTTP\/1\.1 400/);
    expect(await raw(`POST /v2/models/churn/infer HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n`)).toMatch(/^HTTP\/1\.1 400/);
    expect(await raw(`GET / HTTP/1.1\r\nHost: x\r\nX: ${'a'.repeat(20_000)}\r\n\r\n`)).toMatch(/^HTTP\/1\.1 431/);
    expect((await http(server.port, { path: '/v2/models/churn/infer', body: inferBody([[1, 2, 3]]) })).status).toBe(200);
  });
});
