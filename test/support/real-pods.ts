// Helpers for tests whose pods run on the real Node (hack/node.sh): kubectl
// itself, the operator installed in the cluster from the image, host services
// made reachable from pods by name, the security of a container's processes
// as the kernel sees them, and a steady-rate inference client.
import { execFile } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import http from 'node:http';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { inject } from 'vitest';
import type { KubeClient, KubeObject } from '../../src/runtime/kube-client.js';
import { root, waitFor } from './cluster.js';
import type { MinioEndpoint } from './minio.js';

const run = promisify(execFile);

/** The real Node's address: the pods' gateway, where host services (MinIO) are reached. */
export const NODE_IP = '10.245.0.1';

let kubectlPath: string | undefined;
/** kubectl built with the control plane (the same client users run), as the test's admin. */
export async function kubectl(args: string[], o: { input?: string; timeoutMs?: number } = {}): Promise<string> {
  kubectlPath ??= (await run('bash', [join(root, 'hack/control-plane.sh'), 'bin-dir'])).stdout.trim() + '/kubectl';
  const child = run(kubectlPath, ['--kubeconfig', inject('kubeconfig'), ...args], {
    cwd: root,
    timeout: o.timeoutMs ?? 120_000,
    maxBuffer: 64 << 20,
  });
  if (o.input !== undefined) {
    child.child.stdin?.end(o.input);
  }
  try {
    return (await child).stdout;
  } catch (e) {
    const err = e as { stderr?: string; message: string };
    throw new Error(`kubectl ${args.join(' ')}: ${err.stderr?.trim() || err.message}`);
  }
}

/** Fails unless the cluster has a real Node: a test of real pods must never pass on simulated ones. */
export function requireRealNode(): void {
  const kind = inject('nodeKind');
  if (kind !== 'real' && kind !== 'both') {
    throw new Error(`this test needs the real Node, and the cluster has only ${kind} Nodes (see hack/node.sh check)`);
  }
}

const ServiceRes = { group: '', version: 'v1', kind: 'Service', plural: 'services', namespaced: true } as const;
const SliceRes = { group: 'discovery.k8s.io', version: 'v1', kind: 'EndpointSlice', plural: 'endpointslices', namespaced: true } as const;

/**
 * A Service without a selector whose one endpoint is a port on the host
 * (NODE_IP), so pods reach a host process as http://<name>.<ns>.svc:<port>:
 * through CoreDNS and kube-proxy, as they would reach an in-cluster store.
 */
export async function exposeHostPort(client: KubeClient, ns: string, name: string, port: number, hostPort: number): Promise<string> {
  await client.create(ServiceRes, {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name, namespace: ns },
    spec: { ports: [{ name: 'http', port, targetPort: hostPort, protocol: 'TCP' }] },
  } as KubeObject);
  await client.create(SliceRes, {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: { name: `${name}-host`, namespace: ns, labels: { 'kubernetes.io/service-name': name } },
    addressType: 'IPv4',
    ports: [{ name: 'http', port: hostPort, protocol: 'TCP' }],
    endpoints: [{ addresses: [NODE_IP], conditions: { ready: true } }],
  } as KubeObject);
  return `http://${name}.${ns}.svc.cluster.local:${port}`;
}

const SecretRes = { group: '', version: 'v1', kind: 'Secret', plural: 'secrets', namespaced: true } as const;

/**
 * The host's MinIO for pods: Service "minio" (exposeHostPort) and Secret
 * "storage" with its credentials as the AWS SDK variables, the endpoint being
 * that Service. Returns the endpoint.
 */
export async function minioForPods(client: KubeClient, ns: string, m: MinioEndpoint): Promise<string> {
  const endpoint = await exposeHostPort(client, ns, 'minio', 9000, Number(new URL(m.endpoint).port));
  await client.create(SecretRes, {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: 'storage', namespace: ns },
    stringData: { AWS_ACCESS_KEY_ID: m.accessKeyId, AWS_SECRET_ACCESS_KEY: m.secretAccessKey, AWS_ENDPOINT_URL: endpoint, AWS_REGION: 'us-east-1' },
  } as KubeObject);
  return endpoint;
}

/** Where manifests/install puts the operator. */
export const OPERATOR_NS = 'fluxora-system';

/** The operator installed as a user does (`kubectl apply -k manifests/install`), rolled out. */
export async function installOperator(): Promise<void> {
  await kubectl(['apply', '--server-side', '--force-conflicts', '-k', 'manifests/install']);
  await kubectl(['-n', OPERATOR_NS, 'rollout', 'status', 'deployment/fluxora-operator', '--timeout=120s']);
}

/** The operator watches every namespace: removed after a file, so later files run theirs alone. */
export async function removeOperator(): Promise<void> {
  await kubectl(['delete', '--ignore-not-found', '--wait=true', '-n', OPERATOR_NS, 'deployment/fluxora-operator']).catch(() => undefined);
}

export interface PodLike extends KubeObject {
  spec: { nodeName?: string; containers: { name: string }[] };
  status?: {
    phase?: string;
    podIP?: string;
    containerStatuses?: { name: string; containerID?: string; ready?: boolean; restartCount?: number; state?: Record<string, { reason?: string; message?: string; exitCode?: number }>; lastState?: Record<string, { reason?: string; message?: string; exitCode?: number }> }[];
  };
}

/** Host pids of a running container, from its cgroup (cgroup v1, cgroupfs driver). */
export function containerPids(pod: PodLike, container: string): number[] {
  const id = pod.status?.containerStatuses?.find((c) => c.name === container)?.containerID?.replace(/^containerd:\/\//, '');
  if (!id) throw new Error(`${pod.metadata.name}/${container} has no container id yet`);
  const base = '/sys/fs/cgroup/pids/kubepods';
  const podDir = `pod${pod.metadata.uid}`;
  for (const qos of ['', 'burstable', 'besteffort']) {
    const dir = join(base, qos, podDir, id);
    try {
      return readFileSync(join(dir, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean).map(Number);
    } catch {
      // not in this QoS class
    }
  }
  const found = readdirSync(base).join(', ');
  throw new Error(`no cgroup for container ${id} of pod ${pod.metadata.uid} under ${base} (${found})`);
}

export interface ProcessSecurity {
  uid: number[];
  gid: number[];
  capEff: bigint;
  capPrm: bigint;
  capBnd: bigint;
  noNewPrivs: boolean;
  /** 0 none, 1 strict, 2 filter (a seccomp profile is applied). */
  seccomp: number;
  rootReadOnly: boolean;
  cmdline: string[];
}

/** What the kernel enforces on a process: /proc/<pid>/status and the options of its root mount. */
export function processSecurity(pid: number): ProcessSecurity {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const field = (name: string) => {
    const m = new RegExp(`^${name}:\\s*(.*)$`, 'm').exec(status);
    if (!m) throw new Error(`/proc/${pid}/status has no ${name}`);
    return m[1]!.trim();
  };
  // mountinfo: id parent major:minor root mountpoint options ... ; the process's "/" is its root filesystem.
  const rootMount = readFileSync(`/proc/${pid}/mountinfo`, 'utf8')
    .split('\n')
    .map((l) => l.split(' '))
    .find((f) => f[4] === '/');
  if (!rootMount) throw new Error(`/proc/${pid}/mountinfo has no root mount`);
  return {
    uid: field('Uid').split(/\s+/).map(Number),
    gid: field('Gid').split(/\s+/).map(Number),
    capEff: BigInt(`0x${field('CapEff')}`),
    capPrm: BigInt(`0x${field('CapPrm')}`),
    capBnd: BigInt(`0x${field('CapBnd')}`),
    noNewPrivs: field('NoNewPrivs') === '1',
    seccomp: Number(field('Seccomp')),
    rootReadOnly: rootMount[5]!.split(',').includes('ro'),
    cmdline: readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean),
  };
}

export interface LoadReport {
  sent: number;
  ok: number;
  failed: number;
  errors: Record<string, number>;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  /** Answers per model_version. */
  versions: Record<string, number>;
}

/**
 * Sends inference requests at a steady rate over keep-alive connections, as a
 * client application would, until stop() is called. A failure is any error,
 * timeout or non-200 answer.
 */
export function steadyLoad(o: { url: string; body: string; ratePerSecond: number; timeoutMs?: number }): { stop(): Promise<LoadReport> } {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 16 });
  const latencies: number[] = [];
  const errors: Record<string, number> = {};
  const versions: Record<string, number> = {};
  let sent = 0;
  let ok = 0;
  const inflight = new Set<Promise<void>>();
  const url = new URL(o.url);

  const once = (): Promise<void> =>
    new Promise((resolve) => {
      const start = performance.now();
      sent++;
      const fail = (why: string) => {
        errors[why] = (errors[why] ?? 0) + 1;
        resolve();
      };
      const req = http.request(
        { host: url.hostname, port: url.port, path: url.pathname, method: 'POST', agent, headers: { 'content-type': 'application/json' }, timeout: o.timeoutMs ?? 5000 },
        (res) => {
          let body = '';
          res.setEncoding('utf8').on('data', (c: string) => (body += c));
          res.on('end', () => {
            if (res.statusCode !== 200) return fail(`HTTP ${res.statusCode}: ${body.slice(0, 120)}`);
            ok++;
            latencies.push(performance.now() - start);
            const v = (JSON.parse(body) as { model_version?: string }).model_version ?? '?';
            versions[v] = (versions[v] ?? 0) + 1;
            resolve();
          });
          res.on('error', (e) => fail(e.message));
        },
      );
      req.on('timeout', () => req.destroy(new Error('timeout')));
      req.on('error', (e) => fail((e as NodeJS.ErrnoException).code ?? e.message));
      req.end(o.body);
    });

  const interval = 1000 / o.ratePerSecond;
  const t0 = performance.now();
  let n = 0;
  let stopped = false;
  const tick = () => {
    if (stopped) return;
    // Catch up to the schedule, so a slow turn of the event loop does not lower the rate.
    const due = Math.floor((performance.now() - t0) / interval);
    while (n <= due) {
      n++;
      const p = once();
      inflight.add(p);
      void p.then(() => inflight.delete(p));
    }
    setTimeout(tick, Math.max(1, interval / 2));
  };
  tick();
  return {
    async stop() {
      stopped = true;
      await Promise.all(inflight);
      agent.destroy();
      const sorted = [...latencies].sort((a, b) => a - b);
      const q = (p: number) => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? 0;
      const failed = Object.values(errors).reduce((a, b) => a + b, 0);
      return { sent, ok, failed, errors, p50Ms: q(0.5), p99Ms: q(0.99), maxMs: sorted.at(-1) ?? 0, versions };
    },
  };
}

/** The pods matching a label selector, once `ready` holds for them. */
export async function podsWhere(client: KubeClient, ns: string, selector: string, ready: (pods: PodLike[]) => boolean, what: string, timeoutMs = 120_000): Promise<PodLike[]> {
  const PodRes = { group: '', version: 'v1', kind: 'Pod', plural: 'pods', namespaced: true } as const;
  return waitFor(what, async () => {
    const pods = await client.list<PodLike>(PodRes, ns, selector);
    return ready(pods) ? pods : undefined;
  }, timeoutMs, 500);
}

/**
 * Step timings of a real-pod test, for its log: each mark() records the time
 * since the one before; report() prints them all under a title.
 */
export function stepTimer(): { mark: (step: string) => void; report: (title: string) => string } {
  const timings: [string, number][] = [];
  let last = Date.now();
  return {
    mark: (step) => {
      timings.push([step, Date.now() - last]);
      last = Date.now();
    },
    report: (title) => {
      return `${title}, step timings:\n${timings.map(([s, ms]) => `  ${(ms / 1000).toFixed(2).padStart(6)} s  ${s}`).join('\n')}`;
    },
  };
}
