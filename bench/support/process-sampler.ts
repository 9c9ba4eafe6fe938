// Samples a process's resident memory and CPU time from /proc (Linux), so
// the benchmark measures the operator from outside, as `top` would.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/** Kernel clock ticks per second for /proc/<pid>/stat times (USER_HZ is 100 on every Linux we run). */
const CLOCK_TICKS = 100;

export interface ProcessSample {
  atMs: number;
  rssBytes: number;
  cpuSeconds: number;
}

export function readProcess(pid: number): ProcessSample | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const rssKb = Number(/^VmRSS:\s+(\d+) kB/m.exec(status)?.[1] ?? NaN);
    // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(fields[11]) + Number(fields[12]);
    if (!Number.isFinite(rssKb) || !Number.isFinite(ticks)) return undefined;
    return { atMs: performance.now(), rssBytes: rssKb * 1024, cpuSeconds: ticks / CLOCK_TICKS };
  } catch {
    return undefined; // the process has exited
  }
}

export class ProcessSampler {
  readonly samples: ProcessSample[] = [];
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly pid: number,
    private readonly intervalMs = 500,
  ) {}

  start(): void {
    this.sample();
    this.timer = setInterval(() => this.sample(), this.intervalMs);
  }

  stop(): void {
    clearInterval(this.timer);
    this.sample();
  }

  sample(): ProcessSample | undefined {
    const s = readProcess(this.pid);
    if (s) this.samples.push(s);
    return s;
  }

  peakRssBytes(fromMs = 0, toMs = Infinity): number {
    return Math.max(0, ...this.window(fromMs, toMs).map((s) => s.rssBytes));
  }

  /** CPU seconds used between two times (between the first and last sample inside them). */
  cpuSeconds(fromMs: number, toMs: number): number {
    const w = this.window(fromMs, toMs);
    const first = w[0];
    const last = w.at(-1);
    return first && last ? last.cpuSeconds - first.cpuSeconds : 0;
  }

  /** Average CPU cores used between two times (CPU seconds / wall seconds). */
  cpuCores(fromMs: number, toMs: number): number {
    const w = this.window(fromMs, toMs);
    const first = w[0];
    const last = w.at(-1);
    if (!first || !last || last.atMs === first.atMs) return 0;
    return this.cpuSeconds(fromMs, toMs) / ((last.atMs - first.atMs) / 1000);
  }

  private window(fromMs: number, toMs: number): ProcessSample[] {
    return this.samples.filter((s) => s.atMs >= fromMs && s.atMs <= toMs);
  }
}

/**
 * CPU seconds used so far by each process of a hack/control-plane.sh instance
 * (etcd, kube-apiserver, kube-controller-manager, kube-scheduler, kwok), read
 * from the pid files in `<dir>/pids`. The difference of two readings is what
 * the cluster itself spent on a phase of the benchmark.
 */
export function controlPlaneCpuSeconds(dir: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const name of readdirSync(join(dir, 'pids')).sort()) {
    const pid = Number(readFileSync(join(dir, 'pids', name), 'utf8').trim());
    const s = Number.isSafeInteger(pid) ? readProcess(pid) : undefined;
    if (s) out[name] = s.cpuSeconds;
  }
  return out;
}

/** after - before, per process. */
export function cpuSecondsBetween(before: Record<string, number>, after: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.keys(after).map((k) => [k, (after[k] ?? 0) - (before[k] ?? 0)]));
}

/**
 * CPU seconds used so far by every live process of a process group (a server
 * the bench started detached, its workers and threads included: a thread's
 * time counts in its process's /proc/<pid>/stat).
 */
export function processGroupCpuSeconds(pgid: number): number {
  let ticks = 0;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
    } catch {
      continue; // gone meanwhile
    }
    // After the command name: state, ppid, pgrp, ... utime (14th field overall), stime (15th).
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (Number(fields[2]) === pgid) ticks += Number(fields[11]) + Number(fields[12]);
  }
  return ticks / CLOCK_TICKS;
}
