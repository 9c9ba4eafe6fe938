// Faults in the control plane itself, on the suite's own instance (never the
// shared default one; faults-global-setup.ts enforces that): kube-apiserver
// killed and restarted, etcd killed and restarted, etcd history compacted.
import { execFile, spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { inject } from 'vitest';
import { root } from './cluster.js';

const run = promisify(execFile);

export function controlPlaneDir(): string {
  return dirname(inject('kubeconfig'));
}

/** hack/control-plane.sh with this process's environment (FLUXORA_CP_DIR/PORT select the instance). */
export async function controlPlane(cmd: 'restart-apiserver' | 'compact-etcd' | 'status'): Promise<string> {
  const { stdout } = await run('bash', [join(root, 'hack/control-plane.sh'), cmd], { env: process.env, maxBuffer: 1 << 20 });
  return stdout.trim();
}

/** SIGKILLs kube-apiserver and starts it again; resolves when it is ready. */
export async function restartApiserver(): Promise<void> {
  await controlPlane('restart-apiserver');
}

/** Compacts etcd up to its current revision; older resourceVersions are gone (410 Gone). */
export async function compactEtcd(): Promise<number> {
  return Number(await controlPlane('compact-etcd'));
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    const state = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.[0];
    return state !== 'Z';
  } catch {
    return false;
  }
};

async function until(what: string, ok: () => Promise<boolean> | boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await ok())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * SIGKILLs etcd (as a crashed member) and returns a function that starts it
 * again with exactly the command line it had, from /proc, so this stays in
 * step with hack/control-plane.sh without repeating its flags.
 */
export async function killEtcd(): Promise<() => Promise<void>> {
  const dir = controlPlaneDir();
  const pidFile = join(dir, 'pids', 'etcd');
  const pid = Number(readFileSync(pidFile, 'utf8').trim());
  const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
  const clientUrl = argv.find((a) => a.startsWith('--listen-client-urls='))?.split('=')[1];
  if (!argv[0] || !clientUrl) throw new Error(`etcd (pid ${pid}) has no --listen-client-urls in its command line: ${argv.join(' ')}`);
  // The script starts etcd under setsid, so its pid is its process group.
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    process.kill(pid, 'SIGKILL');
  }
  await until('etcd to die', () => !alive(pid), 10_000);
  return async () => {
    const log = openSync(join(dir, 'logs', 'etcd.log'), 'a');
    // detached: its own session and process group, like the script's setsid,
    // so `hack/control-plane.sh down` stops it the same way.
    const child = spawn(argv[0]!, argv.slice(1), { detached: true, stdio: ['ignore', log, log] });
    closeSync(log);
    child.unref();
    writeFileSync(pidFile, `${child.pid}\n`);
    await until('etcd healthy', async () => {
      try {
        return (await fetch(`${clientUrl}/health`, { signal: AbortSignal.timeout(1000) })).ok;
      } catch {
        return false;
      }
    }, 30_000);
    await until('kube-apiserver ready again', () => controlPlane('status').then(() => true, () => false), 60_000);
  };
}
