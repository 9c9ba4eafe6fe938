// Helpers for the packaging test: the pinned tools (Helm, kubeconform,
// kubectl, BuildKit's Dockerfile linter) run as real processes, and the chart
// values that switch every optional feature on.
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { CHART_DIR, helmBinary, helmEnv, kubeconformBinary } from '../../hack/helm.js';
import { SCHEMA_LOCATION } from './kubeconform-schemas.js';
import { root } from './cluster.js';

export interface RunResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a command to completion and returns its exit status and output (never throws on a non-zero exit). */
export function run(cmd: string, args: string[], o: { input?: string; env?: NodeJS.ProcessEnv; cwd?: string } = {}): RunResult {
  const r = spawnSync(cmd, args, { input: o.input, env: o.env ?? process.env, cwd: o.cwd ?? root, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (r.error) throw r.error;
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Runs a command and returns stdout; a non-zero exit throws with the command's stderr. */
export function runOk(cmd: string, args: string[], o: { input?: string; env?: NodeJS.ProcessEnv } = {}): string {
  const r = run(cmd, args, o);
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.status}:\n${r.stderr}${r.stdout}`);
  return r.stdout;
}

let kubectlPath: string | undefined;
/** The real kubectl built with the control plane (/usr/bin/kubectl may be a stand-in). */
export function kubectl(): string {
  kubectlPath ??= join(execFileSync('bash', [join(root, 'hack/control-plane.sh'), 'bin-dir'], { encoding: 'utf8' }).trim(), 'kubectl');
  return kubectlPath;
}

export function helm(args: string[], o: { kubeconfig?: string; input?: string } = {}): RunResult {
  return run(helmBinary(), args, { input: o.input, env: helmEnv(o.kubeconfig ? { KUBECONFIG: o.kubeconfig } : {}) });
}

type Values = { [key: string]: unknown };

/** Sets every `enabled: false` in the chart's values.yaml to true, so a feature added later is covered without editing this test. */
function enableAll(v: Values): Values {
  return Object.fromEntries(
    Object.entries(v).map(([k, x]) => [k, k === 'enabled' && x === false ? true : typeof x === 'object' && x !== null && !Array.isArray(x) ? enableAll(x as Values) : x]),
  );
}

/** values.yaml with every optional feature on and every optional list/map filled in. */
export function valuesWithEveryFeature(namespace: string): Values {
  const defaults = parse(readFileSync(join(CHART_DIR, 'values.yaml'), 'utf8')) as Values;
  const on = enableAll(defaults);
  return {
    ...on,
    replicaCount: 2, // turns leader election on
    servingImage: 'registry.example.com/fluxora:serving',
    watchNamespace: namespace,
    imagePullSecrets: [{ name: 'registry-credentials' }],
    serviceAccount: { create: true, name: 'fluxora', annotations: { 'example.com/role': 'operator' } },
    podAnnotations: { 'example.com/team': 'ml' },
    podLabels: { team: 'ml' },
    nodeSelector: { 'kubernetes.io/os': 'linux' },
    tolerations: [{ key: 'dedicated', operator: 'Equal', value: 'ml', effect: 'NoSchedule' }],
    affinity: { podAntiAffinity: { preferredDuringSchedulingIgnoredDuringExecution: [{ weight: 100, podAffinityTerm: { topologyKey: 'kubernetes.io/hostname', labelSelector: { matchLabels: { 'app.kubernetes.io/name': 'fluxora-operator' } } } }] } },
    priorityClassName: 'system-cluster-critical',
    networkPolicy: { ...(on.networkPolicy as Values), metricsFrom: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'monitoring' } } }], apiServerCIDRs: ['10.96.0.1/32'] },
  };
}

export interface KubeconformResult {
  ok: boolean;
  /** One entry per manifest that is not valid: "<Kind> <name>: <message>". */
  problems: string[];
  valid: number;
}

/** Validates multi-document YAML with kubeconform -strict against the offline schemas in `schemaDir`. */
export function kubeconform(schemaDir: string, yamlText: string): KubeconformResult {
  const r = run(kubeconformBinary(), ['-strict', '-summary', '-output', 'json', '-schema-location', join(schemaDir, SCHEMA_LOCATION), '-'], { input: yamlText });
  const report = JSON.parse(r.stdout) as { resources?: { kind: string; name: string; status: string; msg: string }[]; summary: { valid: number } };
  const problems = (report.resources ?? []).filter((x) => x.status !== 'statusValid').map((x) => `${x.kind} ${x.name}: ${x.status} ${x.msg}`);
  if (r.status !== 0 && problems.length === 0) throw new Error(`kubeconform exited ${r.status}: ${r.stderr}`);
  return { ok: r.status === 0, problems, valid: report.summary.valid };
}
