// A `fluxora <subcommand>` child process whose raw stdout and stderr are kept
// byte for byte (not parsed), for tests that inspect everything a process
// printed, e.g. that no secret ever reaches a log line.
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';

const root = join(import.meta.dirname, '..', '..');

export interface CapturedProcess {
  child: ChildProcess;
  /** Everything printed so far on stdout and stderr. */
  stdout(): string;
  stderr(): string;
  /** stdout's JSON lines (pino), parsed; other lines are skipped. */
  jsonLines(): Record<string, unknown>[];
  exited: Promise<number | null>;
  /** Resolves with the first JSON log line matching `pred`; rejects if the process exits first or after `timeoutMs`. */
  waitForLine(pred: (line: Record<string, unknown>) => boolean, timeoutMs?: number): Promise<Record<string, unknown>>;
  stop(): Promise<number | null>;
}

export function startFluxora(args: string[], env: Record<string, string> = {}): CapturedProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', join(root, 'src/cli/main.ts'), ...args], {
    cwd: root,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout.setEncoding('utf8').on('data', (s: string) => (out += s));
  child.stderr.setEncoding('utf8').on('data', (s: string) => (err += s));
  // 'close', not 'exit': it comes after the last bytes of stdout and stderr.
  const exited = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)));
  const jsonLines = () =>
    out.split('\n').flatMap((l) => {
      try {
        const v = JSON.parse(l) as Record<string, unknown> | null;
        return v && typeof v === 'object' ? [v] : [];
      } catch {
        return [];
      }
    });
  let done = false;
  void exited.then(() => (done = true));
  return {
    child,
    stdout: () => out,
    stderr: () => err,
    jsonLines,
    exited,
    async waitForLine(pred, timeoutMs = 60_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const hit = jsonLines().find(pred);
        if (hit) return hit;
        if (done) throw new Error(`fluxora ${args[0]} exited (${child.exitCode}) before the expected log line:\n${out}\n${err}`);
        if (Date.now() > deadline) throw new Error(`fluxora ${args[0]}: no expected log line within ${timeoutMs} ms:\n${out}\n${err}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      return exited;
    },
  };
}

/** Runs a short-lived subcommand to completion. */
export async function runFluxora(args: string[], env: Record<string, string> = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const p = startFluxora(args, env);
  const code = await p.exited;
  return { code, stdout: p.stdout(), stderr: p.stderr() };
}
