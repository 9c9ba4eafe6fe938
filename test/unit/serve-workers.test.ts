// `fluxora serve` as a pod of worker processes (--workers 2, or the count
// read from the container's cgroup): connections are spread over the
// workers, and what the pod reports covers all of them exactly once — one
// set of metric series, the union of the captured samples — while readiness,
// the preStop drain, SIGTERM and a failure to load cover every worker.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, Agent, type Server } from 'node:http';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterEach, describe, expect, it } from 'vitest';
import { GrpcTestClient, status } from '../fixtures/models/grpc-client.js';
import { fixturePath } from '../fixtures/models/generate.js';
import { FEATURES, fixtureUri, http, inferBody, metricValue, REPO_ROOT, spawnServe, type ServeProcess } from '../fixtures/models/serve-harness.js';

const TOKEN = 'pod-token';
const ARGS = ['--model-name', 'churn', '--model-uri', fixtureUri('linear.onnx'), '--features', JSON.stringify(FEATURES), '--host', '127.0.0.1', '--port', '0', '--admin-port', '0', '--grpc-port', '0'];

let proc: ServeProcess | undefined;
let cli: Cli | undefined;
const cleanups: (() => void | Promise<void>)[] = [];
afterEach(async () => {
  for (const p of [proc?.child, cli?.child]) if (p && p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
  proc = undefined;
  cli = undefined;
  for (const c of cleanups.splice(0)) await c();
});

/** A request on a connection of its own, so the pod hands each to the next worker in turn. */
const fresh = () => new Agent({ keepAlive: false });

const samples = async (adminPort: number, query = '') => {
  const res = await http(adminPort, { path: `/v2/models/churn/samples${query}`, headers: { authorization: `Bearer ${TOKEN}` } });
  expect(res.status).toBe(200);
  expect(res.headers['content-type']).toBe('application/x-ndjson');
  return res.text
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Record<string, number | string>);
};

/** Every sample of the Prometheus text whose line starts with `name{` (or `name `) and contains each fragment, summed. */
function sumOf(text: string, name: string, ...fragments: string[]): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!(line.startsWith(`${name}{`) || line.startsWith(`${name} `))) continue;
    if (fragments.every((f) => line.includes(f))) sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return sum;
}

/** What each worker answered on the public ports before it stopped, from its "drained; stopped" line. */
const answeredByWorker = (logs: Record<string, unknown>[]) =>
  new Map(logs.filter((l) => l.worker !== undefined && /stopped$/.test(l.msg as string)).map((l) => [l.worker as number, l.answered as number]));

describe('a pod of two workers', () => {
  it('spreads connections over both workers and counts every request once: metrics, samples, batch sizes', { timeout: 90_000 }, async () => {
    proc = await spawnServe([...ARGS, '--workers', '2', '--max-batch-delay-ms', '20'], { FLUXORA_SAMPLES_TOKEN: TOKEN });
    expect(proc.logs.find((l) => l.msg === 'listening')?.workers).toBe(2);
    const { port, adminPort, grpcPort } = proc;
    let rows = 0;
    let rest = 0;
    // Request i carries 1 to 3 rows, tenure = i and spend = the row: each row is identifiable in the samples.
    const body = (i: number) => {
      const n = (i % 3) + 1;
      rows += n;
      return inferBody(Array.from({ length: n }, (_, r) => [i, r, 0]));
    };
    // One at a time, each on its own connection...
    for (let i = 0; i < 30; i++) {
      expect((await http(port, { path: '/v2/models/churn/infer', body: body(i), agent: fresh() })).status).toBe(200);
      rest++;
    }
    // ...then 40 at once over 8 kept-alive connections, which the workers batch.
    const burst = new Agent({ keepAlive: true, maxSockets: 8 });
    const answers = await Promise.all(Array.from({ length: 40 }, (_, k) => http(port, { path: '/v2/models/churn/infer', body: body(100 + k), agent: burst })));
    expect(answers.map((r) => r.status)).toEqual(Array(40).fill(200));
    rest += 40;
    burst.destroy();
    // gRPC: two clients, two connections, one per worker.
    const clients = [new GrpcTestClient(grpcPort), new GrpcTestClient(grpcPort)];
    let grpc = 0;
    for (let k = 0; k < 10; k++) {
      const r = await (clients[k % 2] as GrpcTestClient).call('ModelInfer', {
        model_name: 'churn',
        inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 3], contents: { fp32_contents: [200 + k, 0, 0] } }],
      });
      expect(r.code).toBe(status.OK);
      rows++;
      grpc++;
    }
    for (const c of clients) c.close();

    // One scrape answers for the whole pod: one series per label set, each request counted once.
    const text = (await http(port, { path: '/metrics' })).text;
    const series = text.split('\n').filter((l) => l && !l.startsWith('#'));
    expect(new Set(series.map((l) => l.slice(0, l.lastIndexOf(' ')))).size).toBe(series.length);
    expect(sumOf(text, 'fluxora_inference_requests_total', 'endpoint="infer"')).toBe(rest + grpc);
    expect(metricValue(text, 'fluxora_inference_requests_total', 'protocol="rest"')).toBe(rest);
    expect(metricValue(text, 'fluxora_inference_requests_total', 'protocol="grpc"')).toBe(grpc);
    expect(sumOf(text, 'fluxora_inference_request_duration_seconds_count', 'endpoint="infer"')).toBe(rest + grpc);
    expect(sumOf(text, 'fluxora_inference_request_duration_seconds_bucket', 'le="+Inf"', 'endpoint="infer"')).toBe(rest + grpc);
    // Every row went through exactly one model run.
    expect(metricValue(text, 'fluxora_inference_batch_size_sum')).toBe(rows);
    expect(metricValue(text, 'fluxora_inference_batch_size_bucket', 'le="+Inf"')).toBe(metricValue(text, 'fluxora_inference_batch_size_count'));
    expect(metricValue(text, 'fluxora_inference_queue_wait_seconds_count')).toBe(rest + grpc);
    expect(metricValue(text, 'fluxora_inference_samples_buffered')).toBe(rows);
    expect(series.filter((l) => l.startsWith('fluxora_model_load_seconds'))).toHaveLength(1);
    // The pod's processes: the primary and two workers.
    expect(metricValue(text, 'process_resident_memory_bytes')).toBeGreaterThan(0);

    // The samples: every row once, oldest first.
    const all = await samples(adminPort);
    expect(all).toHaveLength(rows);
    const keys = all.map((r) => `${r.tenure}/${r.spend}`);
    expect(new Set(keys).size).toBe(rows);
    const ts = all.map((r) => r._ts as string);
    expect([...ts].sort()).toEqual(ts);
    expect(await samples(adminPort, '?limit=7')).toEqual(all.slice(-7));
    expect(await samples(adminPort, '?limit=0')).toEqual([]);
    // Same auth as one process.
    expect((await http(adminPort, { path: '/v2/models/churn/samples' })).status).toBe(401);

    proc.child.kill('SIGTERM');
    expect(await proc.exited).toBe(0);
    // Both workers served, and together exactly what was sent to the public ports (the scrape included).
    const answered = answeredByWorker(proc.logs);
    expect([...answered.keys()].sort()).toEqual([1, 2]);
    for (const n of answered.values()) expect(n).toBeGreaterThan(5);
    expect([...answered.values()].reduce((a, b) => a + b)).toBe(rest + grpc + 1);
  });

  it('keeps the newest rows of the whole pod up to the configured buffer size', { timeout: 60_000 }, async () => {
    proc = await spawnServe([...ARGS, '--workers', '2', '--sample-buffer-size', '20'], { FLUXORA_SAMPLES_TOKEN: TOKEN });
    for (let i = 0; i < 30; i++) {
      expect((await http(proc.port, { path: '/v2/models/churn/infer', body: inferBody([[i, 0, 0]]), agent: fresh() })).status).toBe(200);
      await new Promise((r) => setTimeout(r, 3)); // a distinct capture time for each request
    }
    // Each worker holds its 15; the pod answers its newest 20: requests 10 to 29.
    const all = await samples(proc.adminPort);
    expect(all.map((r) => r.tenure)).toEqual(Array.from({ length: 20 }, (_, k) => 10 + k));
    expect((await samples(proc.adminPort, '?limit=50')).length).toBe(20);
    expect((await samples(proc.adminPort, '?limit=3')).map((r) => r.tenure)).toEqual([27, 28, 29]);
    expect(metricValue((await http(proc.port, { path: '/metrics' })).text, 'fluxora_inference_samples_buffered')).toBe(20);
  });

  it('the preStop drain puts every worker into Connection: close', { timeout: 60_000 }, async () => {
    proc = await spawnServe([...ARGS, '--workers', '2']);
    expect((await http(proc.adminPort, { path: '/drain?seconds=0' })).status).toBe(200);
    // Each request on a new keep-alive connection: the workers take them in turn.
    for (let i = 0; i < 8; i++) {
      const agent = new Agent({ keepAlive: true });
      const res = await http(proc.port, { path: '/v2/models/churn/infer', body: inferBody([[1, 2, 3]]), agent });
      agent.destroy();
      expect(res.status).toBe(200);
      expect(res.headers.connection).toBe('close');
    }
    proc.child.kill('SIGTERM');
    expect(await proc.exited).toBe(0);
    expect([...answeredByWorker(proc.logs).values()]).toEqual([4, 4]);
  });
});

/** The CLI as a child process, for runs that never get ready or end on their own. */
interface Cli {
  child: ChildProcess;
  logs: Record<string, unknown>[];
  exited: Promise<number | null>;
  waitFor(what: (l: Record<string, unknown>) => boolean, timeoutMs?: number): Promise<Record<string, unknown>>;
}

function startCli(args: string[], env: Record<string, string> = {}): Cli {
  const child = spawn(process.execPath, ['--import', 'tsx', join(REPO_ROOT, 'src/cli/main.ts'), 'serve', ...args], {
    cwd: REPO_ROOT,
    env: { ...process.env, FLUXORA_LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const logs: Record<string, unknown>[] = [];
  const waiters: { what: (l: Record<string, unknown>) => boolean; resolve: (l: Record<string, unknown>) => void }[] = [];
  createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (line) => {
    let rec: Record<string, unknown>;
    try {
      rec = JSON.parse(line) as Record<string, unknown>;
    } catch {
      return;
    }
    logs.push(rec);
    for (const w of [...waiters]) {
      if (!w.what(rec)) continue;
      waiters.splice(waiters.indexOf(w), 1);
      w.resolve(rec);
    }
  });
  const exited = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)));
  return {
    child,
    logs,
    exited,
    waitFor: (what, timeoutMs = 30_000) => {
      const seen = logs.find(what);
      if (seen) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no such log line within ${timeoutMs} ms; logs: ${JSON.stringify(logs)}`)), timeoutMs);
        waiters.push({
          what,
          resolve: (l) => {
            clearTimeout(timer);
            resolve(l);
          },
        });
      });
    },
  };
}

/** An artifact store whose n-th download of the model answers as `answer(n)` says. */
interface ArtifactStore {
  uri: string;
  /** Resolves once a download is being held, so a test knows a worker is really mid-download. */
  held: () => Promise<void>;
  /** Answers the held downloads, and every later one that would have been held. */
  release: () => void;
}

async function artifactStore(answer: (n: number) => 'model' | 'missing' | 'hold'): Promise<ArtifactStore> {
  const model = readFileSync(fixturePath('linear.onnx'));
  const held: (() => void)[] = [];
  let released = false;
  let onHeld: (() => void) | undefined;
  const holding = new Promise<void>((resolve) => (onHeld = resolve));
  let n = 0;
  const server: Server = createServer((_req, res) => {
    const what = answer(n++);
    const send = () => res.writeHead(200, { 'content-length': model.length }).end(model);
    if (what === 'model' || (what === 'hold' && released)) send();
    else if (what === 'hold') {
      held.push(send);
      onHeld?.();
    } else res.writeHead(404).end('no such object');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  cleanups.push(() => {
    server.closeAllConnections();
    server.close();
  });
  return {
    uri: `http://127.0.0.1:${(server.address() as { port: number }).port}/models/churn/model.onnx`,
    held: () => holding,
    release: () => {
      released = true;
      held.splice(0).forEach((f) => f());
    },
  };
}

const withUri = (uri: string) => ARGS.map((a) => (a === fixtureUri('linear.onnx') ? uri : a));

describe('a pod of two workers, loading', () => {
  it('is ready only once every worker has loaded its model', { timeout: 60_000 }, async () => {
    const store = await artifactStore((n) => (n === 0 ? 'model' : 'hold'));
    cli = startCli([...withUri(store.uri), '--workers', '2']);
    const port = (await cli.waitFor((l) => l.msg === 'listening')).port as number;
    await cli.waitFor((l) => l.msg === 'model loaded; waiting for the other workers');
    // The second worker's download may not have reached the store yet; wait until it is held.
    await store.held();
    // Several connections, so both workers answer: the one loaded and the one still downloading.
    for (let i = 0; i < 4; i++) {
      const res = await http(port, { path: '/v2/health/ready', agent: fresh() });
      expect(res.status).toBe(503);
      expect(res.text).toMatch(/waiting for the other workers|loading the model/);
    }
    expect(cli.logs.map((l) => l.msg)).not.toContain('model loaded; ready');
    store.release();
    await cli.waitFor((l) => l.msg === 'model loaded; ready');
    for (let i = 0; i < 4; i++) expect((await http(port, { path: '/v2/health/ready', agent: fresh() })).status).toBe(200);
    cli.child.kill('SIGTERM');
    expect(await cli.exited).toBe(0);
  });

  it('exits 1 with one termination line when one worker cannot load its model', { timeout: 60_000 }, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fluxora-termination-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const terminationLog = join(dir, 'termination-log');
    writeFileSync(terminationLog, '');
    // The first download succeeds, the second finds the object gone.
    const store = await artifactStore((n) => (n === 0 ? 'model' : 'missing'));
    cli = startCli([...withUri(store.uri), '--workers', '2'], { FLUXORA_TERMINATION_LOG: terminationLog });
    expect(await cli.exited).toBe(1);
    const msgs = cli.logs.map((l) => l.msg);
    expect(msgs.filter((m) => m === 'cannot load the model')).toHaveLength(1);
    expect(msgs).not.toContain('model loaded; ready');
    expect(cli.logs.find((l) => l.msg === 'cannot load the model')).toMatchObject({ reason: 'NotFound' });
    expect(readFileSync(terminationLog, 'utf8')).toMatch(/^NotFound: http:\/\/127\.0\.0\.1:\d+\/models\/churn\/model\.onnx does not exist/);
  });

  it('stops every worker and exits 1 when a worker dies after the pod is up', { timeout: 60_000 }, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fluxora-termination-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const terminationLog = join(dir, 'termination-log');
    writeFileSync(terminationLog, '');
    cli = startCli([...ARGS, '--workers', '2'], { FLUXORA_TERMINATION_LOG: terminationLog });
    await cli.waitFor((l) => l.msg === 'model loaded; ready');
    const victim = cli.logs.find((l) => l.msg === 'model loaded; waiting for the other workers') as { pid: number; worker: number };
    process.kill(victim.pid, 'SIGKILL');
    expect(await cli.exited).toBe(1);
    expect(cli.logs.map((l) => l.msg)).toContain('a worker stopped; stopping every worker');
    expect(readFileSync(terminationLog, 'utf8')).toBe(`WorkerFailed: worker ${victim.worker} exited with signal SIGKILL`);
  });
});

describe('the worker count', () => {
  /** A fake /sys/fs/cgroup (cgroup v1) with this CFS quota per 100 ms period. */
  function cgroupV1(quotaUs: number): string {
    const root = mkdtempSync(join(tmpdir(), 'fluxora-cgroup-'));
    cleanups.push(() => rmSync(root, { recursive: true, force: true }));
    mkdirSync(join(root, 'cpu'));
    writeFileSync(join(root, 'cpu', 'cpu.cfs_quota_us'), `${quotaUs}\n`);
    writeFileSync(join(root, 'cpu', 'cpu.cfs_period_us'), '100000\n');
    return root;
  }

  it.each([
    [250_000, Math.min(2, availableParallelism())],
    [50_000, 1],
  ])('follows the CPU quota of the cgroup when --workers is 0 (quota %i us per 100 ms)', { timeout: 60_000 }, async (quota, expected) => {
    proc = await spawnServe(ARGS, { FLUXORA_WORKERS: '0', FLUXORA_CGROUP_ROOT: cgroupV1(quota) });
    expect(proc.logs.find((l) => l.msg === 'listening')).toMatchObject({ workers: expected, cpuLimit: quota / 100_000 });
    // A worker's lines carry its id; one process has none. The workers write to the same stdout as the primary, each
    // on its own schedule, so a worker's line can come after the primary's "ready": wait for them a moment.
    const loaded = () => proc!.logs.filter((l) => /^model loaded/.test(l.msg as string) && l.worker !== undefined);
    const want = expected === 1 ? 0 : expected;
    for (const until = Date.now() + 5_000; loaded().length < want && Date.now() < until; ) await new Promise((r) => setTimeout(r, 50));
    expect(loaded()).toHaveLength(want);
  });
});
