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
//       load generator reach at all, for reading the gRPC rows (no target);
//   (g) `fluxora serve` (batching) with the prediction log on: every request
//       logged (sample rate 1) to a real MinIO (hack/minio.sh, on
//       FLUXORA_MINIO_PORT, bucket created here; bench/support/log-store.ts),
//       compared with (b) with batching, the same server with the log off.
//       After each round the records are counted: the server's answered
//       requests (/metrics) against the log's written, dropped and failed
//       counts (the admin port's /v2/models/{name}/prediction-log) and
//       against the records actually stored on MinIO, read back.
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
// >= 3x the better peer's gRPC req/s. Prediction log: with the log on,
// throughput >= 90% and p99 <= 1.2x of the log off, per protocol and
// concurrency, with no record dropped or failed. A miss prints MISS and does
// not fail the run; an error (a server that does not start, a wrong answer, a
// failed request, a logged record missing from MinIO) fails it (exit 1).
//
//   BENCH_SECONDS=3 BENCH_CONCURRENCY=1,8,64 BENCH_ROUNDS=3 npm run bench:serve
//                                     (each point is the median of its rounds)
//   BENCH_PIN=1 npm run bench:serve   servers (and the in-process limit) on CPU 0,
//                                     the load generator on CPU 1 (taskset), so the
//                                     client never competes with the system measured
//   npm run bench:serve -- --ci       reduced size for CI: every system briefly
//                                     (0.5 s per point, one round); only errors fail
//   npm run bench:serve -- --only log the prediction log comparison alone: fluxora
//                                     serve with the log off and on, REST and gRPC,
//                                     c=8 and c=64 unless BENCH_CONCURRENCY says
//                                     otherwise (combines with --ci)
//   npm run bench:serve -- --only mirror
//                                     Shadow mirroring (issue 14): the same load on a
//                                     fluxora serve champion with no analysis, with an
//                                     analysis counted but no mirror, and with 100 % of
//                                     its requests mirrored to a candidate pod (another
//                                     fluxora serve, same model), REST and gRPC, c=8 and
//                                     c=64 unless BENCH_CONCURRENCY says otherwise; the
//                                     HTTP and gRPC floors in the same run; after each
//                                     point the champion's promotion figures (mirrored,
//                                     skipped, candidate errors, agreement). Champion,
//                                     candidate and load generator share this machine:
//                                     the candidate's CPU is taken from the champion's,
//                                     which a cluster would put on another node.
//                                     BENCH_BASE_REF=main adds that git ref's build of
//                                     fluxora serve (compiled from `git archive`), for
//                                     what the no-analysis path costs against it
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
import { parseArgs } from 'node:util';
import * as ort from 'onnxruntime-node';
import { ensurePythonVenv } from '../test/fixtures/models/python-venv.js';
import { fixturePath } from '../test/fixtures/models/generate.js';
import { freePort } from '../test/support/ports.js';
import { countStoredRecords, deleteStoredLog, LOG_BUCKET, startLogStore, type LogStore } from './support/log-store.js';
import { compileCli } from './support/operator-build.js';
import { processGroupCpuSeconds } from './support/process-sampler.js';
import { scrapeSamples, sumOf } from './support/prometheus-text.js';
import { connectSession, decodeInferRequest, firstOutputValue, INFER_PATH, inferRequestFrame, inferResponseFrame, unary } from './support/grpc-v2.js';
import { bucketQuantile, compileRef, getPromotion, putPromotion } from './support/promotion-admin.js';
import type { PodFigures } from '../src/promotion/figures.js';

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
  /**
   * fluxora only: CPU time its processes spent per request answered while the
   * point ran (from /proc and its /metrics): a second view of what the
   * prediction log costs. It moves less than req/s when other processes take
   * CPU time, but not nothing: a server answering fewer requests per wake-up
   * spends more per request, so compare it between points of similar req/s.
   */
  cpuUsPerRequest?: number;
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
  admin?: number;
}

const running = new Set<Running>();
/** Run on exit, a signal included (stopping a MinIO the bench started). */
const cleanups: (() => void)[] = [];

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

/** Where the ON server of the prediction log comparison writes. */
interface LogTarget {
  store: LogStore;
  /** s3://bucket/prefix/, one per server started. */
  uri: string;
}

/** The admin token of the servers of the mirror comparison (their promotion endpoint needs one). */
const PROMOTION_TOKEN = 'bench-token';

interface FluxoraOptions {
  log?: LogTarget;
  /** --model-version (default the CLI's) */
  version?: string;
  /** Sets FLUXORA_SAMPLES_TOKEN to PROMOTION_TOKEN. */
  token?: boolean;
  /** Names the system in errors (default from batching and log). */
  name?: string;
}

async function startFluxora(main: string, grpc: boolean, batching: boolean, maxBatchSize: number, delayMs: number, o: FluxoraOptions = {}): Promise<Running> {
  const { log } = o;
  const [port, adminPort] = [await freePort(), await freePort()];
  const args = [main, 'serve', '--model-name', NAME, '--model-uri', `file://${MODEL}`, '--host', '127.0.0.1', '--port', String(port)];
  if (o.version) args.push('--model-version', o.version);
  args.push('--admin-port', String(adminPort), '--log-level', 'warn');
  args.push('--max-batch-size', String(maxBatchSize), '--max-batch-delay-ms', batching ? String(delayMs) : '0');
  const grpcPort = grpc ? await freePort() : undefined;
  if (grpcPort) args.push(FLUXORA_GRPC_FLAG, String(grpcPort));
  // Every request logged, the other settings at their defaults but the flush
  // interval: under load full batches (1000 records) are written long before
  // it, and 1 s (not 10) only shortens the wait for the last partial batch
  // before the records are counted.
  if (log) args.push('--prediction-log-uri', log.uri, '--prediction-log-sample-rate', '1', '--prediction-log-flush-interval-seconds', '1');
  const env = { ...process.env, ...(log ? log.store.serverEnv : {}), ...(o.token ? { FLUXORA_SAMPLES_TOKEN: PROMOTION_TOKEN } : {}) };
  const r = startProcess(o.name ?? `fluxora serve (${batching ? 'batching' : 'no batching'}${log ? ', prediction log' : ''})`, process.execPath, args, { env });
  await waitRestReady(r, port, 60_000);
  Object.assign(r, { rest: port, admin: adminPort });
  if (grpcPort) r.grpc = grpcPort;
  return r;
}

/** Inference requests a fluxora server has answered (200), from its /metrics. */
const answeredRequests = async (port: number) => sumOf(await scrapeSamples(port), 'fluxora_inference_requests_total', { endpoint: 'infer', code: '200' });

/** Runs one point against a fluxora server, adding the CPU it spent per request answered. */
async function runLoadgenMeasuringCpu(r: Running, load: LoadConfig): Promise<Result> {
  const pgid = r.child.pid;
  if (!pgid || !r.rest) return runLoadgen(load);
  const [cpu0, n0] = [processGroupCpuSeconds(pgid), await answeredRequests(r.rest)];
  const result = await runLoadgen(load);
  const [cpu1, n1] = [processGroupCpuSeconds(pgid), await answeredRequests(r.rest)];
  return n1 > n0 ? { ...result, cpuUsPerRequest: ((cpu1 - cpu0) * 1e6) / (n1 - n0) } : result;
}

/** The admin port's answer about the prediction log (src/serving/prediction-log.ts PredictionLogStatus). */
interface LogStatus {
  enabled: boolean;
  buffered: number;
  writing: number;
  written: number;
  dropped: number;
  failed: number;
  lastError?: string;
}

/** What one ON server logged, counted three ways. */
interface LogCount {
  /** Inference requests it answered (200), from /metrics: every one is offered to the log. */
  answered: number;
  status: LogStatus;
  /** Objects and records read back from MinIO. */
  objects: number;
  records: number;
}

/**
 * Waits until everything the server answered is accounted for by the log
 * (written, dropped or failed; nothing buffered or being written), then reads
 * back what reached MinIO. Throws when a record is missing or extra.
 */
async function countLogged(r: Running, log: LogTarget, timeoutMs = 60_000): Promise<LogCount> {
  if (!r.rest || !r.admin) throw new Error(`${r.name} has no ports`);
  const answered = await answeredRequests(r.rest);
  const deadline = Date.now() + timeoutMs;
  let status: LogStatus;
  for (;;) {
    const res = await fetch(`http://127.0.0.1:${r.admin}/v2/models/${NAME}/prediction-log`);
    status = (await res.json()) as LogStatus;
    if (!status.enabled) throw failure(r, 'reports no prediction log');
    const settled = status.buffered === 0 && status.writing === 0 && status.written + status.dropped + status.failed >= answered;
    if (settled) break;
    if (Date.now() > deadline) {
      throw failure(r, `prediction log not settled after ${timeoutMs / 1000} s: ${answered} answered, ${JSON.stringify(status)}`);
    }
    await new Promise((res) => setTimeout(res, 200));
  }
  const stored = await countStoredRecords(log.store, log.uri);
  const count = { answered, status, ...stored };
  if (status.written + status.dropped + status.failed !== answered) {
    throw failure(r, `prediction log: ${answered} requests answered but ${status.written} written + ${status.dropped} dropped + ${status.failed} failed`);
  }
  if (stored.records !== status.written) {
    throw failure(r, `prediction log: the server counted ${status.written} records written, MinIO holds ${stored.records} under ${log.uri}`);
  }
  return count;
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

/**
 * 'fluxora-log': fluxora with the prediction log on, compared with the log off, not with the peers;
 * 'fluxora-promotion': fluxora with a promotion analysis (and maybe a Shadow mirror), compared with none.
 */
type Role = 'limit' | 'fluxora' | 'fluxora-log' | 'fluxora-promotion' | 'peer' | 'floor';

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
  /** After its points are measured, before it is stopped: checks what it did besides answering (throws on an error). */
  after?: (r: Running, round: number) => Promise<void>;
  /** Before and after each point (protocol and concurrency) it is measured at. */
  beforePoint?: (r: Running, protocol: Protocol, c: number, round: number) => Promise<void>;
  afterPoint?: (r: Running, protocol: Protocol, c: number, round: number) => Promise<void>;
  /** Once it is stopped, whatever the outcome: stops what it started besides its own process. */
  cleanup?: () => Promise<void>;
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
  const header = `${'system'.padEnd(42)} ${'proto'.padEnd(5)} ${'conc'.padStart(5)} ${'req/s'.padStart(9)} ${'rounds min-max'.padStart(15)} ${'p50 ms'.padStart(8)} ${'p99 ms'.padStart(8)} ${'errors'.padStart(7)}`;
  console.log(`\n${header}\n${'-'.repeat(header.length)}`);
  for (const { system, protocol, concurrency, r, spread, note } of rows) {
    const head = `${system.padEnd(42)} ${protocol.padEnd(5)} ${String(concurrency).padStart(5)}`;
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

/** What `--only` can select. */
const ONLY = ['log', 'mirror'] as const;

async function main(): Promise<number> {
  const { values: flags } = parseArgs({ args: process.argv.slice(2), options: { ci: { type: 'boolean', default: false }, only: { type: 'string' } } });
  const ci = flags.ci;
  if (flags.only !== undefined && !(ONLY as readonly string[]).includes(flags.only)) throw new Error(`--only must be one of ${ONLY.join(', ')}, got "${flags.only}"`);
  const onlyLog = flags.only === 'log';
  const onlyMirror = flags.only === 'mirror';
  const only = onlyLog || onlyMirror;
  const seconds = envNumber('BENCH_SECONDS', ci ? 0.5 : 3, 0.1);
  const concurrencies = (process.env.BENCH_CONCURRENCY ?? (only ? '8,64' : '1,8,64')).split(',').map((c) => {
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
    `bench:serve${onlyLog ? ' --only log (the prediction log on against off)' : ''}${onlyMirror ? ' --only mirror (Shadow mirroring against no analysis)' : ''}${ci ? ' --ci (reduced size: the figures are a smoke test, not measurements; only errors fail)' : ''}  model=${MODEL}\n` +
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
  const mlserver = only ? undefined : await venvPython('MLServer', 'hack/requirements-bench-mlserver.txt', ['mlserver', 'onnxruntime', 'numpy']);
  const kserve = only ? undefined : await venvPython('KServe', 'hack/requirements-bench-kserve.txt', ['kserve', 'onnxruntime', 'numpy']);
  const expected = await expectedAnswer();
  // The mirror comparison logs nothing: no MinIO.
  let store: LogStore | undefined;
  if (!onlyMirror) {
    process.stdout.write(`starting MinIO for the prediction log (hack/minio.sh, port ${process.env.FLUXORA_MINIO_PORT || '19000'})... `);
    const s = await startLogStore(PIN ? 1 : undefined);
    store = s;
    cleanups.push(() => s.stop());
    console.log(`ok: ${s.minio.endpoint}, bucket ${LOG_BUCKET}${PIN ? ' (a MinIO started here runs on CPU 1, beside the load generator)' : ''}`);
  }
  const baseRef = onlyMirror ? process.env.BENCH_BASE_REF || undefined : undefined;
  const baseMain = baseRef ? compileRef(ROOT, baseRef) : undefined;
  if (baseRef) console.log(`base build: fluxora serve of ${baseRef} (${execFileSync('git', ['-C', ROOT, 'rev-parse', '--short', baseRef], { encoding: 'utf8' }).trim()}), compiled to ${baseMain}`);
  const runId = `run-${new Date().toISOString().replace(/[-:.]/g, '')}`;
  /** Per round: what the ON server logged. */
  const logCounts: { round: number; count?: LogCount; error?: string }[] = [];

  const fluxora = (batching: boolean): System => ({
    name: `fluxora serve (${batching ? 'batching' : 'no batching'})`,
    role: 'fluxora',
    protocols: grpc ? ['REST', 'gRPC'] : ['REST'],
    ...(grpc ? {} : { unavailable: { gRPC: 'n/a (not built)' } }),
    start: () => startFluxora(main, grpc, batching, maxBatchSize, delayMs),
    check: true,
  });
  // The log on: the same server as fluxora(true), writing every request to MinIO under a prefix of its own per round.
  let logTarget: LogTarget | undefined;
  const fluxoraLog: System = {
    name: 'fluxora serve (batching, prediction log)',
    role: 'fluxora-log',
    protocols: grpc ? ['REST', 'gRPC'] : ['REST'],
    ...(grpc ? {} : { unavailable: { gRPC: 'n/a (not built)' } }),
    start: async () => {
      logTarget = { store: store as LogStore, uri: `s3://${LOG_BUCKET}/${runId}/server-${logCounts.length + 1}/` };
      return startFluxora(main, grpc, true, maxBatchSize, delayMs, { log: logTarget });
    },
    check: true,
    after: async (r, round) => {
      const target = logTarget as LogTarget;
      try {
        const count = await countLogged(r, target);
        logCounts.push({ round, count });
        const { answered, status: st, objects, records } = count;
        console.log(
          `  [round ${round}] prediction log: ${answered} requests answered = ${st.written} written (${records} records in ${objects} objects on MinIO) + ${st.dropped} dropped + ${st.failed} failed${st.lastError ? `; last error: ${st.lastError}` : ''}`,
        );
      } catch (e) {
        logCounts.push({ round, error: e instanceof Error ? e.message : String(e) });
        throw e;
      } finally {
        await deleteStoredLog(target.store, target.uri).catch((e: unknown) => console.log(`  could not delete ${target.uri}: ${String(e)}`));
      }
    },
  };
  // The mirror comparison: the champion with an analysis (figures counted) and with a 100 % Shadow to a candidate pod.
  const mirrorFigures: { round: number; protocol: Protocol; c: number; figures: PodFigures }[] = [];
  const analysisId = (round: number, protocol: Protocol, c: number) => `bench-${round}-${protocol}-${c}`;
  const fluxoraCounting: System = {
    name: 'fluxora serve (batching, analysis, no mirror)',
    role: 'fluxora-promotion',
    protocols: ['REST', 'gRPC'],
    start: () => startFluxora(main, grpc, true, maxBatchSize, delayMs, { token: true, name: 'fluxora serve (analysis)' }),
    check: true,
    // A new analysis per point: each point's figures from zero.
    beforePoint: (r, protocol, c, round) => putPromotion(r.admin ?? 0, NAME, PROMOTION_TOKEN, { analysis: analysisId(round, protocol, c) }),
  };
  let candidate: Running | undefined;
  const stopCandidate = async () => {
    if (candidate) await stop(candidate);
    candidate = undefined;
  };
  const fluxoraMirror: System = {
    name: 'fluxora serve (batching, 100% shadow)',
    role: 'fluxora-promotion',
    protocols: ['REST', 'gRPC'],
    start: async () => {
      await stopCandidate();
      candidate = await startFluxora(main, grpc, true, maxBatchSize, delayMs, { version: 'candidate', token: true, name: 'fluxora serve (candidate)' });
      await checkAnswer(candidate, 'REST', candidate.rest ?? 0, expected);
      return startFluxora(main, grpc, true, maxBatchSize, delayMs, { token: true, name: 'fluxora serve (shadow champion)' });
    },
    check: true,
    beforePoint: async (r, protocol, c, round) => {
      const analysis = analysisId(round, protocol, c);
      await putPromotion(candidate?.admin ?? 0, NAME, PROMOTION_TOKEN, { analysis });
      await putPromotion(r.admin ?? 0, NAME, PROMOTION_TOKEN, { analysis, mirror: { url: `http://127.0.0.1:${candidate?.rest ?? 0}`, version: 'candidate', percent: 100 } });
    },
    afterPoint: async (r, protocol, c, round) => {
      // Mirrors still in flight finish within the mirror timeout (5 s); wait for them, then read.
      const deadline = Date.now() + 7_000;
      let f: PodFigures;
      for (;;) {
        f = await getPromotion(r.admin ?? 0, NAME, PROMOTION_TOKEN);
        const m = f.mirror;
        if (!m || m.compared + m.candidateErrors + m.skipped >= m.mirrored || Date.now() > deadline) break;
        await new Promise((res) => setTimeout(res, 100));
      }
      mirrorFigures.push({ round, protocol, c, figures: f });
      const m = f.mirror;
      if (!m) throw failure(r, 'reports no mirror figures');
      console.log(
        `  [round ${round}] shadow figures ${protocol} c=${c}: ${f.traffic.requests} requests (warm-up included), ${m.mirrored} mirrored, ${m.skipped} skipped (${fmt((100 * m.skipped) / Math.max(1, m.mirrored), 1)}%), ` +
          `${m.candidateErrors} candidate errors, ${m.compared} compared, agreement ${m.rows ? fmt(m.agreedRows / m.rows, 4) : '-'}, max |diff| ${m.maxAbsDiff}`,
      );
      if (m.candidateErrors > 0) throw failure(r, `the candidate failed ${m.candidateErrors} mirrored requests`);
      if (m.agreedRows !== m.rows) throw failure(r, `the candidate (same model) disagreed on ${m.rows - m.agreedRows} of ${m.rows} rows`);
    },
    cleanup: stopCandidate,
  };
  const fluxoraBase: System | undefined = baseMain
    ? {
        name: `fluxora serve (batching, ${baseRef} build)`,
        role: 'fluxora',
        protocols: ['REST', 'gRPC'],
        start: () => startFluxora(baseMain, grpc, true, maxBatchSize, delayMs, { name: `fluxora serve (${baseRef})` }),
        check: true,
      }
    : undefined;
  const floors: System[] = [
    { name: 'node:http fixed reply (HTTP floor)', role: 'floor', protocols: ['REST'], start: startEcho, check: false },
    { name: 'node:http2 fixed reply (gRPC floor)', role: 'floor', protocols: ['gRPC'], start: startGrpcEcho, check: false },
  ];

  const systems: System[] = onlyMirror
    ? [fluxora(true), fluxoraCounting, fluxoraMirror, ...(fluxoraBase ? [fluxoraBase] : []), ...floors]
    : onlyLog
      ? [fluxora(true), fluxoraLog]
      : [
        fluxora(true),
        fluxora(false),
        fluxoraLog,
        { name: `MLServer ${mlserver?.version}`, role: 'peer', protocols: ['REST', 'gRPC'], start: () => startMlserver(mlserver?.python ?? '', 1), check: true },
        { name: `MLServer ${mlserver?.version} (no worker pool)`, role: 'peer', protocols: ['REST', 'gRPC'], start: () => startMlserver(mlserver?.python ?? '', 0), check: true },
        { name: `KServe ${kserve?.version}`, role: 'peer', protocols: ['REST', 'gRPC'], start: () => startKserve(kserve?.python ?? ''), check: true },
        ...floors,
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
    const cpu = r.cpuUsPerRequest !== undefined ? `, server CPU ${fmt(r.cpuUsPerRequest, 1)} µs/request` : '';
    console.log(`  [round ${round}] ${system} ${protocol} c=${c}: ${fmt(r.rps)} req/s, p50 ${fmt(r.p50, 3)} ms, p99 ${fmt(r.p99, 3)} ms, errors ${r.errors}${cpu}`);
    if (r.errors > 0) errors.push(`${system} ${protocol} c=${c} (round ${round}): ${r.errors} failed requests, the first: ${r.firstError ?? '?'}`);
  };
  for (let round = 1; round <= rounds; round++) {
    if (!only) for (const c of concurrencies) add(round, IN_PROCESS, '-', c, await inProcess(c, warmupMs, durationMs));
    // Every other round in reverse order: a pair compared closely (the log off and on) does not always run in the same slot.
    for (const s of round % 2 === 1 ? systems : [...systems].reverse()) {
      if (failed.has(s.name)) continue;
      let r: Running | undefined;
      try {
        r = await s.start();
        for (const protocol of s.protocols) {
          const port = protocol === 'REST' ? r.rest : r.grpc;
          if (!port) throw new Error(`${s.name} has no ${protocol} port`);
          if (s.check) await checkAnswer(r, protocol, port, expected);
          for (const c of concurrencies) {
            const load = { protocol, port, concurrency: c, connections, warmupMs, durationMs };
            await s.beforePoint?.(r, protocol, c, round);
            add(round, s.name, protocol, c, s.role.startsWith('fluxora') ? await runLoadgenMeasuringCpu(r, load) : await runLoadgen(load));
            await s.afterPoint?.(r, protocol, c, round);
          }
          if (exited(r.child)) throw failure(r, `exited with ${r.child.exitCode ?? r.child.signalCode} while measured`);
        }
        await s.after?.(r, round);
      } catch (e) {
        const msg = e instanceof Error ? e.message : String(e);
        console.log(`  [round ${round}] ${s.name}: ERROR ${msg}`);
        errors.push(`${s.name} (round ${round}): ${msg}`);
        failed.add(s.name);
      } finally {
        if (r) await stop(r);
        await s.cleanup?.();
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
  const verdict = (ok: boolean) => (ok ? 'PASS' : 'MISS');
  const line = (label: string, result: string) => console.log(`  ${label.padEnd(44)} ${result}`);

  if (!only) printPeerTargets();
  if (onlyMirror) printMirrorComparison();
  else printLogComparison();

  if (errors.length) {
    console.log(`\nERRORS (the run fails):\n  ${errors.join('\n  ')}`);
    return 1;
  }
  return 0;

  function median(xs: number[]): number {
    return [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)] ?? NaN;
  }
  function medians(system: string, protocol: Protocol, c: number): { rps: number; p99: number; cpu: number } | undefined {
    const rs = samples.get(key(system, protocol, c)) ?? [];
    return rs.length ? { rps: median(rs.map((r) => r.rps)), p99: median(rs.map((r) => r.p99)), cpu: median(rs.map((r) => r.cpuUsPerRequest ?? NaN)) } : undefined;
  }

  /**
   * Shadow mirroring against no analysis, from every round's figures (medians
   * as for the log), beside the floors measured in the same run; then what the
   * shadow champion counted at each point.
   */
  function printMirrorComparison(): void {
    const none = fluxora(true).name;
    const ratio = (a: number | undefined, b: number | undefined, d = 2) => (a !== undefined && b !== undefined ? `${fmt(a / b, d)}x` : '-');
    console.log(`\nShadow mirroring against no analysis: "${fluxoraMirror.name}" and "${fluxoraCounting.name}" against "${none}" (medians over the rounds)`);
    const cols: [string, number][] = [
      ['proto', 5], ['conc', 5], ['none req/s', 11], ['counted', 9], ['/none', 6], ['shadow', 9], ['/none', 6],
      ['none p99', 9], ['counted', 8], ['/none', 6], ['shadow', 8], ['/none', 6],
      ['none CPU', 9], ['counted', 8], ['shadow', 8], ['floor req/s', 12], ['none/floor', 11],
      ...(fluxoraBase ? ([['base req/s', 11], ['none/base', 10], ['base CPU', 9]] as [string, number][]) : []),
    ];
    const header = cols.map(([h, w], i) => (i < 1 ? h.padEnd(w) : h.padStart(w))).join(' ');
    console.log(`  ${header}\n  ${'-'.repeat(header.length)}`);
    for (const protocol of ['REST', 'gRPC'] as Protocol[]) {
      const floorName = floors.find((f) => f.protocols.includes(protocol))?.name ?? '';
      for (const c of concurrencies) {
        const a = medians(none, protocol, c);
        const k = medians(fluxoraCounting.name, protocol, c);
        const m = medians(fluxoraMirror.name, protocol, c);
        const fl = medians(floorName, protocol, c);
        const b = fluxoraBase ? medians(fluxoraBase.name, protocol, c) : undefined;
        const cells = [
          fmt(a?.rps ?? NaN), fmt(k?.rps ?? NaN), ratio(k?.rps, a?.rps), fmt(m?.rps ?? NaN), ratio(m?.rps, a?.rps),
          fmt(a?.p99 ?? NaN, 2), fmt(k?.p99 ?? NaN, 2), ratio(k?.p99, a?.p99), fmt(m?.p99 ?? NaN, 2), ratio(m?.p99, a?.p99),
          fmt(a?.cpu ?? NaN, 1), fmt(k?.cpu ?? NaN, 1), fmt(m?.cpu ?? NaN, 1),
          fmt(fl?.rps ?? NaN), fl && a ? `${fmt((100 * a.rps) / fl.rps, 1)}%` : '-',
          ...(fluxoraBase ? [fmt(b?.rps ?? NaN), ratio(a?.rps, b?.rps, 3), fmt(b?.cpu ?? NaN, 1)] : []),
        ];
        console.log(`  ${protocol.padEnd(5)} ${String(c).padStart(5)} ${cells.map((x, i) => x.padStart((cols[i + 2] as [string, number])[1])).join(' ')}`);
      }
    }
    console.log(
      'counted: an analysis set (traffic figures), no mirror; shadow: every request also sent to a candidate pod (the same model) and compared.\n' +
        'CPU: µs of the champion\'s CPU time per request answered (the candidate\'s not included); p99 in ms.\n' +
        'The candidate runs on this machine beside the champion and the load generator: its CPU time comes out of the champion\'s, which on a cluster it would not.',
    );
    console.log('\nshadow champion figures per point (each point a new analysis id; warm-up included)');
    for (const { round, protocol, c, figures: f } of mirrorFigures) {
      const m = f.mirror;
      if (!m) continue;
      console.log(
        `  round ${round} ${protocol.padEnd(4)} c=${String(c).padEnd(3)} requests ${f.traffic.requests}, mirrored ${m.mirrored}, skipped ${m.skipped} (${fmt((100 * m.skipped) / Math.max(1, m.mirrored), 1)}%), ` +
          `candidate errors ${m.candidateErrors}, compared ${m.compared}, agreement ${m.rows ? fmt(m.agreedRows / m.rows, 4) : '-'}, ` +
          `p99 bucket: champion <= ${bucketQuantile(m.championLatencyBuckets, 0.99)} ms, candidate round trip <= ${bucketQuantile(m.candidateLatencyBuckets, 0.99)} ms`,
      );
    }
  }

  /**
   * The log on against off, from every round's figures: the median
   * throughput and, separately, the median p99 (a p99 swings more between
   * rounds than throughput does; a median of each keeps one bad round from
   * deciding the verdict).
   */
  function printLogComparison(): void {
    const off = fluxora(true).name;
    console.log(`\nprediction log on against off: "${fluxoraLog.name}" against "${off}" (medians over the rounds)`);
    const header =
      `  ${'proto'.padEnd(5)} ${'conc'.padStart(5)} ${'off req/s'.padStart(10)} ${'on req/s'.padStart(10)} ${'on/off'.padStart(7)} ${'off p99 ms'.padStart(11)} ${'on p99 ms'.padStart(10)} ${'on/off'.padStart(7)}` +
      ` ${'off CPU µs/req'.padStart(15)} ${'on CPU µs/req'.padStart(14)} ${'on/off'.padStart(7)}`;
    console.log(`${header}\n  ${'-'.repeat(header.length - 2)}`);
    const verdicts: [string, string][] = [];
    for (const protocol of ['REST', 'gRPC'] as Protocol[]) {
      for (const c of concurrencies) {
        const label = `c=${String(c).padEnd(3)} ${protocol}`;
        if (!fluxoraLog.protocols.includes(protocol)) {
          verdicts.push([label, fluxoraLog.unavailable?.[protocol] ?? 'n/a']);
          continue;
        }
        const a = medians(off, protocol, c);
        const b = medians(fluxoraLog.name, protocol, c);
        if (!a || !b) {
          console.log(`  ${protocol.padEnd(5)} ${String(c).padStart(5)} no result`);
          verdicts.push([label, 'n/a (no result)']);
          continue;
        }
        const tput = b.rps / a.rps;
        const p99 = b.p99 / a.p99;
        console.log(
          `  ${protocol.padEnd(5)} ${String(c).padStart(5)} ${fmt(a.rps).padStart(10)} ${fmt(b.rps).padStart(10)} ${`${fmt(100 * tput, 1)}%`.padStart(7)} ${fmt(a.p99, 3).padStart(11)} ${fmt(b.p99, 3).padStart(10)} ${`${fmt(p99, 2)}x`.padStart(7)}` +
            ` ${fmt(a.cpu, 1).padStart(15)} ${fmt(b.cpu, 1).padStart(14)} ${`${fmt(b.cpu / a.cpu, 2)}x`.padStart(7)}`,
        );
        verdicts.push([label, `${verdict(tput >= 0.9)}  throughput ${fmt(100 * tput, 1)}% of off;  ${verdict(p99 <= 1.2)}  p99 ${fmt(p99, 2)}x off`]);
      }
    }
    console.log('CPU µs/req: CPU time of the server (all its threads) per request answered; it grows when a server answers fewer requests per wake-up, so it compares best between points of similar req/s');
    console.log('\ntargets (prediction log; a MISS is reported, not a failure)');
    console.log('with the log on: throughput >= 90% and p99 <= 1.2x of the log off, at every concurrency');
    for (const [label, result] of verdicts) line(label, result);
    console.log('every request answered with the log on is stored on MinIO (none dropped or failed)');
    if (logCounts.length === 0) line('(no round)', 'n/a (the log-on server was not measured)');
    for (const { round, count, error } of logCounts) {
      if (!count) line(`round ${round}`, `ERROR ${error ?? ''}`);
      else {
        const { answered, status: st, records, objects } = count;
        line(`round ${round}`, `${verdict(st.dropped + st.failed === 0)}  ${records} of ${answered} records on MinIO (${objects} objects), ${st.dropped} dropped, ${st.failed} failed`);
      }
    }
  }

  function printPeerTargets(): void {
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
  }
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
    for (const c of cleanups) c();
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
    for (const c of cleanups.splice(0)) {
      try {
        c();
      } catch (e) {
        console.error(`bench:serve: cleaning up failed: ${e instanceof Error ? e.message : String(e)}`);
      }
    }
  }
  process.exit(code);
}
