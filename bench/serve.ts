// `npm run bench:serve`: inference throughput and latency of `fluxora serve`
// against the servers a user would pick instead, in one run, on the same small
// model (test/fixtures/models/linear.onnx, one FP32 row of 3 per request):
//
//   (a) onnxruntime-node called in-process: no server at all, the compute limit;
//   (b) `fluxora serve` (the real CLI compiled as the image ships it, a child
//       process) with dynamic batching and without, over REST, and over gRPC
//       once the CLI has it (`fluxora serve --help` names a --grpc-port flag;
//       until then its gRPC rows print "n/a (not built)");
//   (c) MLServer (Seldon), the model on onnxruntime as a custom runtime
//       (bench/peers/mlserver: an MLModel with load()/predict(),
//       model-settings.json, `mlserver start <folder>`), REST and gRPC;
//   (d) KServe's Python ModelServer (the `kserve` package), the model on
//       onnxruntime as a kserve.Model with load()/predict() on
//       InferRequest/InferResponse (bench/peers/kserve), REST and gRPC;
//   (e) a bare node:http server answering a fixed V2 response without any
//       model: the floor of HTTP in Node on this machine, which bounds what
//       any Node server can reach over REST;
//   (f) its gRPC twin, a bare node:http2 server decoding the ModelInferRequest
//       and answering a fixed ModelInferResponse: what HTTP/2 in Node and the
//       load generator reach at all, for reading the gRPC rows (no target).
//
// Every model server runs onnxruntime with one intra-op thread and writes no
// log line per request. The peers come from venvs under ~/.cache/fluxora built
// from hack/requirements-bench-mlserver.txt and hack/requirements-bench-kserve.txt
// (two venvs: MLServer pins FastAPI/Starlette below what KServe requires).
// MLServer runs with debug off (no access log; bench/peers/mlserver/settings.json)
// twice: with its default parallel inference pool (one worker process the
// server hands each request to) and without it (parallel_workers 0, the model
// in the server's process), which is faster for a model this small; KServe
// with its defaults (one uvicorn worker, four gRPC threads) and
// --enable_latency_logging false. The targets compare with the better peer.
//
// Load comes from a separate process (this file run as `loadgen`), closed loop:
// N requests in flight, each sending its next as soon as its answer arrives.
// REST: N keep-alive connections over raw sockets with a minimal HTTP/1.1
// parser. gRPC: N concurrent unary ModelInfer calls multiplexed on
// BENCH_GRPC_CONNECTIONS (default 1, like one gRPC channel) node:http2
// sessions, the request encoded once (bench/support/grpc-v2.ts says why not
// @grpc/grpc-js). Before each system is measured, one answer per protocol is
// checked against onnxruntime in-process.
//
// Targets (issue 16): REST >= 3x the better peer's REST req/s at every
// concurrency with a lower p99; REST at c=64 >= 70% of the HTTP floor; gRPC
// >= 3x the better peer's gRPC req/s. A miss prints MISS and does not fail
// the run; an error (a server that does not start, a wrong answer, a failed
// request) fails it (exit 1).
//
//   BENCH_SECONDS=3 BENCH_CONCURRENCY=1,8,64 BENCH_ROUNDS=3 npm run bench:serve
//                                     (each point is the median of its rounds)
//   BENCH_PIN=1 npm run bench:serve   servers (and the in-process limit) on CPU 0,
//                                     the load generator on CPU 1 (taskset), so the
//                                     client never competes with the system measured
//   npm run bench:serve -- --ci       reduced size for CI: every system briefly
//                                     (0.5 s per point, one round); only errors fail
//   BENCH_FLUXORA_MAIN=<dist/cli/main.js>  measure that compiled CLI instead of
//                                     compiling this tree (e.g. another branch's build)
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync } from 'node:fs';
import { createServer as createHttpServer } from 'node:http';
import { createServer as createHttp2Server } from 'node:http2';
import { connect, type Socket } from 'node:net';
import { loadavg, cpus } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as ort from 'onnxruntime-node';
import { ensurePythonVenv } from '../test/fixtures/models/python-venv.js';
import { fixturePath } from '../test/fixtures/models/generate.js';
import { freePort } from '../test/support/ports.js';
import { compileCli } from './support/operator-build.js';
import { connectSession, decodeInferRequest, firstOutputValue, INFER_PATH, inferRequestFrame, inferResponseFrame, unary } from './support/grpc-v2.js';

const SELF = fileURLToPath(import.meta.url);
const ROOT = join(SELF, '..', '..');
const MODEL = fixturePath('linear.onnx');
const NAME = 'bench';
const ROW = [0.5, -1.5, 2.25];
const BODY = JSON.stringify({ inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 3], data: [ROW] }] });
const GRPC_REQUEST = inferRequestFrame(NAME, 'x', [1, 3], ROW);
const REST_PATH = `/v2/models/${NAME}/infer`;

/** BENCH_PIN=1: every system measured runs on CPU 0 and the load generator on CPU 1. */
const PIN = process.env.BENCH_PIN === '1';
const pinned = (cpu: number, cmd: string, args: string[]): [string, string[]] => (PIN ? ['taskset', ['-c', String(cpu), cmd, ...args]] : [cmd, args]);

type Protocol = 'REST' | 'gRPC';

interface LoadConfig {
  protocol: Protocol;
  port: number;
  concurrency: number;
  /** gRPC: HTTP/2 sessions the concurrent calls share. */
  connections: number;
  warmupMs: number;
  durationMs: number;
}

interface Result {
  requests: number;
  errors: number;
  /** What the first failed request saw. */
  firstError?: string;
  seconds: number;
  rps: number;
  p50: number;
  p99: number;
}

function summarize(latenciesMs: number[], errors: number, seconds: number, firstError?: string): Result {
  const sorted = Float64Array.from(latenciesMs).sort();
  const q = (p: number) => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? NaN;
  return { requests: sorted.length, errors, ...(firstError ? { firstError } : {}), seconds, rps: sorted.length / seconds, p50: q(0.5), p99: q(0.99) };
}

// ---------------------------------------------------------------------------
// Load generator (runs in its own process).

type Recorder = (ms: number, error?: string) => void;

/** One closed-loop REST connection: send, read the whole response, repeat until `stop`. */
async function restLoop(port: number, request: Buffer, record: Recorder, stop: () => boolean): Promise<void> {
  const socket: Socket = connect(port, '127.0.0.1');
  socket.setNoDelay(true);
  await once(socket, 'connect');
  let buf: Buffer = Buffer.alloc(0);
  let waiting: ((r: { status: number }) => void) | undefined;
  let failed: ((e: Error) => void) | undefined;
  socket.on('error', (e) => failed?.(e));
  socket.on('close', () => failed?.(new Error('connection closed')));
  socket.on('data', (chunk: Buffer) => {
    buf = buf.length === 0 ? chunk : Buffer.concat([buf, chunk]);
    const end = buf.indexOf('\r\n\r\n');
    if (end < 0) return;
    const head = buf.toString('latin1', 0, end);
    const status = Number(head.slice(9, 12));
    const cl = /\r\ncontent-length: *(\d+)/i.exec(head);
    let total: number;
    if (cl) total = end + 4 + Number(cl[1]);
    else if (/\r\ntransfer-encoding: *chunked/i.test(head)) {
      const term = buf.indexOf('\r\n0\r\n\r\n', end);
      if (term < 0) return;
      total = term + 7;
    } else total = end + 4;
    if (buf.length < total) return;
    buf = buf.subarray(total);
    const w = waiting;
    waiting = undefined;
    w?.({ status });
  });
  while (!stop()) {
    const t0 = performance.now();
    const res = await new Promise<{ status: number }>((resolve, reject) => {
      waiting = resolve;
      failed = reject;
      socket.write(request);
    }).catch(() => ({ status: 0 }));
    record(performance.now() - t0, res.status === 200 ? undefined : res.status === 0 ? 'connection failed' : `HTTP ${res.status}`);
    if (res.status === 0) break;
  }
  socket.destroy();
}

async function loadgen(c: LoadConfig): Promise<Result> {
  const latencies: number[] = [];
  let errors = 0;
  let firstError: string | undefined;
  let measuring = false;
  let stopped = false;
  const record: Recorder = (ms, error) => {
    if (!measuring) return;
    if (error === undefined) latencies.push(ms);
    else {
      errors++;
      firstError ??= error;
    }
  };
  const stop = () => stopped;
  let loops: Promise<void>[];
  let close = () => undefined as void;
  if (c.protocol === 'REST') {
    const request = Buffer.from(
      `POST ${REST_PATH} HTTP/1.1\r\nHost: 127.0.0.1:${c.port}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(BODY)}\r\n\r\n${BODY}`,
    );
    loops = Array.from({ length: c.concurrency }, () => restLoop(c.port, request, record, stop));
  } else {
    const sessions = await Promise.all(Array.from({ length: Math.min(c.connections, c.concurrency) }, () => connectSession(c.port)));
    for (const s of sessions) s.on('error', () => undefined); // each call sees its own stream fail
    close = () => sessions.forEach((s) => s.close());
    loops = Array.from({ length: c.concurrency }, async (_, i) => {
      const session = sessions[i % sessions.length];
      while (!stopped && session) {
        const t0 = performance.now();
        const r = await unary(session, INFER_PATH, GRPC_REQUEST);
        record(performance.now() - t0, r.status === 0 ? undefined : `grpc-status ${r.status}${r.message ? `: ${r.message}` : ''}`);
        if (r.status === -1) break;
      }
    });
  }
  await new Promise((r) => setTimeout(r, c.warmupMs));
  measuring = true;
  const t0 = performance.now();
  await new Promise((r) => setTimeout(r, c.durationMs));
  measuring = false;
  const seconds = (performance.now() - t0) / 1000;
  stopped = true;
  await Promise.all(loops);
  close();
  return summarize(latencies, errors, seconds, firstError);
}

async function runLoadgen(c: LoadConfig): Promise<Result> {
  const child = spawn(...pinned(1, process.execPath, ['--import', 'tsx', SELF, 'loadgen', JSON.stringify(c)]), { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  const [code] = (await once(child, 'exit')) as [number | null];
  if (code !== 0) throw new Error(`loadgen exited with ${code}`);
  return JSON.parse(out) as Result;
}

// ---------------------------------------------------------------------------
// Systems under test.


/** A server the benchmark started: its own process group (MLServer's inference workers included). */
interface Running {
  name: string;
  child: ChildProcess;
  /** The last lines it wrote (stdout and stderr), shown when it fails. */
  tail: string[];
  rest?: number;
  grpc?: number;
}

const running = new Set<Running>();

/** Children whose spawn failed: no 'exit' event comes for them. */
const spawnFailed = new WeakSet<ChildProcess>();
const exited = (c: ChildProcess) => c.exitCode !== null || c.signalCode !== null || spawnFailed.has(c);

function startProcess(name: string, cmd: string, args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Running {
  const child = spawn(...pinned(0, cmd, args), { cwd: opts.cwd ?? ROOT, env: opts.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  const r: Running = { name, child, tail: [] };
  // Whole lines only: a traceback arrives in pieces.
  const keep = (stream: NodeJS.ReadableStream | null) => {
    let partial = '';
    stream?.on('data', (d: Buffer) => {
      const lines = (partial + d.toString()).split('\n');
      partial = lines.pop() ?? '';
      r.tail.push(...lines.filter((l) => l.trim()));
      r.tail.splice(0, Math.max(0, r.tail.length - 30));
    });
    stream?.on('end', () => {
      if (partial.trim()) r.tail.push(partial);
    });
  };
  keep(child.stdout);
  keep(child.stderr);
  child.on('error', (e) => {
    spawnFailed.add(child);
    r.tail.push(`cannot run ${cmd}: ${e.message}`);
  });
  running.add(r);
  return r;
}

function failure(r: Running, what: string): Error {
  return new Error(`${r.name} ${what}${r.tail.length ? `; its last lines:\n    ${r.tail.join('\n    ')}` : ''}`);
}

function killGroup(r: Running, signal: NodeJS.Signals): void {
  try {
    if (r.child.pid) process.kill(-r.child.pid, signal);
  } catch {
    // the group is gone
  }
}

async function stop(r: Running): Promise<void> {
  if (!exited(r.child)) {
    killGroup(r, 'SIGTERM');
    const t = setTimeout(() => killGroup(r, 'SIGKILL'), 10_000);
    await once(r.child, 'exit');
    clearTimeout(t);
  }
  killGroup(r, 'SIGKILL'); // whatever it left behind
  running.delete(r);
}

async function waitRestReady(r: Running, port: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (exited(r.child)) throw failure(r, `exited with ${r.child.exitCode ?? r.child.signalCode} before getting ready`);
    try {
      const res = await fetch(`http://127.0.0.1:${port}/v2/health/ready`);
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((res) => setTimeout(res, 200));
  }
  throw failure(r, `not ready on ${port} after ${timeoutMs} ms`);
}

/** One REST inference; its first output value. */
async function restAnswer(port: number): Promise<number> {
  const res = await fetch(`http://127.0.0.1:${port}${REST_PATH}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: BODY });
  const text = await res.text();
  if (!res.ok) throw new Error(`HTTP ${res.status}: ${text.slice(0, 300)}`);
  const v = (JSON.parse(text) as { outputs?: { data?: unknown[] }[] }).outputs?.[0]?.data?.flat(4)[0];
  if (typeof v !== 'number') throw new Error(`no output value in ${text.slice(0, 300)}`);
  return v;
}

/** One gRPC ModelInfer; its first output value. */
async function grpcAnswer(port: number): Promise<number> {
  const session = await connectSession(port);
  session.on('error', () => undefined);
  try {
    const r = await unary(session, INFER_PATH, GRPC_REQUEST, true);
    if (r.status !== 0) throw new Error(`grpc-status ${r.status}${r.message ? `: ${r.message}` : ''}`);
    return firstOutputValue(r.body);
  } finally {
    session.close();
  }
}

/** Retries `answer` until the server gives one (a gRPC port may open after the REST one), then compares it. */
async function checkAnswer(r: Running, protocol: Protocol, port: number, expected: number, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline && !exited(r.child)) {
    let v: number | undefined;
    try {
      v = protocol === 'REST' ? await restAnswer(port) : await grpcAnswer(port);
    } catch (e) {
      last = e;
    }
    if (v !== undefined) {
      if (Math.abs(v - expected) > 1e-4 * Math.max(1, Math.abs(expected))) throw failure(r, `answered ${v} over ${protocol}, onnxruntime in-process gives ${expected}`);
      return;
    }
    await new Promise((res) => setTimeout(res, 200));
  }
  throw failure(r, `gave no ${protocol} answer: ${last instanceof Error ? last.message : String(last)}`);
}

/** `fluxora serve --help` names the gRPC port flag once the CLI serves gRPC (the grpc branch). */
const FLUXORA_GRPC_FLAG = '--grpc-port';
function fluxoraHasGrpc(main: string): boolean {
  const r = spawnSync(process.execPath, [main, 'serve', '--help'], { encoding: 'utf8' });
  const help = `${r.stdout}${r.stderr}`;
  if (!help.includes('--model-uri')) throw new Error(`fluxora serve --help printed no flags:\n${help}`);
  if (!/grpc/i.test(help)) return false;
  if (!help.includes(FLUXORA_GRPC_FLAG)) throw new Error(`fluxora serve --help mentions gRPC but has no ${FLUXORA_GRPC_FLAG} flag: set FLUXORA_GRPC_FLAG in bench/serve.ts`);
  return true;
}

async function startFluxora(main: string, grpc: boolean, batching: boolean, maxBatchSize: number, delayMs: number): Promise<Running> {
  const port = await freePort();
  const args = [main, 'serve', '--model-name', NAME, '--model-uri', `file://${MODEL}`, '--host', '127.0.0.1', '--port', String(port)];
  args.push('--admin-port', String(await freePort()), '--log-level', 'warn');
  args.push('--max-batch-size', String(maxBatchSize), '--max-batch-delay-ms', batching ? String(delayMs) : '0');
  const grpcPort = grpc ? await freePort() : undefined;
  if (grpcPort) args.push(FLUXORA_GRPC_FLAG, String(grpcPort));
  const r = startProcess(`fluxora serve (${batching ? 'batching' : 'no batching'})`, process.execPath, args);
  await waitRestReady(r, port, 60_000);
  r.rest = port;
  if (grpcPort) r.grpc = grpcPort;
  return r;
}

/** The HTTP floor: node:http, keep-alive, read the body, answer a fixed V2 response. */
function echoServer(port: number): void {
  const reply = JSON.stringify({ model_name: NAME, model_version: '1', id: 'x', outputs: [{ name: 'y', datatype: 'FP32', shape: [1, 1], data: [4.1] }] });
  const server = createHttpServer({ noDelay: true, keepAliveTimeout: 65_000 }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (req.url === '/v2/health/ready') {
        res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': 2 }).end('{}');
        return;
      }
      JSON.parse(Buffer.concat(chunks).toString());
      res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(reply) }).end(reply);
    });
  });
  server.listen(port, '127.0.0.1');
  process.once('SIGTERM', () => server.close(() => process.exit(0)));
}

/** The gRPC floor: node:http2 (h2c), decode the ModelInferRequest, answer a fixed ModelInferResponse and grpc-status 0. */
function grpcEchoServer(port: number): void {
  const reply = inferResponseFrame(NAME, 'y', [1, 1], [4.1]);
  const server = createHttp2Server();
  server.on('stream', (stream) => {
    const chunks: Buffer[] = [];
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.on('end', () => {
      decodeInferRequest(Buffer.concat(chunks));
      stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
      stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
      stream.end(reply);
    });
  });
  server.listen(port, '127.0.0.1');
  // Nothing to drain (http2's close() would wait for every client session to go).
  process.once('SIGTERM', () => process.exit(0));
}

async function startGrpcEcho(): Promise<Running> {
  const port = await freePort();
  const r = startProcess('node:http2 gRPC floor', process.execPath, ['--import', 'tsx', SELF, 'grpc-echo-server', String(port)]);
  await checkAnswer(r, 'gRPC', port, 4.1);
  r.grpc = port;
  return r;
}

async function startEcho(): Promise<Running> {
  const port = await freePort();
  const r = startProcess('node:http floor', process.execPath, ['--import', 'tsx', SELF, 'echo-server', String(port)]);
  await waitRestReady(r, port, 60_000);
  r.rest = port;
  return r;
}

/** Peers' Python processes: no .pyc files next to bench/peers. */
const pythonEnv = (extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv => ({ ...process.env, PYTHONDONTWRITEBYTECODE: '1', ...extra });

/**
 * MLServer as its docs start a custom runtime: `mlserver start <folder with
 * model-settings.json>`; ports and the size of its inference pool from its
 * MLSERVER_* variables (`parallel_workers` 1 is its default: the model runs in
 * one worker process the server talks to over IPC; 0 runs it in the server's
 * own process).
 */
async function startMlserver(python: string, parallelWorkers: number): Promise<Running> {
  const [http, grpc, metrics] = [await freePort(), await freePort(), await freePort()];
  // Its working directory gets .metrics/ and .envs/: keep them out of the tree.
  const cwd = join(ROOT, '.cache', 'bench-serve', 'mlserver');
  mkdirSync(cwd, { recursive: true });
  const env = pythonEnv({
    MLSERVER_HTTP_PORT: String(http),
    MLSERVER_GRPC_PORT: String(grpc),
    MLSERVER_METRICS_PORT: String(metrics),
    MLSERVER_PARALLEL_WORKERS: String(parallelWorkers),
  });
  // The `mlserver` command, run by the venv's python: its #! line names the
  // temporary directory the venv was built in (python-venv.ts renames it).
  const r = startProcess('MLServer', python, [join(dirname(python), 'mlserver'), 'start', join(ROOT, 'bench', 'peers', 'mlserver')], { cwd, env });
  await waitRestReady(r, http, 180_000);
  Object.assign(r, { rest: http, grpc });
  return r;
}

/** KServe's ModelServer from bench/peers/kserve/onnx_model.py, configured by its own flags. */
async function startKserve(python: string): Promise<Running> {
  const [http, grpc] = [await freePort(), await freePort()];
  const args = [join(ROOT, 'bench', 'peers', 'kserve', 'onnx_model.py'), '--model_path', MODEL, '--model_name', NAME];
  args.push('--http_port', String(http), '--grpc_port', String(grpc), '--enable_latency_logging', 'false');
  const r = startProcess('KServe', python, args, { env: pythonEnv() });
  await waitRestReady(r, http, 180_000);
  Object.assign(r, { rest: http, grpc });
  return r;
}

/** onnxruntime-node in this process: `concurrency` callers each running one row at a time. */
async function inProcess(concurrency: number, warmupMs: number, durationMs: number): Promise<Result> {
  const session = await ort.InferenceSession.create(MODEL, { intraOpNumThreads: 1, interOpNumThreads: 1, executionMode: 'sequential' });
  const latencies: number[] = [];
  let measuring = false;
  let stopped = false;
  const worker = async () => {
    while (!stopped) {
      const t0 = performance.now();
      await session.run({ x: new ort.Tensor('float32', Float32Array.from(ROW), [1, 3]) });
      if (measuring) latencies.push(performance.now() - t0);
    }
  };
  const workers = Array.from({ length: concurrency }, worker);
  await new Promise((r) => setTimeout(r, warmupMs));
  measuring = true;
  const t0 = performance.now();
  await new Promise((r) => setTimeout(r, durationMs));
  measuring = false;
  const seconds = (performance.now() - t0) / 1000;
  stopped = true;
  await Promise.all(workers);
  await session.release();
  return summarize(latencies, 0, seconds);
}

/** The model's answer to ROW, from onnxruntime in-process: what every server must return. */
async function expectedAnswer(): Promise<number> {
  const session = await ort.InferenceSession.create(MODEL);
  const out = await session.run({ x: new ort.Tensor('float32', Float32Array.from(ROW), [1, 3]) });
  await session.release();
  const v = Object.values(out)[0]?.data[0];
  if (typeof v !== 'number') throw new Error('onnxruntime in-process gave no number');
  return v;
}

// ---------------------------------------------------------------------------

type Role = 'limit' | 'fluxora' | 'peer' | 'floor';

/**
 * One system under test. A protocol in `protocols` is measured; one in
 * `unavailable` prints its reason in place of figures (fluxora's gRPC before
 * the CLI has it). Adding a system or a protocol is one entry here.
 */
interface System {
  name: string;
  role: Role;
  protocols: Protocol[];
  unavailable?: Partial<{ [P in Protocol]: string }>;
  start: () => Promise<Running>;
  /** Compare one answer per protocol with onnxruntime's before measuring (not the floor, which answers a constant). */
  check: boolean;
}

const IN_PROCESS = 'onnxruntime-node in-process';

interface Row {
  system: string;
  role: Role;
  protocol: Protocol | '-';
  concurrency: number;
  /** The median round by throughput. */
  r?: Result;
  /** Lowest and highest throughput over the rounds. */
  spread?: [number, number];
  /** Printed instead of figures. */
  note?: string;
}

const fmt = (n: number, d = 0) => (Number.isFinite(n) ? n.toFixed(d) : '-');

function printTable(rows: Row[]): void {
  const header = `${'system'.padEnd(36)} ${'proto'.padEnd(5)} ${'conc'.padStart(5)} ${'req/s'.padStart(9)} ${'rounds min-max'.padStart(15)} ${'p50 ms'.padStart(8)} ${'p99 ms'.padStart(8)} ${'errors'.padStart(7)}`;
  console.log(`\n${header}\n${'-'.repeat(header.length)}`);
  for (const { system, protocol, concurrency, r, spread, note } of rows) {
    const head = `${system.padEnd(36)} ${protocol.padEnd(5)} ${String(concurrency).padStart(5)}`;
    if (!r || !spread) {
      console.log(`${head} ${(note ?? 'no result').padStart(9)}`);
      continue;
    }
    console.log(
      `${head} ${fmt(r.rps).padStart(9)} ${`${fmt(spread[0])}-${fmt(spread[1])}`.padStart(15)} ${fmt(r.p50, 3).padStart(8)} ${fmt(r.p99, 3).padStart(8)} ${String(r.errors).padStart(7)}`,
    );
  }
}

function envNumber(name: string, fallback: number, min: number, integer = false): number {
  const raw = process.env[name];
  const n = raw === undefined || raw === '' ? fallback : Number(raw);
  if (!Number.isFinite(n) || n < min || (integer && !Number.isSafeInteger(n))) throw new Error(`${name} must be ${integer ? 'an integer' : 'a number'} >= ${min}, got "${raw}"`);
  return n;
}

/** The peer's venv (built on first use) and the versions installed there; `modules[0]` is the peer. */
async function venvPython(name: string, requirements: string, modules: string[]): Promise<{ python: string; version: string }> {
  process.stdout.write(`preparing the ${name} venv (${requirements})... `);
  const python = await ensurePythonVenv({ name: `bench-${name.toLowerCase()}`, purpose: `the ${name} peer of bench:serve`, requirements: [join(ROOT, requirements)] }, (l) =>
    process.stdout.write(`\n  ${l}\n`),
  );
  const code = `import importlib.metadata as m; print(', '.join(f'{p} {m.version(p)}' for p in ${JSON.stringify(modules)}))`;
  const versions = execFileSync(python, ['-c', code], { encoding: 'utf8' }).trim();
  console.log(`ok: ${versions}`);
  return { python, version: versions.split(',')[0]?.split(' ')[1] ?? '?' };
}

async function main(): Promise<number> {
  const ci = process.argv.slice(2).includes('--ci');
  const seconds = envNumber('BENCH_SECONDS', ci ? 0.5 : 3, 0.1);
  const concurrencies = (process.env.BENCH_CONCURRENCY ?? '1,8,64').split(',').map((c) => {
    const n = Number(c);
    if (!Number.isSafeInteger(n) || n < 1) throw new Error(`BENCH_CONCURRENCY must list integers >= 1, got "${process.env.BENCH_CONCURRENCY}"`);
    return n;
  });
  const maxBatchSize = envNumber('BENCH_MAX_BATCH_SIZE', 64, 1, true);
  const delayMs = envNumber('BENCH_MAX_BATCH_DELAY_MS', 2, 0);
  const rounds = envNumber('BENCH_ROUNDS', ci ? 1 : 3, 1, true);
  const connections = envNumber('BENCH_GRPC_CONNECTIONS', 1, 1, true);
  const durationMs = seconds * 1000;
  const warmupMs = ci ? 250 : 1000;
  console.log(
    `bench:serve${ci ? ' --ci (reduced size: the figures are a smoke test, not measurements; only errors fail)' : ''}  model=${MODEL}\n` +
      `${seconds}s per point after ${warmupMs / 1000}s warm-up  concurrency=${concurrencies.join(',')}  ${rounds} round(s), median reported  gRPC over ${connections} HTTP/2 connection(s)`,
  );
  console.log(`machine: ${cpus().length} CPUs (${cpus()[0]?.model ?? '?'}), load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}, node ${process.version}`);
  if (PIN) {
    // The in-process limit runs here: on CPU 0 like every server (all threads, onnxruntime's included).
    execFileSync('taskset', ['-a', '-pc', '0', String(process.pid)], { stdio: 'ignore' });
    console.log('pinned: measured systems and the in-process limit on CPU 0, the load generator on CPU 1 (taskset)');
  }
  console.log(`fluxora batching: --max-batch-size ${maxBatchSize} --max-batch-delay-ms ${delayMs}; request: one FP32 row of 3 (V2 JSON over REST, typed contents over gRPC)`);
  // What the image runs: compiled JavaScript, not tsx (whose transform wraps
  // every closure in a naming helper that costs a few percent per request).
  // BENCH_FLUXORA_MAIN: a CLI compiled elsewhere (another branch's dist/cli/main.js) instead of this tree's.
  const main = process.env.BENCH_FLUXORA_MAIN || compileCli(join(ROOT, '.cache', 'bench-serve', 'dist'));
  const grpc = fluxoraHasGrpc(main);
  console.log(`fluxora serve over gRPC: ${grpc ? `yes (${FLUXORA_GRPC_FLAG})` : 'n/a (not built: `fluxora serve --help` has no gRPC flag)'}`);
  const mlserver = await venvPython('MLServer', 'hack/requirements-bench-mlserver.txt', ['mlserver', 'onnxruntime', 'numpy']);
  const kserve = await venvPython('KServe', 'hack/requirements-bench-kserve.txt', ['kserve', 'onnxruntime', 'numpy']);
  const expected = await expectedAnswer();

  const fluxora = (batching: boolean): System => ({
    name: `fluxora serve (${batching ? 'batching' : 'no batching'})`,
    role: 'fluxora',
    protocols: grpc ? ['REST', 'gRPC'] : ['REST'],
    ...(grpc ? {} : { unavailable: { gRPC: 'n/a (not built)' } }),
    start: () => startFluxora(main, grpc, batching, maxBatchSize, delayMs),
    check: true,
  });
  const systems: System[] = [
    fluxora(true),
    fluxora(false),
    { name: `MLServer ${mlserver.version}`, role: 'peer', protocols: ['REST', 'gRPC'], start: () => startMlserver(mlserver.python, 1), check: true },
    { name: `MLServer ${mlserver.version} (no worker pool)`, role: 'peer', protocols: ['REST', 'gRPC'], start: () => startMlserver(mlserver.python, 0), check: true },
    { name: `KServe ${kserve.version}`, role: 'peer', protocols: ['REST', 'gRPC'], start: () => startKserve(kserve.python), check: true },
    { name: 'node:http fixed reply (HTTP floor)', role: 'floor', protocols: ['REST'], start: startEcho, check: false },
    { name: 'node:http2 fixed reply (gRPC floor)', role: 'floor', protocols: ['gRPC'], start: startGrpcEcho, check: false },
  ];

  // Every system is measured once per round, rounds one after the other, and
  // each point reports its median round: on a small shared machine one
  // point can swing by a third (where the scheduler puts client and server),
  // and a median of interleaved rounds keeps that from deciding a ratio.
  const samples = new Map<string, Result[]>();
  const errors: string[] = [];
  const failed = new Set<string>();
  const key = (system: string, protocol: Protocol | '-', c: number) => `${system}\0${protocol}\0${c}`;
  const add = (round: number, system: string, protocol: Protocol | '-', c: number, r: Result) => {
    samples.set(key(system, protocol, c), [...(samples.get(key(system, protocol, c)) ?? []), r]);
    console.log(`  [round ${round}] ${system} ${protocol} c=${c}: ${fmt(r.rps)} req/s, p50 ${fmt(r.p50, 3)} ms, p99 ${fmt(r.p99, 3)} ms, errors ${r.errors}`);
    if (r.errors > 0) errors.push(`${system} ${protocol} c=${c} (round ${round}): ${r.errors} failed requests, the first: ${r.firstError ?? '?'}`);
  };
  for (let round = 1; round <= rounds; round++) {
    for (const c of concurrencies) add(round, IN_PROCESS, '-', c, await inProcess(c, warmupMs, durationMs));
    for (const s of systems) {
      if (failed.has(s.name)) continue;
      let r: Running | undefined;
      try {
        r = await s.start();
        for (const protocol of s.protocols) {
          const port = protocol === 'REST' ? r.rest : r.grpc;
          if (!port) throw new Error(`${s.name} has no ${protocol} port`);
          if (s.check) await checkAnswer(r, protocol, port, expected);
          for (const c of concurrencies) add(round, s.name, protocol, c, await runLoadgen({ protocol, port, concurrency: c, connections, warmupMs, durationMs }));
          if (exited(r.child)) throw failure(r, `exited with ${r.child.exitCode ?? r.child.signalCode} while measured`);
        }
      } catch (e) {
        const msg = e instanceof Error ? e.message : String(e);
        console.log(`  [round ${round}] ${s.name}: ERROR ${msg}`);
        errors.push(`${s.name} (round ${round}): ${msg}`);
        failed.add(s.name);
      } finally {
        if (r) await stop(r);
      }
    }
  }

  const rows: Row[] = [];
  const roleOf = new Map<string, Role>([[IN_PROCESS, 'limit'], ...systems.map((s) => [s.name, s.role] as [string, Role])]);
  for (const [k, rs] of samples) {
    const [system = '', protocol = '-', c = '0'] = k.split('\0');
    const byRps = [...rs].sort((a, b) => a.rps - b.rps);
    rows.push({
      system,
      role: roleOf.get(system) ?? 'peer',
      protocol: protocol as Protocol | '-',
      concurrency: Number(c),
      r: byRps[Math.floor((byRps.length - 1) / 2)],
      spread: [byRps[0]?.rps ?? NaN, byRps.at(-1)?.rps ?? NaN],
    });
  }
  for (const s of systems) {
    for (const [protocol, note] of Object.entries(s.unavailable ?? {}) as [Protocol, string][]) {
      for (const c of concurrencies) rows.push({ system: s.name, role: s.role, protocol, concurrency: c, note });
    }
  }
  // In the order the systems are listed, each protocol's concurrencies together.
  const order = [IN_PROCESS, ...systems.map((s) => s.name)];
  const protocols = ['-', 'REST', 'gRPC'];
  rows.sort((a, b) => order.indexOf(a.system) - order.indexOf(b.system) || protocols.indexOf(a.protocol) - protocols.indexOf(b.protocol) || a.concurrency - b.concurrency);
  printTable(rows);

  const at = (system: string, protocol: Protocol | '-', c: number) => rows.find((r) => r.system === system && r.protocol === protocol && r.concurrency === c);
  /** The peer with the highest throughput over `protocol` at `c`. */
  const bestPeer = (protocol: Protocol, c: number) =>
    rows.filter((r) => r.role === 'peer' && r.protocol === protocol && r.concurrency === c && r.r).sort((a, b) => (b.r?.rps ?? 0) - (a.r?.rps ?? 0))[0];
  const floorOf = (protocol: Protocol) => systems.find((s) => s.role === 'floor' && s.protocols.includes(protocol))?.name ?? '';
  const fluxoras = systems.filter((s) => s.role === 'fluxora');

  console.log('\nratios (fluxora against the better peer of the same protocol at the same concurrency)');
  for (const c of concurrencies) {
    for (const protocol of ['REST', 'gRPC'] as Protocol[]) {
      const peer = bestPeer(protocol, c);
      const limit = at(IN_PROCESS, '-', c)?.r;
      const floor = at(floorOf(protocol), protocol, c)?.r;
      for (const s of fluxoras) {
        const row = at(s.name, protocol, c);
        const label = `  c=${String(c).padEnd(3)} ${protocol.padEnd(4)} ${s.name.padEnd(28)}`;
        if (!row?.r) {
          console.log(`${label} ${row?.note ?? 'no result'}`);
          continue;
        }
        const parts: string[] = [];
        if (peer?.r) parts.push(`${fmt(row.r.rps / peer.r.rps, 2)}x ${peer.system} (p99 ${fmt(row.r.p99, 2)} vs ${fmt(peer.r.p99, 2)} ms)`);
        if (limit) parts.push(`${fmt((100 * row.r.rps) / limit.rps, 1)}% of the in-process limit`);
        if (floor) parts.push(`${fmt((100 * row.r.rps) / floor.rps, 1)}% of the ${protocol === 'REST' ? 'HTTP' : 'gRPC'} floor`);
        console.log(`${label} ${parts.join(', ')}`);
      }
    }
  }

  console.log('\ntargets (issue 16; a MISS is reported, not a failure)');
  const verdict = (ok: boolean) => (ok ? 'PASS' : 'MISS');
  const line = (label: string, result: string) => console.log(`  ${label.padEnd(44)} ${result}`);
  const vsPeer = (protocol: Protocol, withP99: boolean) => {
    console.log(`${protocol} >= 3x the better peer's ${protocol} req/s${withP99 ? ', with a lower p99' : ''}, at every concurrency`);
    for (const s of fluxoras) {
      for (const c of concurrencies) {
        const row = at(s.name, protocol, c);
        const peer = bestPeer(protocol, c);
        const label = `c=${String(c).padEnd(3)} ${s.name}`;
        if (!row?.r) line(label, row?.note ?? 'n/a (no result)');
        else if (!peer?.r) line(label, 'n/a (no peer result)');
        else {
          const ratio = row.r.rps / peer.r.rps;
          const ok = ratio >= 3 && (!withP99 || row.r.p99 < peer.r.p99);
          line(label, `${verdict(ok)}  ${fmt(ratio, 2)}x ${peer.system}${withP99 ? `, p99 ${fmt(row.r.p99, 2)} vs ${fmt(peer.r.p99, 2)} ms` : ''}`);
        }
      }
    }
  };
  vsPeer('REST', true);
  console.log('REST at c=64 >= 70% of the HTTP floor');
  for (const s of fluxoras) {
    const row = at(s.name, 'REST', 64)?.r;
    const floor = at(floorOf('REST'), 'REST', 64)?.r;
    if (!concurrencies.includes(64)) line(s.name, 'n/a (c=64 not in BENCH_CONCURRENCY)');
    else if (!row || !floor) line(s.name, 'n/a (no result)');
    else line(s.name, `${verdict(row.rps >= 0.7 * floor.rps)}  ${fmt((100 * row.rps) / floor.rps, 1)}%`);
  }
  vsPeer('gRPC', false);

  if (errors.length) {
    console.log(`\nERRORS (the run fails):\n  ${errors.join('\n  ')}`);
    return 1;
  }
  return 0;
}

if (process.argv[2] === 'echo-server') {
  echoServer(Number(process.argv[3]));
} else if (process.argv[2] === 'grpc-echo-server') {
  grpcEchoServer(Number(process.argv[3]));
} else if (process.argv[2] === 'loadgen') {
  const result = await loadgen(JSON.parse(process.argv[3] ?? '{}') as LoadConfig);
  process.stdout.write(JSON.stringify(result));
} else {
  const onSignal = (signal: NodeJS.Signals) => {
    for (const r of running) killGroup(r, 'SIGKILL');
    process.exit(signal === 'SIGINT' ? 130 : 143);
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  let code = 1;
  try {
    code = await main();
  } catch (e) {
    console.error(`bench:serve failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
  } finally {
    for (const r of [...running]) await stop(r);
  }
  process.exit(code);
}
