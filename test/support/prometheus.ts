// A real Prometheus for tests: Debian's `prometheus` package (2.42 on
// bookworm, with promtool), started on loopback with its own configuration
// and data directory, and a small client for its HTTP API. .ci/run installs
// the package when it is missing.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { freePort } from './ports.js';

const PROMETHEUS = process.env.FLUXORA_PROMETHEUS_BIN ?? '/usr/bin/prometheus';
export const PROMTOOL = process.env.FLUXORA_PROMTOOL_BIN ?? '/usr/bin/promtool';

/** Throws a message that says how to get the binaries, instead of a bare ENOENT from spawn. */
export function requirePrometheusBinaries(): void {
  for (const bin of [PROMETHEUS, PROMTOOL]) {
    if (!existsSync(bin)) throw new Error(`${bin} not found: install Debian's prometheus package (apt-get install --no-install-recommends prometheus), as .ci/run does`);
  }
}

export interface ScrapeJob {
  job: string;
  targets: {
    address: string;
    /** Target labels, as service discovery would attach them (namespace, pod, ...). */
    labels?: Record<string, string>;
  }[];
  /** Keep the scraped labels on a clash with target labels, as a ServiceMonitor with honorLabels does. */
  honorLabels?: boolean;
}

export interface Sample {
  metric: Record<string, string>;
  values: [number, string][];
}

export interface RuleState {
  name: string;
  type: 'alerting' | 'recording';
  query: string;
  health: string;
  lastError?: string;
  lastEvaluation: string;
}

export class PromQLError extends Error {}

export interface Prometheus {
  url: string;
  /** Evaluates `expr` at every `stepSeconds` from start to end; throws PromQLError when it does not parse or evaluate. */
  queryRange(expr: string, start: Date, end: Date, stepSeconds: number): Promise<Sample[]>;
  /** Series matching a selector with samples between start and end. */
  series(selector: string, start: Date, end: Date): Promise<Record<string, string>[]>;
  rules(): Promise<RuleState[]>;
  stop(): Promise<void>;
}


interface ApiResponse<T> {
  status: 'success' | 'error';
  data: T;
  errorType?: string;
  error?: string;
}

async function api<T>(url: string, path: string, params: Record<string, string>): Promise<T> {
  const res = await fetch(`${url}${path}?${new URLSearchParams(params).toString()}`);
  const body = (await res.json()) as ApiResponse<T>;
  if (body.status !== 'success') throw new PromQLError(`${path} ${JSON.stringify(params)}: ${body.errorType}: ${body.error}`);
  return body.data;
}

const seconds = (d: Date) => String(d.getTime() / 1000);

export async function startPrometheus(o: { jobs: ScrapeJob[]; ruleFiles?: string[]; intervalSeconds?: number }): Promise<Prometheus> {
  requirePrometheusBinaries();
  const dir = await mkdtemp(join(tmpdir(), 'fluxora-prometheus-'));
  const interval = `${o.intervalSeconds ?? 1}s`;
  const config = {
    global: { scrape_interval: interval, scrape_timeout: interval, evaluation_interval: interval },
    rule_files: o.ruleFiles ?? [],
    scrape_configs: o.jobs.map((j) => ({
      job_name: j.job,
      honor_labels: j.honorLabels ?? false,
      static_configs: j.targets.map((t) => ({ targets: [t.address], labels: t.labels ?? {} })),
    })),
  };
  await writeFile(join(dir, 'prometheus.yml'), stringify(config));
  // Prometheus cannot report the port it got for :0, so one is chosen first.
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  let log = '';
  const proc: ChildProcess = spawn(
    PROMETHEUS,
    [
      `--config.file=${join(dir, 'prometheus.yml')}`,
      `--storage.tsdb.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      // Debian's default points at files this temporary instance does not have.
      `--web.console.templates=${dir}`,
      `--web.console.libraries=${dir}`,
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  proc.stderr?.on('data', (d: Buffer) => (log = (log + d.toString()).slice(-20_000)));
  const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
  const stop = async () => {
    if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGTERM');
    await exited;
    await rm(dir, { recursive: true, force: true });
  };

  const deadline = Date.now() + 60_000;
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`prometheus exited with ${proc.exitCode}:\n${log}`);
    const ready = await fetch(`${url}/-/ready`).then((r) => r.ok, () => false);
    if (ready) break;
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`prometheus did not get ready within 60 s:\n${log}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }

  return {
    url,
    queryRange: async (expr, start, end, step) =>
      (await api<{ result: Sample[] }>(url, '/api/v1/query_range', { query: expr, start: seconds(start), end: seconds(end), step: String(step) })).result,
    series: (selector, start, end) => api<Record<string, string>[]>(url, '/api/v1/series', { 'match[]': selector, start: seconds(start), end: seconds(end) }),
    rules: async () =>
      (await api<{ groups: { rules: RuleState[] }[] }>(url, '/api/v1/rules', {})).groups.flatMap((g) => g.rules),
    stop,
  };
}
