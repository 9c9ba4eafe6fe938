// Helpers for integration tests against the real local control plane:
// clients, throw-away namespaces, the operator as a real child process, and
// the API server's audit log (to count the operator's writes server-side).
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, inject } from 'vitest';
import type { Model, RetrainJob } from '../../src/api/index.js';
import { ModelType, RetrainJobType } from '../../src/controllers/fluxora-types.js';
import { getCondition } from '../../src/runtime/conditions.js';
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

const namespaceName = (prefix: string) => `${prefix}-${randomBytes(3).toString('hex')}`;

async function createNamedNamespace(client: KubeClient, name: string, placement: PodPlacement, labels: Record<string, string>): Promise<void> {
  const annotations = { [NODE_SELECTOR_ANNOTATION]: `${NODE_KIND_LABEL}=${placement.nodes}` };
  await client.create(NamespaceResource, { apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels, annotations } });
}

/** Creates a namespace named <prefix>-<6 hex digits> whose pods land on the placement's Nodes, and returns its name. */
export async function createNamespace(
  client: KubeClient,
  prefix: string,
  placement: PodPlacement,
  labels: Record<string, string> = {},
): Promise<string> {
  const name = namespaceName(prefix);
  await createNamedNamespace(client, name, placement, labels);
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

export interface OperatorNamespaceOptions {
  /** Start the operator in beforeAll (default); false: the suite starts it when it needs one (startOperator), or never. */
  operator?: boolean;
  /** The operator's arguments after --namespace=<ns>. */
  operatorArgs?: string[];
  /** The operator's environment, on top of the test process's. */
  operatorEnv?: Record<string, string>;
  /** Labels of the namespace. */
  labels?: Record<string, string>;
}

/** What operatorNamespace sets up for a describe block. */
export interface OperatorNamespace {
  /** The admin client; closed after the block. */
  readonly client: KubeClient;
  /** The namespace's name (<prefix>-<6 hex digits>); the namespace exists from beforeAll on. */
  readonly ns: string;
  /** The operator watching ns, once started (beforeAll or startOperator); whichever is here at the end is stopped. */
  op: OperatorProcess | undefined;
  /**
   * Starts `fluxora operator --namespace=<ns>` with these arguments and
   * environment (default: the options'), waits until it has started and makes
   * it op. The previous operator must have been stopped.
   */
  startOperator(args?: string[], env?: Record<string, string>): Promise<OperatorProcess>;
}

/**
 * The setup most integration suites share, registered as hooks of the calling
 * describe block: beforeAll creates a throw-away namespace (createNamespace)
 * and, unless `operator: false`, starts an operator watching only it; afterAll
 * stops the operator, deletes the namespace (errors ignored) and closes the
 * client, also after a failed beforeAll.
 *
 * The client and the namespace's name are fixed at once, so a suite can
 * destructure them (`const { client, ns } = operatorNamespace(...)`); `op`
 * changes, read it from the object. Hooks the suite registers after this call
 * run after its beforeAll and before its afterAll (vitest runs afterAll hooks
 * in reverse order): a suite's own teardown (processes, servers) runs while
 * the namespace still exists.
 */
export function operatorNamespace(prefix: string, placement: PodPlacement, opts: OperatorNamespaceOptions = {}): OperatorNamespace {
  const client = adminClient();
  const ns = namespaceName(prefix);
  const suite: OperatorNamespace = {
    client,
    ns,
    op: undefined,
    async startOperator(args = opts.operatorArgs ?? [], env = opts.operatorEnv ?? {}) {
      const previous = suite.op?.proc;
      if (previous && previous.exitCode === null && previous.signalCode === null) {
        throw new Error(`an operator (pid ${previous.pid}) still watches ${ns}: stop it before starting another`);
      }
      suite.op = await startOperator([`--namespace=${ns}`, ...args], env);
      return suite.op;
    },
  };
  beforeAll(async () => {
    await createNamedNamespace(client, ns, placement, opts.labels ?? {});
    if (opts.operator !== false) await suite.startOperator();
  });
  afterAll(async () => {
    await suite.op?.stop();
    await client.delete(NamespaceResource, undefined, ns).catch(() => undefined);
    client.close();
  });
  return suite;
}

/** Waits until the Model is Ready at its latest generation (and serves `version`, when given), and returns it. */
export const modelReady = (client: KubeClient, namespace: string, name: string, o: { version?: string; timeoutMs?: number } = {}) =>
  waitFor(`Model ${name} Ready${o.version ? ` on ${o.version}` : ''}`, async () => {
    const m = await client.get<Model>(ModelType, namespace, name);
    const fresh = m.status?.observedGeneration === m.metadata.generation;
    const ready = getCondition(m.status?.conditions, 'Ready')?.status === 'True';
    return fresh && ready && (!o.version || m.status?.servingVersion === o.version) ? m : undefined;
  }, o.timeoutMs);

/** Creates the Model and waits until it is Ready (modelReady); returns it as it is then. */
export async function createReadyModel(client: KubeClient, model: Model, o: { version?: string; timeoutMs?: number } = {}): Promise<Model> {
  await client.create(ModelType, model);
  return modelReady(client, model.metadata.namespace!, model.metadata.name, o);
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
