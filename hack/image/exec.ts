// Runs a build tool to completion; its stderr goes to ours (progress and
// errors stay visible), its stdout is returned.
import { spawnSync } from 'node:child_process';

export function run(cmd: string, args: string[], o: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): string {
  const r = spawnSync(cmd, args, { cwd: o.cwd, env: o.env ?? process.env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 256 * 1024 * 1024 });
  if (r.error) throw new Error(`${cmd}: ${r.error.message}`);
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.status ?? r.signal}${r.stdout ? `:\n${r.stdout}` : ''}`);
  return r.stdout;
}

/** Like run(), but a failure is a value (for steps that have a fallback). */
export function tryRun(cmd: string, args: string[], o: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): { ok: true; stdout: string } | { ok: false; error: string } {
  try {
    return { ok: true, stdout: run(cmd, args, o) };
  } catch (err) {
    return { ok: false, error: err instanceof Error ? err.message : String(err) };
  }
}
