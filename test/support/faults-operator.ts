// The operator as a real child process that may be killed at any moment,
// even before it has started (cluster.ts' startOperator waits for the start,
// which a fault schedule must not).
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { inject } from 'vitest';
import { root, type LogLine } from './cluster.js';

export interface OperatorRun {
  proc: ChildProcess;
  logs: LogLine[];
  spawnedAt: number;
  /** Resolves true on "operator started", false if the process exited first. */
  started: Promise<boolean>;
  /** Resolves when the process has exited, with its code or signal. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stderr(): string;
  identity(): string | undefined;
  /** Leading: its controllers run (always, without --leader-elect). */
  leading(): boolean;
  /** SIGKILL: no drain, no lease release, exactly like an OOM kill or a node loss. */
  kill(): Promise<void>;
}

export function launchOperator(args: string[], env: Record<string, string> = {}): OperatorRun {
  const spawnedAt = Date.now();
  const proc = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      join(root, 'src/cli/main.ts'),
      'operator',
      `--kubeconfig=${inject('operatorKubeconfig')}`,
      '--metrics-bind-address=127.0.0.1:0',
      '--health-probe-bind-address=127.0.0.1:0',
      '--serving-image=fluxora:test',
      ...args,
    ],
    { cwd: root, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const logs: LogLine[] = [];
  let stderr = '';
  proc.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    proc.once('exit', (code, signal) => resolve({ code, signal })),
  );
  const started = new Promise<boolean>((resolve) => {
    createInterface({ input: proc.stdout }).on('line', (line) => {
      try {
        const l = JSON.parse(line) as LogLine;
        logs.push(l);
        if (l.msg === 'operator started') resolve(true);
      } catch {
        logs.push({ level: 30, msg: line });
      }
    });
    void exited.then(() => resolve(false));
  });
  return {
    proc,
    logs,
    spawnedAt,
    started,
    exited,
    stderr: () => stderr,
    identity: () => logs.find((l) => l.msg === 'operator started')?.identity as string | undefined,
    leading: () => logs.some((l) => l.msg === 'controllers started'),
    kill: async () => {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
      await exited;
    },
  };
}

/** Metrics text from a running operator's /metrics. */
export async function scrapeOperator(op: OperatorRun): Promise<string> {
  const port = op.logs.find((l) => l.msg === 'operator started')?.metricsPort as number | undefined;
  if (!port) throw new Error('the operator has not started: no metrics port yet');
  return (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
}

/** Sum of a counter over all its label sets in Prometheus text format. */
export function counterTotal(metrics: string, name: string, labelFilter?: RegExp): number {
  let sum = 0;
  for (const line of metrics.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    if (labelFilter && !labelFilter.test(line)) continue;
    sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return sum;
}
