// Runs the container of a workload the operator created (a serving
// Deployment, a drift-check CronJob, a trainer Job or any Pod) as a local
// `fluxora` process with that container's arguments and environment: secret
// references resolved, and the workload's ServiceAccount token in a
// kubeconfig when the pod would have one.
//
// A debugging tool: the local cluster runs real pods (hack/node.sh), but a
// local process can be given a debugger, a profiler or a breakpoint. Two tests
// use it where they need a process they control exactly (observability: a
// replica still loading, for Prometheus on the host; security: every byte a
// process prints).
//
//   npx tsx hack/run-local.ts [-n NAMESPACE] KIND/NAME [--env K=V ...] [--kubeconfig PATH]
//   KIND: deployment, job, cronjob, pod
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { KubeClient, resourcePath, type KubeObject } from '../src/runtime/kube-client.js';

interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: { secretKeyRef?: { name: string; key: string; optional?: boolean }; configMapKeyRef?: { name: string; key: string; optional?: boolean }; fieldRef?: { fieldPath: string } };
}
interface Container {
  name: string;
  command?: string[];
  args?: string[];
  env?: EnvVar[];
  envFrom?: { secretRef?: { name: string }; configMapRef?: { name: string }; prefix?: string }[];
}
interface PodSpec {
  containers: Container[];
  serviceAccountName?: string;
  automountServiceAccountToken?: boolean;
}
interface Workload extends KubeObject {
  spec: {
    template?: { spec: PodSpec };
    jobTemplate?: { spec: { template: { spec: PodSpec } } };
    containers?: PodSpec['containers'];
    serviceAccountName?: string;
    automountServiceAccountToken?: boolean;
  };
}

const PATHS: Record<string, (ns: string, name: string) => string> = {
  deployment: (ns, n) => `/apis/apps/v1/namespaces/${ns}/deployments/${n}`,
  job: (ns, n) => `/apis/batch/v1/namespaces/${ns}/jobs/${n}`,
  cronjob: (ns, n) => `/apis/batch/v1/namespaces/${ns}/cronjobs/${n}`,
  pod: (ns, n) => `/api/v1/namespaces/${ns}/pods/${n}`,
};

export interface LocalCommand {
  /** Arguments to `fluxora` (the image's entrypoint). */
  args: string[];
  env: Record<string, string>;
}

function podSpecOf(kind: string, w: Workload): PodSpec {
  if (kind === 'pod') return w.spec as PodSpec;
  if (kind === 'cronjob') return w.spec.jobTemplate!.spec.template.spec;
  return w.spec.template!.spec;
}

async function readData(client: KubeClient, ns: string, kind: 'secrets' | 'configmaps', name: string): Promise<Record<string, string>> {
  const o = await client.request<{ data?: Record<string, string> }>('GET', resourcePath({ group: '', version: 'v1', kind: '', plural: kind, namespaced: true }, ns, name));
  const data = o.data ?? {};
  return kind === 'secrets' ? Object.fromEntries(Object.entries(data).map(([k, v]) => [k, Buffer.from(v, 'base64').toString('utf8')])) : data;
}

/** The container's args and its environment with every reference resolved, as the kubelet would. */
export async function localCommand(client: KubeClient, namespace: string, ref: string, tokenDir?: string): Promise<LocalCommand> {
  const [kind, name] = ref.toLowerCase().split('/') as [string, string | undefined];
  const path = PATHS[kind];
  if (!path || !name) throw new Error(`expected KIND/NAME with KIND one of ${Object.keys(PATHS).join(', ')}; got "${ref}"`);
  const w = await client.request<Workload>('GET', path(namespace, name));
  const spec = podSpecOf(kind, w);
  const c = spec.containers[0]!;
  if (c.command?.length) throw new Error(`${ref} runs its own command (${c.command.join(' ')}), not the fluxora image's entrypoint`);
  const env: Record<string, string> = {};
  for (const from of c.envFrom ?? []) {
    const data = from.secretRef ? await readData(client, namespace, 'secrets', from.secretRef.name) : await readData(client, namespace, 'configmaps', from.configMapRef!.name);
    for (const [k, v] of Object.entries(data)) env[(from.prefix ?? '') + k] = v;
  }
  for (const e of c.env ?? []) {
    if (e.value !== undefined) env[e.name] = e.value;
    else if (e.valueFrom?.secretKeyRef) env[e.name] = (await readData(client, namespace, 'secrets', e.valueFrom.secretKeyRef.name))[e.valueFrom.secretKeyRef.key] ?? '';
    else if (e.valueFrom?.configMapKeyRef) env[e.name] = (await readData(client, namespace, 'configmaps', e.valueFrom.configMapKeyRef.name))[e.valueFrom.configMapKeyRef.key] ?? '';
    else if (e.valueFrom?.fieldRef?.fieldPath === 'metadata.namespace') env[e.name] = namespace;
    else if (e.valueFrom?.fieldRef?.fieldPath === 'metadata.name') env[e.name] = `${name}-local`;
  }
  // A pod with a ServiceAccount token talks to the API server as that account: so does the local process.
  if (spec.automountServiceAccountToken !== false && spec.serviceAccountName) {
    const tok = await client.request<{ status: { token: string } }>('POST', `/api/v1/namespaces/${namespace}/serviceaccounts/${spec.serviceAccountName}/token`, {
      body: { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec: { expirationSeconds: 3600 } },
    });
    const cluster = client.kubeConfig.getCurrentCluster()!;
    const dir = tokenDir ?? mkdtempSync(join(tmpdir(), 'fluxora-run-local-'));
    const file = join(dir, `${spec.serviceAccountName}.kubeconfig`);
    writeFileSync(
      file,
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'Config',
        'current-context': 'pod',
        clusters: [{ name: 'c', cluster: { server: cluster.server, ...(cluster.caFile ? { 'certificate-authority': cluster.caFile } : {}), ...(cluster.caData ? { 'certificate-authority-data': cluster.caData } : {}) } }],
        users: [{ name: spec.serviceAccountName, user: { token: tok.status.token } }],
        contexts: [{ name: 'pod', context: { cluster: 'c', user: spec.serviceAccountName, namespace } }],
      }),
      { mode: 0o600 },
    );
    env.KUBECONFIG = file;
  }
  return { args: c.args ?? [], env };
}

async function main(): Promise<number> {
  const { values, positionals } = parseArgs({
    options: { namespace: { type: 'string', short: 'n', default: 'default' }, env: { type: 'string', multiple: true }, kubeconfig: { type: 'string' } },
    allowPositionals: true,
  });
  if (positionals.length !== 1) {
    process.stderr.write('usage: npx tsx hack/run-local.ts [-n NAMESPACE] KIND/NAME [--env K=V ...] [--kubeconfig PATH]\n');
    return 2;
  }
  const client = values.kubeconfig ? KubeClient.fromFile(values.kubeconfig) : KubeClient.fromDefault();
  let cmd: LocalCommand;
  try {
    cmd = await localCommand(client, values.namespace, positionals[0]!);
  } finally {
    client.close();
  }
  for (const kv of values.env ?? []) {
    const i = kv.indexOf('=');
    if (i < 1) throw new Error(`--env takes K=V, got "${kv}"`);
    cmd.env[kv.slice(0, i)] = kv.slice(i + 1);
  }
  const root = join(import.meta.dirname, '..');
  process.stderr.write(`[run-local] fluxora ${cmd.args.join(' ')}\n`);
  const child = spawn(process.execPath, ['--import', 'tsx', join(root, 'src/cli/main.ts'), ...cmd.args], { stdio: 'inherit', env: { ...process.env, ...cmd.env } });
  for (const sig of ['SIGINT', 'SIGTERM'] as const) process.on(sig, () => child.kill(sig));
  return new Promise((resolve) => child.on('exit', (code, signal) => resolve(code ?? (signal ? 128 : 1))));
}

if (process.argv[1] && import.meta.filename === process.argv[1]) {
  main().then(
    (code) => (process.exitCode = code),
    (e: unknown) => {
      process.stderr.write(`run-local: ${(e as Error).message}\n`);
      process.exitCode = 1;
    },
  );
}
