// The Kubernetes client of a subcommand (operator, drift-check), from
// --kubeconfig or the defaults. A kubeconfig that cannot be loaded is one
// line, not a stack trace: a usage error when --kubeconfig named it, a
// failure (exit 1) when it came from $KUBECONFIG or ~/.kube/config.
import { KubeClient, type KubeClientOptions } from '../runtime/kube-client.js';
import { CommandFailure, UsageError } from './usage.js';

/** Node's fs message without the trailing path ("ENOENT: no such file or directory, open '/x'" -> "ENOENT: no such file or directory"). */
const reason = (e: unknown) => (e instanceof Error ? e.message : String(e)).replace(/, \w+ '[^']*'$/, '');

export function kubeClient(kubeconfig: string | undefined, opts: KubeClientOptions, usage: string): KubeClient {
  try {
    return kubeconfig ? KubeClient.fromFile(kubeconfig, opts) : KubeClient.fromDefault(opts);
  } catch (e) {
    if (kubeconfig) throw new UsageError(`--kubeconfig: cannot load ${JSON.stringify(kubeconfig)} (${reason(e)})`, usage);
    throw new CommandFailure(`cannot load a kubeconfig from $KUBECONFIG, ~/.kube/config or the in-cluster service account (${reason(e)})`);
  }
}
