// Promotion analysis on the serving side, through real `fluxora serve`
// processes and real onnxruntime: the operator PUTs an analysis id (and, for
// a Shadow champion, a mirror to the candidate) on the admin port and GETs
// the figures. A champion mirrors its requests to a real candidate pod after
// answering its own client, and compares the answers.
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, Agent, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { promotionPath, type PodFigures } from '../../src/promotion/figures.js';
import { buildLinearModel } from '../../src/serving/onnx-builder.js';
import { REBALANCE_CONNECTION_AGE_MS } from '../../src/serving/promotion.js';
import { freePort } from '../support/ports.js';
import { fixturePath, LINEAR } from '../fixtures/models/generate.js';
import { GrpcTestClient, status } from '../fixtures/models/grpc-client.js';
import { gatherModel } from '../fixtures/models/test-models.js';
import { FEATURES, fixtureUri, http, inferBody, linearExpected, spawnServe, type ServeProcess } from '../fixtures/models/serve-harness.js';

const TOKEN = 'promotion-token';
const AUTH = { authorization: `Bearer ${TOKEN}` };
const PATH = promotionPath('churn');
/** The candidate of the "different model" case: the champion's weights, its bias 0.75 higher. */
const SHIFT = 0.75;
const SHIFTED_BIAS = [LINEAR.bias[0] + SHIFT];

const dir = mkdtempSync(join(tmpdir(), 'fluxora-promotion-'));
const procs: ServeProcess[] = [];
const servers: Server[] = [];

afterAll(() => {
  for (const p of procs) if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL');
  for (const s of servers) {
    s.closeAllConnections();
    s.close();
  }
  rmSync(dir, { recursive: true, force: true });
});

async function serve(version: string, uri: string, extra: string[] = []): Promise<ServeProcess> {
  const args = ['--model-name', 'churn', '--model-uri', uri, '--model-version', version, '--features', JSON.stringify(FEATURES)];
  args.push('--host', '127.0.0.1', '--port', '0', '--admin-port', '0', '--grpc-port', '0', ...extra);
  const p = await spawnServe(args, { FLUXORA_SAMPLES_TOKEN: TOKEN });
  procs.push(p);
  return p;
}

function modelFile(name: string, bytes: Uint8Array): string {
  const path = join(dir, name);
  writeFileSync(path, bytes);
  return pathToFileURL(path).href;
}

const put = (p: ServeProcess, body: unknown, headers: Record<string, string> = AUTH) =>
  http(p.adminPort, { method: 'PUT', path: PATH, body: typeof body === 'string' ? body : JSON.stringify(body), headers: { ...headers, 'content-type': 'application/json' } });

async function figures(p: ServeProcess): Promise<PodFigures> {
  const res = await http(p.adminPort, { path: PATH, headers: AUTH });
  expect(res.status, res.text).toBe(200);
  return res.json() as PodFigures;
}

/** Polls the figures until `done` holds (mirrors finish after the client's answer). */
async function figuresWhen(p: ServeProcess, done: (f: PodFigures) => boolean, timeoutMs = 15_000): Promise<PodFigures> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const f = await figures(p);
    if (done(f)) return f;
    if (Date.now() > deadline) throw new Error(`figures did not settle within ${timeoutMs} ms: ${JSON.stringify({ ...f, traffic: { ...f.traffic, outputs: f.traffic.outputs.length } })}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const sum = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0);
const settled = (f: PodFigures) => f.mirror !== undefined && f.mirror.compared + f.mirror.candidateErrors + f.mirror.skipped === f.mirror.mirrored;
const mirrorTo = (p: ServeProcess, version: string, percent = 100) => ({ url: `http://127.0.0.1:${p.port}`, version, percent });
const infer = (p: ServeProcess, rows: number[][], agent?: Agent, extra: Record<string, unknown> = {}) =>
  http(p.port, { path: '/v2/models/churn/infer', body: inferBody(rows, extra), ...(agent ? { agent } : {}) });

describe('promotion figures and Shadow mirroring', () => {
  let champion: ServeProcess;
  let candidate: ServeProcess;
  let different: ServeProcess;
  const keepAlive = new Agent({ keepAlive: true, maxSockets: 64 });
  afterAll(() => keepAlive.destroy());

  beforeAll(async () => {
    [champion, candidate, different] = await Promise.all([
      serve('v1', fixtureUri('linear.onnx')),
      serve('v2', fixtureUri('linear.onnx')),
      serve('v3', modelFile('shifted.onnx', buildLinearModel({ weights: LINEAR.weights.map((r) => [...r]), bias: SHIFTED_BIAS, inputName: 'x', outputName: 'y' }))),
    ]);
  }, 60_000);

  it('counts nothing before an analysis is set, and reports the artifact digest', async () => {
    expect((await infer(champion, [[1, 2, 3]])).status).toBe(200);
    const f = await figures(champion);
    expect(f).toMatchObject({ analysis: '', version: 'v1', traffic: { requests: 0, errors: 0, outputs: [], outputsSeen: 0 } });
    expect(f.mirror).toBeUndefined();
    expect(f.artifactSha256).toBe(createHash('sha256').update(readFileSync(fixturePath('linear.onnx'))).digest('hex'));
  });

  it('a candidate of the same model agrees on every row with no difference (REST and gRPC mirrored)', { timeout: 30_000 }, async () => {
    expect((await put(candidate, { analysis: 'same' })).status).toBe(200);
    const res = await put(champion, { analysis: 'same', mirror: mirrorTo(candidate, 'v2') });
    expect(res.status, res.text).toBe(200);
    expect(res.json()).toEqual({ analysis: 'same', mirror: mirrorTo(candidate, 'v2') });
    let rows = 0;
    for (let i = 0; i < 20; i++) {
      const n = (i % 3) + 1;
      rows += n;
      expect((await infer(champion, Array.from({ length: n }, (_, r) => [i, r, 1]), keepAlive)).status).toBe(200);
    }
    const grpc = new GrpcTestClient(champion.grpcPort);
    for (let k = 0; k < 5; k++) {
      const r = await grpc.call('ModelInfer', { model_name: 'churn', inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 3], contents: { fp32_contents: [k, -k, 0.5] } }] });
      expect(r.code).toBe(status.OK);
      rows++;
    }
    grpc.close();
    const f = await figuresWhen(champion, (x) => x.mirror?.compared === 25);
    expect(f.analysis).toBe('same');
    expect(f.traffic).toMatchObject({ requests: 25, errors: 0, outputsSeen: rows });
    expect(f.traffic.outputs).toHaveLength(rows);
    expect(sum(f.traffic.latencyBuckets)).toBe(25);
    expect(f.mirror).toMatchObject({ version: 'v2', mirrored: 25, skipped: 0, candidateErrors: 0, compared: 25, rows, agreedRows: rows, sumAbsDiff: 0, maxAbsDiff: 0, outputsSeen: rows });
    const m = f.mirror as NonNullable<PodFigures['mirror']>;
    expect(sum(m.candidateLatencyBuckets)).toBe(25);
    expect(sum(m.championLatencyBuckets)).toBe(25);
    expect(m.candidateOutputs).toEqual(m.championOutputs);
    expect([...m.championOutputs].sort()).toEqual([...f.traffic.outputs].sort());
    // The candidate served the mirrored requests as its own traffic.
    const c = await figures(candidate);
    expect(c).toMatchObject({ analysis: 'same', version: 'v2', traffic: { requests: 25, errors: 0, outputsSeen: rows } });
    expect(c.mirror).toBeUndefined();
  });

  it('a new analysis id starts from zero; a different candidate shows in the agreement and the difference', { timeout: 30_000 }, async () => {
    expect((await put(champion, { analysis: 'different', mirror: mirrorTo(different, 'v3') })).status).toBe(200);
    const zero = await figures(champion);
    expect(zero).toMatchObject({ analysis: 'different', traffic: { requests: 0, outputsSeen: 0 }, mirror: { version: 'v3', mirrored: 0, compared: 0, rows: 0 } });
    const inputs = Array.from({ length: 30 }, (_, i) => [i * 0.37, (i % 5) * 0.5, (i % 7) * 0.25]);
    let agreeing = 0;
    for (const row of inputs) {
      expect((await infer(champion, [row], keepAlive)).status).toBe(200);
      const a = linearExpected(row, LINEAR.weights, LINEAR.bias);
      const b = linearExpected(row, LINEAR.weights, SHIFTED_BIAS);
      if (Math.round(a) === Math.round(b)) agreeing++;
    }
    // The inputs cover both cases, so the test could see a wrong count either way.
    expect(agreeing).toBeGreaterThan(0);
    expect(agreeing).toBeLessThan(30);
    const f = await figuresWhen(champion, (x) => x.mirror?.compared === 30);
    const m = f.mirror as NonNullable<PodFigures['mirror']>;
    expect(m).toMatchObject({ candidateErrors: 0, rows: 30, agreedRows: agreeing });
    expect(m.sumAbsDiff / m.rows).toBeCloseTo(SHIFT, 4);
    expect(m.maxAbsDiff).toBeCloseTo(SHIFT, 4);
    m.candidateOutputs.forEach((v, i) => expect(v - (m.championOutputs[i] as number)).toBeCloseTo(SHIFT, 4));
  });

  it('a candidate that is down costs the clients nothing: same answers, all 200, counted as candidate errors', { timeout: 30_000 }, async () => {
    // No analysis: nothing counted, nothing mirrored.
    expect((await put(champion, { analysis: '' })).status).toBe(200);
    const bodies = Array.from({ length: 10 }, (_, i) => inferBody([[i, 1, 2]], { id: `req-${i}` }));
    const before = await Promise.all(bodies.map((body) => http(champion.port, { path: '/v2/models/churn/infer', body, agent: keepAlive })));
    expect(await figures(champion)).toMatchObject({ analysis: '', traffic: { requests: 0 } });
    const down = await freePort();
    expect((await put(champion, { analysis: 'down', mirror: { url: `http://127.0.0.1:${down}`, version: 'v2', percent: 100 } })).status).toBe(200);
    const during = await Promise.all(bodies.map((body) => http(champion.port, { path: '/v2/models/churn/infer', body, agent: keepAlive })));
    expect(during.map((r) => r.status)).toEqual(Array(10).fill(200));
    expect(during.map((r) => r.text)).toEqual(before.map((r) => r.text));
    const f = await figuresWhen(champion, settled);
    expect(f.traffic).toMatchObject({ requests: 10, errors: 0 });
    expect(f.mirror).toMatchObject({ mirrored: 10, candidateErrors: 10, compared: 0, rows: 0 });
  });

  it('a candidate that never answers: at most 32 mirrors in flight (the rest skipped), each given up after 5 s; the clients wait for none', { timeout: 30_000 }, async () => {
    const silent = createServer(() => undefined);
    servers.push(silent);
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    const port = (silent.address() as { port: number }).port;
    expect((await put(champion, { analysis: 'silent', mirror: { url: `http://127.0.0.1:${port}`, version: 'v2', percent: 100 } })).status).toBe(200);
    const t0 = performance.now();
    const answers = await Promise.all(Array.from({ length: 40 }, (_, i) => infer(champion, [[i, 0, 0]], keepAlive)));
    const seconds = (performance.now() - t0) / 1000;
    expect(answers.map((r) => r.status)).toEqual(Array(40).fill(200));
    expect(seconds).toBeLessThan(2);
    expect((await figures(champion)).mirror).toMatchObject({ mirrored: 40, skipped: 8, candidateErrors: 0, compared: 0 });
    const f = await figuresWhen(champion, settled, 10_000);
    expect(f.mirror).toMatchObject({ mirrored: 40, skipped: 8, candidateErrors: 32 });
  });

  it('mirrors about the share asked for, chosen at random', { timeout: 30_000 }, async () => {
    expect((await put(champion, { analysis: 'quarter', mirror: mirrorTo(candidate, 'v2', 25) })).status).toBe(200);
    for (let i = 0; i < 400; i++) expect((await infer(champion, [[i, 1, 1]], keepAlive)).status).toBe(200);
    const f = await figuresWhen(champion, settled);
    // Binomial(400, 0.25): mean 100, sd 8.7.
    expect(f.traffic.requests).toBe(400);
    expect(f.mirror?.mirrored).toBeGreaterThan(60);
    expect(f.mirror?.mirrored).toBeLessThan(140);
    expect(f.mirror?.compared).toBe(f.mirror?.mirrored);
    expect(f.mirror?.agreedRows).toBe(f.mirror?.rows);
  });

  it('needs the bearer token to read or set', async () => {
    const wrong = { authorization: 'Bearer nope' };
    expect((await http(champion.adminPort, { path: PATH })).status).toBe(401);
    expect((await http(champion.adminPort, { path: PATH, headers: wrong })).status).toBe(401);
    expect((await put(champion, { analysis: 'sneaky' }, {})).status).toBe(401);
    expect((await put(champion, { analysis: 'sneaky' }, wrong)).status).toBe(401);
    expect((await figures(champion)).analysis).toBe('quarter');
  });

  it('refuses a malformed config with a 400 naming the field, and changes nothing', async () => {
    const cases: [unknown, string][] = [
      ['{not json', 'JSON'],
      [{}, '"analysis"'],
      [{ analysis: 7 }, '"analysis"'],
      [{ analysis: 'x'.repeat(129) }, '"analysis"'],
      [{ analysis: 'a', mirror: 'http://c' }, '"mirror"'],
      [{ analysis: 'a', mirror: { url: 'ftp://c', version: 'v2', percent: 5 } }, '"mirror.url"'],
      [{ analysis: 'a', mirror: { url: 'candidate:8080', version: 'v2', percent: 5 } }, '"mirror.url"'],
      [{ analysis: 'a', mirror: { url: 'http://c', version: 'v2', percent: 0 } }, '"mirror.percent"'],
      [{ analysis: 'a', mirror: { url: 'http://c', version: 'v2', percent: 101 } }, '"mirror.percent"'],
      [{ analysis: 'a', mirror: { url: 'http://c', version: 'v2', percent: 2.5 } }, '"mirror.percent"'],
      [{ analysis: 'a', mirror: { url: 'http://c', version: '', percent: 5 } }, '"mirror.version"'],
      [{ analysis: 'a', rebalance: 'yes' }, '"rebalance"'],
    ];
    for (const [body, field] of cases) {
      const res = await put(champion, body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect((res.json() as { error: string }).error).toContain(field);
    }
    expect((await http(champion.adminPort, { method: 'POST', path: PATH, headers: AUTH, body: '{}' })).status).toBe(405);
    expect((await figures(champion)).analysis).toBe('quarter');
  });

  it('a pod of two workers: the PUT reaches both, the figures are their sum', { timeout: 60_000 }, async () => {
    const pod = await serve('v1', fixtureUri('linear.onnx'), ['--workers', '2']);
    expect((await put(pod, { analysis: 'pod', mirror: mirrorTo(candidate, 'v2') })).status).toBe(200);
    // Each request on a connection of its own: the pod hands them to its workers in turn.
    for (let i = 0; i < 20; i++) expect((await infer(pod, [[i, 2, 2], [i, 3, 3]], new Agent({ keepAlive: false }))).status).toBe(200);
    const f = await figuresWhen(pod, (x) => x.mirror?.compared === 20);
    expect(f).toMatchObject({ analysis: 'pod', version: 'v1', traffic: { requests: 20, errors: 0, outputsSeen: 40 } });
    expect(f.traffic.outputs).toHaveLength(40);
    expect(sum(f.traffic.latencyBuckets)).toBe(20);
    expect(f.mirror).toMatchObject({ mirrored: 20, compared: 20, rows: 40, agreedRows: 40, outputsSeen: 40 });
    expect(f.mirror?.candidateOutputs).toHaveLength(40);
    expect(f.artifactSha256).toMatch(/^[0-9a-f]{64}$/);
    // Every worker starts again from zero on a new id.
    expect((await put(pod, { analysis: 'pod-2' })).status).toBe(200);
    expect(await figures(pod)).toMatchObject({ analysis: 'pod-2', traffic: { requests: 0, outputsSeen: 0 } });
    expect((await figures(pod)).mirror).toBeUndefined();
  });

  it('a canary step (rebalance) closes the keep-alive connections opened before it at once, and later ones once they are older than the age limit; without it nothing is closed', { timeout: 30_000 }, async () => {
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const connection = async () => (await infer(candidate, [[1, 2, 3]], agent)).headers.connection;
    try {
      expect(await connection()).toBe('keep-alive');
      expect((await put(candidate, { analysis: 'canary-step-0', rebalance: true })).status).toBe(200);
      // The old connection's next answer says close; the one after comes over a new connection and stays open.
      expect(await connection()).toBe('close');
      const opened = performance.now();
      expect(await connection()).toBe('keep-alive');
      // The operator's next round (the same config) changes nothing.
      expect((await put(candidate, { analysis: 'canary-step-0', rebalance: true })).status).toBe(200);
      expect(await connection()).toBe('keep-alive');
      // Past the age limit the new connection is closed too: a client that reconnected to the same pod tries again.
      await new Promise((r) => setTimeout(r, REBALANCE_CONNECTION_AGE_MS - (performance.now() - opened) + 200));
      expect(await connection()).toBe('close');
      expect(await connection()).toBe('keep-alive');
      // The canary ends (the guard counts without rebalancing): connections live on however old.
      expect((await put(candidate, { analysis: 'guard' })).status).toBe(200);
      await new Promise((r) => setTimeout(r, REBALANCE_CONNECTION_AGE_MS + 200));
      expect(await connection()).toBe('keep-alive');
    } finally {
      agent.destroy();
      await put(candidate, { analysis: '' });
    }
  });

  it('counts 5xx as errors and leaves 4xx out', { timeout: 30_000 }, async () => {
    const gather = await serve('v1', modelFile('gather.onnx', gatherModel()), ['--features', '[]']);
    expect((await put(gather, { analysis: 'errors' })).status).toBe(200);
    const body = (idx: number[], datatype = 'INT64') => JSON.stringify({ inputs: [{ name: 'idx', datatype, shape: [idx.length], data: idx }] });
    const send = (b: string) => http(gather.port, { path: '/v2/models/churn/infer', body: b });
    for (let i = 0; i < 3; i++) expect((await send(body([0, 1]))).status).toBe(200);
    expect((await send(body([0], 'FP32'))).status).toBe(400);
    expect((await send('{"inputs": 3}')).status).toBe(400);
    expect((await http(gather.port, { path: '/v2/models/other/infer', body: body([0]) })).status).toBe(404);
    expect((await send(body([7]))).status).toBe(500);
    const f = await figures(gather);
    expect(f.traffic).toMatchObject({ requests: 4, errors: 1, outputsSeen: 6 });
    expect([...f.traffic.outputs].sort()).toEqual([10, 10, 10, 11, 11, 11]);
    expect(sum(f.traffic.latencyBuckets)).toBe(4);
  });
});
