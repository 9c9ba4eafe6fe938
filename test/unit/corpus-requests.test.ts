// The malformed-request catalogue (test/corpus/requests/requests.yaml)
// against a real `fluxora serve` process: every case gets exactly its
// status and error message, none is answered by the generic 500 path, the
// process logs no error, and afterwards it still serves a good request and
// reports ready.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { FEATURES, fixtureUri, http, inferBody, metricValue, spawnServe, type ServeProcess } from '../fixtures/models/serve-harness.js';

interface RequestCase {
  name: string;
  method?: string;
  path?: string;
  raw?: string;
  json?: unknown;
  binary?: { header: unknown; tailBytes: number };
  rawRepeat?: { text: string; times: number };
  headers?: Record<string, string>;
  status: number;
  error: string;
  allow?: string;
}

const CATALOGUE = join(import.meta.dirname, '..', 'corpus', 'requests', 'requests.yaml');
const catalogue = parse(readFileSync(CATALOGUE, 'utf8')) as { defaults: { path: string }; cases: RequestCase[] };

/** The body and headers a case describes; exactly one body form may be given. */
function encode(c: RequestCase): { body: string | Buffer | undefined; headers: Record<string, string> } {
  const forms = (['raw', 'json', 'binary', 'rawRepeat'] as const).filter((k) => c[k] !== undefined);
  if (forms.length > 1) throw new Error(`case "${c.name}" gives more than one body form: ${forms.join(', ')}`);
  const headers = { ...c.headers };
  if (c.raw !== undefined) return { body: c.raw, headers };
  if (c.json !== undefined) return { body: JSON.stringify(c.json), headers: { 'content-type': 'application/json', ...headers } };
  if (c.rawRepeat !== undefined) return { body: c.rawRepeat.text.repeat(c.rawRepeat.times), headers };
  if (c.binary !== undefined) {
    const head = Buffer.from(JSON.stringify(c.binary.header));
    return {
      body: Buffer.concat([head, Buffer.alloc(c.binary.tailBytes)]),
      headers: { 'content-type': 'application/octet-stream', 'inference-header-content-length': String(head.length), ...headers },
    };
  }
  return { body: undefined, headers };
}

let serve: ServeProcess;
beforeAll(async () => {
  serve = await spawnServe([
    '--model-name=churn',
    `--model-uri=${fixtureUri('linear.onnx')}`,
    '--model-version=v1',
    `--features=${JSON.stringify(FEATURES)}`,
    '--host=127.0.0.1',
    '--port=0',
    '--admin-port=0',
    '--max-body-bytes=65536',
  ]);
}, 60_000);
afterAll(async () => {
  if (serve && serve.child.exitCode === null) {
    serve.child.kill('SIGTERM');
    await serve.exited;
  }
});

describe('malformed inference requests', () => {
  it('the catalogue is well formed', () => {
    expect(catalogue.cases.length).toBeGreaterThanOrEqual(60);
    const names = catalogue.cases.map((c) => c.name);
    expect(new Set(names).size, 'case names must be unique').toBe(names.length);
    for (const c of catalogue.cases) {
      expect(c.status, c.name).toBeGreaterThanOrEqual(400);
      expect(c.status, c.name).toBeLessThan(500);
      expect(c.error, c.name).toBeTypeOf('string');
    }
  });

  it.each(catalogue.cases.map((c) => [c.name, c] as const))('%s', async (_name, c) => {
    const { body, headers } = encode(c);
    const method = c.method ?? (body === undefined ? 'GET' : 'POST');
    const res = await http(serve.port, { method, path: c.path ?? catalogue.defaults.path, body, headers });
    expect(res.headers['content-type']).toBe('application/json');
    expect({ status: res.status, body: res.json() }).toEqual({ status: c.status, body: { error: c.error } });
    if (c.allow !== undefined) expect(res.headers.allow).toBe(c.allow);
  });

  it('afterwards the server still serves, is ready, and logged no error', async () => {
    const ok = await http(serve.port, { path: '/v2/models/churn/infer', body: inferBody([[1, 2, 3]]) });
    expect(ok.status).toBe(200);
    expect((ok.json() as { outputs: { name: string }[] }).outputs[0]?.name).toBe('y');
    expect((await http(serve.port, { path: '/v2/health/ready' })).status).toBe(200);
    expect(serve.child.exitCode).toBeNull();
    // Every refusal is counted as a client error, none as an internal one.
    const metrics = (await http(serve.port, { path: '/metrics' })).text;
    expect(metricValue(metrics, 'fluxora_inference_errors_total', 'reason="invalid_request"')).toBeGreaterThan(40);
    expect(metricValue(metrics, 'fluxora_inference_errors_total', 'reason="internal"')).toBeUndefined();
    // pino levels: 50 error, 60 fatal.
    expect(serve.logs.filter((l) => typeof l.level === 'number' && l.level >= 50)).toEqual([]);
  });
});
