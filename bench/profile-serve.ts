// `npm run profile:serve`: where `fluxora serve` spends its CPU under load.
// The compiled CLI runs with V8's sampling profiler (--cpu-prof) on CPU 0, the
// bench's load generator (bench/serve.ts loadgen) on CPU 1, closed loop, the
// same linear model and request as `npm run bench:serve`. It prints the
// throughput, then self time by function and by module counted only inside
// the load window (the profile's first request plus the warm-up, to its last
// request), so start-up and shutdown do not dilute the figures. The profiler
// costs throughput itself: compare rows of one profile, and take req/s from
// bench:serve.
//
//   npm run profile:serve                      REST, 64 clients, 5 s
//   npm run profile:serve -- gRPC 8 --sampling-rate 0   protocol, clients, then
//                                              extra `fluxora serve` flags
//   PROFILE_TOP=60 npm run profile:serve       longer lists
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { fixturePath } from '../test/fixtures/models/generate.js';
import { freePort } from '../test/support/ports.js';
import { compileCli } from './support/operator-build.js';

const ROOT = join(fileURLToPath(import.meta.url), '..', '..');
const TOP = Number(process.env.PROFILE_TOP ?? 30);
const WARMUP_MS = 1000;

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}
interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  samples: number[];
  timeDeltas: number[];
}


const pin = (cpu: number, cmd: string, args: string[]): [string, string[]] =>
  spawnSync('taskset', ['-c', String(cpu), 'true']).status === 0 ? ['taskset', ['-c', String(cpu), cmd, ...args]] : [cmd, args];

async function waitReady(port: number): Promise<void> {
  for (let i = 0; i < 300; i++) {
    const ok = await fetch(`http://127.0.0.1:${port}/v2/health/ready`).then((r) => r.ok, () => false);
    if (ok) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('fluxora serve did not become ready in 30 s');
}

/** Self time per key (a share of the window), for samples inside [from, to] (µs since the profile's start). */
function selfTimes(p: CpuProfile, keyOf: (n: ProfileNode, parents: ProfileNode[]) => string[]): { rows: [string, number][]; seconds: number } {
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const stack = (id: number) => {
    const out: ProfileNode[] = [];
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) out.push(byId.get(cur) as ProfileNode);
    return out;
  };
  // The load window: from the first sample handling a request (plus the load generator's warm-up) to the last.
  const handling = (id: number) => stack(id).some((n) => /parserOnIncoming|onStreamRead|handleDataFrame/.test(n.callFrame.functionName));
  const times: number[] = [];
  let t = p.startTime;
  for (let i = 0; i < p.samples.length; i++) times.push((t += p.timeDeltas[i] ?? 0));
  let from = Infinity;
  let to = -Infinity;
  p.samples.forEach((id, i) => {
    if (handling(id)) {
      from = Math.min(from, times[i] as number);
      to = Math.max(to, times[i] as number);
    }
  });
  from += WARMUP_MS * 1000;
  const totals = new Map<string, number>();
  let total = 0;
  p.samples.forEach((id, i) => {
    const at = times[i] as number;
    if (at < from || at > to) return;
    const dt = p.timeDeltas[i + 1] ?? 0;
    total += dt;
    const nodes = stack(id);
    for (const key of new Set(keyOf(nodes[0] as ProfileNode, nodes))) totals.set(key, (totals.get(key) ?? 0) + dt);
  });
  return { rows: [...totals].sort((a, b) => b[1] - a[1]).map(([k, v]) => [k, v / total]), seconds: (to - from) / 1e6 };
}

const shortUrl = (url: string) => url.replace(/^.*\/dist\//, '').replace(/^.*\/node_modules\//, '').replace(/^file:\/\//, '');

async function main(): Promise<void> {
  const [protocol = 'REST', concurrency = '64', ...serveFlags] = process.argv.slice(2);
  if (protocol !== 'REST' && protocol !== 'gRPC') throw new Error(`protocol must be REST or gRPC, got ${protocol}`);
  const dir = mkdtempSync(join(tmpdir(), 'fluxora-profile-'));
  const cli = compileCli(join(ROOT, '.cache', 'profile-serve', 'dist'));
  const [port, adminPort, grpcPort] = [await freePort(), await freePort(), await freePort()];
  const args = ['--cpu-prof', `--cpu-prof-dir=${dir}`, cli, 'serve', '--model-name', 'bench', '--model-uri', `file://${fixturePath('linear.onnx')}`];
  args.push('--host', '127.0.0.1', '--port', String(port), '--admin-port', String(adminPort), '--grpc-port', String(grpcPort), '--log-level', 'warn', ...serveFlags);
  const server = spawn(...pin(0, process.execPath, args), { stdio: ['ignore', 'inherit', 'inherit'] });
  try {
    await waitReady(port);
    const load = { protocol, port: protocol === 'REST' ? port : grpcPort, concurrency: Number(concurrency), connections: 1, warmupMs: WARMUP_MS, durationMs: 5000 };
    const gen = spawnSync(...pin(1, process.execPath, ['--import', 'tsx', join(ROOT, 'bench', 'serve.ts'), 'loadgen', JSON.stringify(load)]), { cwd: ROOT, encoding: 'utf8' });
    if (gen.status !== 0) throw new Error(`the load generator failed: ${gen.stderr}`);
    const r = JSON.parse(gen.stdout) as { rps: number; p50: number; p99: number; errors: number };
    console.log(`${protocol} c=${concurrency} ${serveFlags.join(' ')}: ${Math.round(r.rps)} req/s under the profiler, p50 ${r.p50.toFixed(2)} ms, p99 ${r.p99.toFixed(2)} ms, ${r.errors} errors`);
  } finally {
    server.kill('SIGTERM');
    await once(server, 'exit');
  }
  const file = readdirSync(dir).find((f) => f.endsWith('.cpuprofile'));
  if (!file) throw new Error(`no profile written in ${dir}`);
  const profile = JSON.parse(readFileSync(join(dir, file), 'utf8')) as CpuProfile;
  const self = selfTimes(profile, (n) => [`${n.callFrame.functionName || '(anonymous)'} ${shortUrl(n.callFrame.url)}:${n.callFrame.lineNumber + 1}`]);
  console.log(`\nself time in the ${self.seconds.toFixed(1)} s load window (${join(dir, file)})`);
  for (const [k, share] of self.rows.slice(0, TOP)) console.log(`${(100 * share).toFixed(1).padStart(6)} %  ${k}`);
  const modules = selfTimes(profile, (_, stack) => stack.map((n) => shortUrl(n.callFrame.url)).filter((u) => u.startsWith('serving/') || u.startsWith('cli/') || (u !== '' && !u.startsWith('node:'))));
  console.log('\ninclusive time by module (ours and packages)');
  for (const [k, share] of modules.rows.slice(0, TOP)) console.log(`${(100 * share).toFixed(1).padStart(6)} %  ${k}`);
}

await main();
