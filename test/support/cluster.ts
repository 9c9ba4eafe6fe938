// Helpers for integration tests against the real local control plane:
// clients, throw-away namespaces, the operator as a real child process, and
// the API server's audit log (to count the operator's writes server-side).
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { inject } from 'vitest';
import type { RetrainJob } from '../../src/api/index.js';
import { RetrainJobType } from '../../src/controllers/fluxora-types.js';
import { KubeClient, type KubeObject, type ResourceType } from '../../src/runtime/kube-client.js';

export const root = join(import.meta.dirname, '..', '..');

export const NamespaceResource: ResourceType = { group: '', version: 'v1', kind: 'Namespace', plural: 'namespaces', namespaced: false };

export function adminClient(): KubeClient {
  return KubeClient.fromFile(inject('kubeconfig'));
}

/**
 * Which kind of Node a test's pods land on (hack/control-plane.sh runs both):
 * - real: the kubelet with containerd runs them from the project's image;
 * - kwok: simulated pods that never run anything, for states a real node
 *   cannot produce on demand and for speed where what a pod runs does not
 *   matter. Say why, so a reader knows what the test does not show;
 * - none: the test expects no pod to run; one that is created stays Pending.
 */
export type PodPlacement = { nodes: 'real' } | { nodes: 'kwok'; why: string } | { nodes: 'none'; why: string };

/** The namespace annotation PodNodeSelector reads: every pod of the namespace gets this node selector. */
export const NODE_SELECTOR_ANNOTATION = 'scheduler.alpha.kubernetes.io/node-selector';
export const NODE_KIND_LABEL = 'fluxora.io/node-kind';

export async function createNamespace(
  client: KubeClient,
  prefix: string,
  placement: PodPlacement,
  labels: Record<string, string> = {},
): Promise<string> {
  const name = `${prefix}-${randomBytes(3).toString('hex')}`;
  const annotations = { [NODE_SELECTOR_ANNOTATION]: `${NODE_KIND_LABEL}=${placement.nodes}` };
  await client.create(NamespaceResource, { apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels, annotations } });
  return name;
}

export async function waitFor<T>(
  what: string,
  fn: () => Promise<T | undefined | false> | T | undefined | false,
  timeoutMs = 60_000,
  intervalMs = 200,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastErr: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v !== undefined && v !== false) return v;
    } catch (e) {
      lastErr = e;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs}ms waiting for ${what}${lastErr ? `: ${(lastErr as Error).message}` : ''}`);
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/** Waits until the RetrainJob has a final phase (Succeeded, Failed or Rejected) and returns it. */
export const retrainJobFinished = (client: KubeClient, namespace: string, name: string, timeoutMs = 60_000) =>
  waitFor(`RetrainJob ${name} finished`, async () => {
    const rj = await client.get<RetrainJob>(RetrainJobType, namespace, name);
    return ['Succeeded', 'Failed', 'Rejected'].includes(rj.status?.phase ?? '') ? rj : undefined;
  }, timeoutMs);

export interface LogLine {
  level: number;
  msg: string;
  [k: string]: unknown;
}

export interface OperatorProcess {
  proc: ChildProcess;
  logs: LogLine[];
  metricsPort: number;
  probePort: number;
  /** Resolves with the exit code once the process has exited. */
  exited: Promise<number | null>;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/** The operator process from the moment it is spawned: it may be killed at any point, even before it has started. */
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

/** The image the tests' operators put in serving pods: the project's image on the real Node, a name nothing runs on kwok-only clusters. */
export const servingImage = (): string => inject('image') || 'fluxora:test';

/** Spawns `fluxora operator` from source as the fluxora-operator user (production RBAC) without waiting for it to start. */
export function launchOperator(args: string[] = [], env: Record<string, string> = {}): OperatorRun {
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
      `--serving-image=${servingImage()}`,
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

/** How long an operator may take to log "operator started" (its informers' first lists). */
const OPERATOR_START_TIMEOUT_MS = 90_000;

/** Starts `fluxora operator` (see launchOperator) and waits until it has started. */
export async function startOperator(args: string[] = [], env: Record<string, string> = {}): Promise<OperatorProcess> {
  const run = launchOperator(args, env);
  const exited = run.exited.then((e) => e.code);
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), OPERATOR_START_TIMEOUT_MS)));
  const started = await Promise.race([run.started, timedOut]);
  clearTimeout(timer);
  if (started === 'timeout') {
    // Never leave it running behind a failed hook; show why it did not start (RBAC, API server).
    await run.kill();
    const last = run.logs.slice(-5).map((l) => JSON.stringify(l)).join('\n');
    throw new Error(`operator did not start within ${OPERATOR_START_TIMEOUT_MS / 1000} s; last log lines:\n${last}\n${run.stderr()}`);
  }
  if (!started) throw new Error(`operator exited with ${await exited} before starting:\n${run.stderr()}`);
  const line = run.logs.find((l) => l.msg === 'operator started')!;
  return {
    proc: run.proc,
    logs: run.logs,
    metricsPort: line.metricsPort as number,
    probePort: line.probePort as number,
    exited,
    stop: async (signal = 'SIGTERM') => {
      if (run.proc.exitCode === null && run.proc.signalCode === null) run.proc.kill(signal);
      return exited;
    },
  };
}

export interface AuditEvent {
  verb: string;
  user: { username: string };
  userAgent?: string;
  objectRef?: { resource?: string; namespace?: string; name?: string; subresource?: string; apiGroup?: string };
  responseStatus?: { code?: number };
  requestReceivedTimestamp: string;
  stage: string;
}

const WRITE_VERBS = new Set(['create', 'update', 'patch', 'delete', 'deletecollection']);

/** The operator's write requests recorded by the API server's audit log (optionally in one namespace, after a time). */
export function operatorWrites(o: { namespace?: string; sinceMs?: number } = {}): AuditEvent[] {
  const path = inject('auditLog');
  if (!existsSync(path)) return [];
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as AuditEvent)
    .filter(
      (e) =>
        e.stage === 'ResponseComplete' &&
        e.user.username === 'fluxora-operator' &&
        WRITE_VERBS.has(e.verb) &&
        (o.namespace === undefined || e.objectRef?.namespace === o.namespace) &&
        (o.sinceMs === undefined || Date.parse(e.requestReceivedTimestamp) >= o.sinceMs),
    );
}

export async function scrape(port: number): Promise<string> {
  const res = await fetch(`http://127.0.0.1:${port}/metrics`);
  return res.text();
}

export type { KubeObject };
