// `npm run bench:serve`: inference throughput and latency of `fluxora serve`
// against named baselines, in one run, on the same small model
// (test/fixtures/models/linear.onnx, one FP32 row of 3 per request):
//
//   (a) onnxruntime-node called in-process: no HTTP at all, the limit;
//   (b) `fluxora serve` (the real CLI compiled as the image ships it, a
//       child process) over HTTP, with
//       dynamic batching and without;
//   (c) the Python peer: onnxruntime behind FastAPI/uvicorn
//       (hack/bench-serve-peer.py, from a cached venv);
//   (d) a bare node:http server answering a fixed V2 response without any
//       model: the floor of HTTP in Node on this machine, which bounds what
//       any Node server can reach.
//
// Load comes from a separate process (this file run as `loadgen`): N
// keep-alive connections, each sending its next request as soon as the last
// answer arrives (closed loop), over raw sockets with a minimal HTTP/1.1
// parser so the client is not the bottleneck.
//
//   BENCH_SECONDS=3 BENCH_CONCURRENCY=1,8,64 BENCH_ROUNDS=3 npm run bench:serve
//                                     (each point is the median of its rounds)
//   BENCH_PIN=1 npm run bench:serve   servers (and the in-process limit) on CPU 0,
//                                     the load generator on CPU 1 (taskset), so the
//                                     client never competes with the system measured
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createServer as createHttpServer } from 'node:http';
import { createServer, connect, type Socket } from 'node:net';
import { loadavg, cpus } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as ort from 'onnxruntime-node';
import { ensureServeVenv } from '../test/fixtures/models/python-venv.js';
import { fixturePath } from '../test/fixtures/models/generate.js';
import { compileCli } from './support/operator-build.js';

const SELF = fileURLToPath(import.meta.url);
const ROOT = join(SELF, '..', '..');
const MODEL = fixturePath('linear.onnx');
const NAME = 'bench';
const ROW = [0.5, -1.5, 2.25];
const BODY = JSON.stringify({ inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 3], data: [ROW] }] });

/** BENCH_PIN=1: every system measured runs on CPU 0 and the load generator on CPU 1. */
const PIN = process.env.BENCH_PIN === '1';
const pinned = (cpu: number, cmd: string, args: string[]): [string, string[]] => (PIN ? ['taskset', ['-c', String(cpu), cmd, ...args]] : [cmd, args]);

interface LoadConfig {
  port: number;
  path: string;
  body: string;
  concurrency: number;
  warmupMs: number;
  durationMs: number;
}

interface Result {
  requests: number;
  errors: number;
  seconds: number;
  rps: number;
  p50: number;
  p99: number;
}

function summarize(latenciesMs: number[], errors: number, seconds: number): Result {
  const sorted = Float64Array.from(latenciesMs).sort();
  const q = (p: number) => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? NaN;
  return { requests: sorted.length, errors, seconds, rps: sorted.length / seconds, p50: q(0.5), p99: q(0.99) };
}

// ---------------------------------------------------------------------------
// Load generator (runs in its own process).

/** One closed-loop connection: send, read the whole response, repeat until `stop`. */
async function connectionLoop(c: LoadConfig, request: Buffer, record: (ms: number, ok: boolean) => void, stop: () => boolean): Promise<void> {
  const socket: Socket = connect(c.port, '127.0.0.1');
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
    record(performance.now() - t0, res.status === 200);
    if (res.status === 0) break;
  }
  socket.destroy();
}

async function loadgen(c: LoadConfig): Promise<Result> {
  const request = Buffer.from(
    `POST ${c.path} HTTP/1.1\r\nHost: 127.0.0.1:${c.port}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(c.body)}\r\n\r\n${c.body}`,
  );
  const latencies: number[] = [];
  let errors = 0;
  let measuring = false;
  let stopped = false;
  const record = (ms: number, ok: boolean) => {
    if (!measuring) return;
    if (ok) latencies.push(ms);
    else errors++;
  };
  const loops = Array.from({ length: c.concurrency }, () => connectionLoop(c, request, record, () => stopped));
  await new Promise((r) => setTimeout(r, c.warmupMs));
  measuring = true;
  const t0 = performance.now();
  await new Promise((r) => setTimeout(r, c.durationMs));
  measuring = false;
  const seconds = (performance.now() - t0) / 1000;
  stopped = true;
  await Promise.all(loops);
  return summarize(latencies, errors, seconds);
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

async function freePort(): Promise<number> {
  const s = createServer();
  s.listen(0, '127.0.0.1');
  await once(s, 'listening');
  const addr = s.address();
  s.close();
  return typeof addr === 'object' && addr ? addr.port : 0;
}

async function waitReady(port: number, child: ChildProcess, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`server exited with ${child.exitCode} before getting ready`);
    try {
      const res = await fetch(`http://127.0.0.1:${port}/v2/health/ready`);
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`server on ${port} not ready after ${timeoutMs} ms`);
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  child.kill('SIGTERM');
  const t = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await once(child, 'exit');
  clearTimeout(t);
}

async function startFluxora(main: string, batching: boolean, maxBatchSize: number, delayMs: number): Promise<{ child: ChildProcess; port: number }> {
  const port = await freePort();
  const adminPort = await freePort();
  const args = [main, 'serve'];
  args.push('--model-name', NAME, '--model-uri', `file://${MODEL}`, '--host', '127.0.0.1', '--port', String(port), '--admin-port', String(adminPort), '--grpc-port', '0');
  args.push('--max-batch-size', String(maxBatchSize), '--max-batch-delay-ms', batching ? String(delayMs) : '0', '--log-level', 'warn');
  const child = spawn(...pinned(0, process.execPath, args), { cwd: ROOT, stdio: ['ignore', 'ignore', 'inherit'] });
  await waitReady(port, child);
  return { child, port };
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

async function startEcho(): Promise<{ child: ChildProcess; port: number }> {
  const port = await freePort();
  const child = spawn(...pinned(0, process.execPath, ['--import', 'tsx', SELF, 'echo-server', String(port)]), { cwd: ROOT, stdio: ['ignore', 'ignore', 'inherit'] });
  await waitReady(port, child);
  return { child, port };
}

async function startPeer(python: string): Promise<{ child: ChildProcess; port: number }> {
  const port = await freePort();
  const child = spawn(...pinned(0, python, [join(ROOT, 'hack/bench-serve-peer.py'), '--model', MODEL, '--port', String(port), '--name', NAME]), {
    cwd: ROOT,
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  await waitReady(port, child);
  return { child, port };
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

// ---------------------------------------------------------------------------

interface Row {
  system: string;
  concurrency: number;
  /** The median round by throughput. */
  r: Result;
  /** Lowest and highest throughput over the rounds. */
  spread: [number, number];
}

const fmt = (n: number, d = 0) => (Number.isFinite(n) ? n.toFixed(d) : '-');

function printTable(rows: Row[]): void {
  const header = `${'system'.padEnd(34)} ${'conc'.padStart(5)} ${'req/s'.padStart(9)} ${'rounds min-max'.padStart(15)} ${'p50 ms'.padStart(8)} ${'p99 ms'.padStart(8)} ${'errors'.padStart(7)}`;
  console.log(`\n${header}\n${'-'.repeat(header.length)}`);
  for (const { system, concurrency, r, spread } of rows) {
    console.log(
      `${system.padEnd(34)} ${String(concurrency).padStart(5)} ${fmt(r.rps).padStart(9)} ${`${fmt(spread[0])}-${fmt(spread[1])}`.padStart(15)} ${fmt(r.p50, 3).padStart(8)} ${fmt(r.p99, 3).padStart(8)} ${String(r.errors).padStart(7)}`,
    );
  }
}

async function main(): Promise<void> {
  const seconds = Number(process.env.BENCH_SECONDS ?? 3);
  const concurrencies = (process.env.BENCH_CONCURRENCY ?? '1,8,64').split(',').map(Number);
  const maxBatchSize = Number(process.env.BENCH_MAX_BATCH_SIZE ?? 64);
  const delayMs = Number(process.env.BENCH_MAX_BATCH_DELAY_MS ?? 2);
  const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
  if (!Number.isSafeInteger(rounds) || rounds < 1) throw new Error(`BENCH_ROUNDS must be an integer >= 1, got "${process.env.BENCH_ROUNDS}"`);
  const durationMs = seconds * 1000;
  const warmupMs = 1000;
  console.log(`bench:serve  model=${MODEL}  ${seconds}s per point after 1s warm-up  concurrency=${concurrencies.join(',')}  ${rounds} rounds, median reported`);
  console.log(`machine: ${cpus().length} CPUs (${cpus()[0]?.model ?? '?'}), load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}, node ${process.version}`);
  if (PIN) {
    // The in-process limit runs here: on CPU 0 like every server (all threads, onnxruntime's included).
    execFileSync('taskset', ['-a', '-pc', '0', String(process.pid)], { stdio: 'ignore' });
    console.log('pinned: measured systems and the in-process limit on CPU 0, the load generator on CPU 1 (taskset)');
  }
  console.log(`fluxora batching: --max-batch-size ${maxBatchSize} --max-batch-delay-ms ${delayMs}; request: one FP32 row of 3 as V2 JSON`);
  // What the image runs: compiled JavaScript, not tsx (whose transform wraps
  // every closure in a naming helper that costs a few percent per request).
  const main = compileCli(join(ROOT, '.cache', 'bench-serve', 'dist'));
  process.stdout.write('preparing the Python peer venv... ');
  const python = await ensureServeVenv((l) => process.stdout.write(`\n  ${l}\n`));
  console.log('ok');

  // Every system is measured once per round, rounds one after the other, and
  // each point reports its median round: on a small shared machine one
  // point can swing by a third (where the scheduler puts client and server),
  // and a median of interleaved rounds keeps that from deciding a ratio.
  const samples = new Map<string, Result[]>();
  const add = (round: number, system: string, concurrency: number, r: Result) => {
    const key = `${system}\0${concurrency}`;
    samples.set(key, [...(samples.get(key) ?? []), r]);
    console.log(`  [round ${round}] ${system} c=${concurrency}: ${fmt(r.rps)} req/s, p50 ${fmt(r.p50, 3)} ms, p99 ${fmt(r.p99, 3)} ms, errors ${r.errors}`);
  };
  const http = async (round: number, system: string, start: () => Promise<{ child: ChildProcess; port: number }>) => {
    const { child, port } = await start();
    try {
      const path = `/v2/models/${NAME}/infer`;
      for (const c of concurrencies) add(round, system, c, await runLoadgen({ port, path, body: BODY, concurrency: c, warmupMs, durationMs }));
    } finally {
      await stop(child);
    }
  };
  for (let round = 1; round <= rounds; round++) {
    for (const c of concurrencies) add(round, 'onnxruntime-node in-process', c, await inProcess(c, warmupMs, durationMs));
    await http(round, 'fluxora serve (batching)', () => startFluxora(main, true, maxBatchSize, delayMs));
    await http(round, 'fluxora serve (no batching)', () => startFluxora(main, false, maxBatchSize, delayMs));
    await http(round, 'python peer (FastAPI+uvicorn+ort)', () => startPeer(python));
    await http(round, 'node:http fixed reply (HTTP floor)', startEcho);
  }
  const rows: Row[] = [...samples].map(([key, rs]) => {
    const [system = '', c = '0'] = key.split('\0');
    const byRps = [...rs].sort((a, b) => a.rps - b.rps);
    return { system, concurrency: Number(c), r: byRps[Math.floor((byRps.length - 1) / 2)] as Result, spread: [byRps[0]?.rps ?? NaN, byRps.at(-1)?.rps ?? NaN] };
  });

  printTable(rows);
  const at = (system: string, c: number) => rows.find((r) => r.system === system && r.concurrency === c)?.r;
  console.log('\nratios');
  for (const c of concurrencies) {
    const peer = at('python peer (FastAPI+uvicorn+ort)', c);
    const limit = at('onnxruntime-node in-process', c);
    const floor = at('node:http fixed reply (HTTP floor)', c);
    for (const s of ['fluxora serve (batching)', 'fluxora serve (no batching)']) {
      const r = at(s, c);
      if (!r || !peer || !limit) continue;
      console.log(
        `  c=${String(c).padEnd(3)} ${s.padEnd(28)} ${fmt(r.rps / peer.rps, 2)}x peer throughput (p99 ${fmt(r.p99, 2)} vs ${fmt(peer.p99, 2)} ms), ` +
          `${fmt((100 * r.rps) / limit.rps, 1)}% of the in-process limit` +
          (floor ? `, ${fmt((100 * r.rps) / floor.rps, 1)}% of the HTTP floor` : ''),
      );
    }
  }
}

if (process.argv[2] === 'echo-server') {
  echoServer(Number(process.argv[3]));
} else if (process.argv[2] === 'loadgen') {
  const result = await loadgen(JSON.parse(process.argv[3] ?? '{}') as LoadConfig);
  process.stdout.write(JSON.stringify(result));
} else {
  await main();
}
