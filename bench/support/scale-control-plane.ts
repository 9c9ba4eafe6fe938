// The scale benchmark's own control plane: hack/control-plane.sh with a
// separate state directory and port, so a thousand Models and their pods
// never land on the shared default instance other engineers' tests use.
import { execFileSync } from 'node:child_process';
import { createServer } from 'node:net';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';

const root = join(import.meta.dirname, '..', '..');
const DEFAULT_PORT = 16443;

export interface ScaleControlPlane {
  dir: string;
  port: number;
  kubeconfig: string;
  operatorKubeconfig: string;
  auditLog: string;
  down(): void;
}

const cacheRoot = () => resolve(process.env.FLUXORA_CACHE ?? join(homedir(), '.cache', 'fluxora'));

/** The loopback ports hack/control-plane.sh derives from the API server's port. */
export const controlPlanePorts = (apiPort: number) => [apiPort - 4000, apiPort - 3999, apiPort, apiPort + 1, apiPort + 2, apiPort + 3];

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once('error', () => resolve(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
  });
}

/**
 * Starts a fresh instance (etcd wiped) in `dir` on `port` with `nodes` kwok Nodes. Refuses the
 * shared default instance, and ports already taken (e.g. by another engineer's separate instance).
 */
export async function startScaleControlPlane(o: { dir?: string; port: number; nodes: number }): Promise<ScaleControlPlane> {
  const dir = resolve(o.dir ?? join(cacheRoot(), 'cp-scale'));
  if (o.port === DEFAULT_PORT || dir === join(cacheRoot(), 'cp')) {
    throw new Error(`refusing to run the scale benchmark on the shared default control plane (${dir}, port ${o.port})`);
  }
  const env = { ...process.env, FLUXORA_CP_DIR: dir, FLUXORA_CP_PORT: String(o.port), FLUXORA_NODES: String(o.nodes), FLUXORA_NODE_KIND: 'kwok' };
  const script = join(root, 'hack/control-plane.sh');
  const down = () => execFileSync('bash', [script, 'down'], { env, stdio: ['ignore', 'ignore', 'inherit'] });
  down(); // a previous run of ours that was interrupted
  const taken = [];
  for (const p of controlPlanePorts(o.port)) if (!(await portFree(p))) taken.push(p);
  if (taken.length) throw new Error(`ports ${taken.join(', ')} are in use: choose another --port (the instance uses ${controlPlanePorts(o.port).join(', ')})`);
  let out: string;
  try {
    // --fresh: every run starts from an empty etcd, so runs are comparable.
    out = execFileSync('bash', [script, 'up', '--fresh'], { env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  } catch (e) {
    down(); // whatever did start
    throw e;
  }
  const kubeconfig = out.trim().split('\n').at(-1) ?? '';
  if (!kubeconfig.endsWith('kubeconfig')) throw new Error(`hack/control-plane.sh up printed no kubeconfig path: ${out}`);
  let stopped = false;
  return {
    dir,
    port: o.port,
    kubeconfig,
    operatorKubeconfig: join(dir, 'operator.kubeconfig'),
    auditLog: join(dir, 'logs', 'audit.log'),
    down() {
      if (stopped) return;
      stopped = true;
      down();
    },
  };
}
