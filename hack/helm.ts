// The Go-built Helm (hack/helm-tools.sh, pinned in hack/tools/helm/go.mod),
// shared by the install-manifest generator and the packaging test so both
// render the chart with exactly the same binary.
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';

export const REPO_ROOT = join(import.meta.dirname, '..');
export const CHART_DIR = join(REPO_ROOT, 'charts', 'fluxora-operator');

/** The oldest Kubernetes the chart supports (Chart.yaml kubeVersion); renders are pinned to it so they do not drift with Helm's default. */
export const MIN_KUBE_VERSION = 'v1.30.0';

let toolsDir: string | undefined;

/** Directory holding `helm` and `kubeconform`, built on first use (minutes, once per version). */
export function helmToolsDir(): string {
  toolsDir ??= execFileSync('bash', [join(REPO_ROOT, 'hack', 'helm-tools.sh')], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] })
    .trim()
    .split('\n')
    .at(-1)!;
  return toolsDir;
}

export const helmBinary = (): string => join(helmToolsDir(), 'helm');
export const kubeconformBinary = (): string => join(helmToolsDir(), 'kubeconform');

export interface RenderOptions {
  release: string;
  namespace: string;
  /** Files passed as --values, in order. */
  valuesFiles?: string[];
  /** Capabilities.KubeVersion to render for (default MIN_KUBE_VERSION). */
  kubeVersion?: string;
}

/** `helm template` of the chart; throws with Helm's own message on failure. */
export function helmTemplate(o: RenderOptions): string {
  const args = ['template', o.release, CHART_DIR, '--namespace', o.namespace, '--kube-version', o.kubeVersion ?? MIN_KUBE_VERSION];
  for (const f of o.valuesFiles ?? []) args.push('--values', f);
  return execFileSync(helmBinary(), args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], env: helmEnv() });
}

/** Keeps Helm's caches and config out of the developer's home directory settings and away from any repository index. */
export function helmEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const home = join(helmToolsDir(), '.helm-home');
  return {
    ...process.env,
    HELM_CACHE_HOME: join(home, 'cache'),
    HELM_CONFIG_HOME: join(home, 'config'),
    HELM_DATA_HOME: join(home, 'data'),
    ...extra,
  };
}
