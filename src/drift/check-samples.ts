// Gathers the live samples a drift check compares with the reference: every
// ready serving pod of the Model is asked for its captured rows on the
// token-protected admin port (pod-admin.ts finds and asks them).
import { PodAdminReader } from '../controllers/pod-admin.js';
import type { KubeClient } from '../runtime/kube-client.js';
import { samplesPath } from '../serving/admin-paths.js';

export interface GatheredSamples {
  rows: Record<string, unknown>[];
  /** Pods asked, and the ones that failed (a check proceeds with the rest). */
  pods: number;
  errors: string[];
}

export interface GatherOptions {
  client: KubeClient;
  namespace: string;
  model: string;
  token: string;
  maxSamples: number;
  timeoutMs?: number;
  /**
   * Rewrites a pod address before dialling it ("10.244.0.5:8081" ->
   * "127.0.0.1:18081"). For tests and debugging, where pods are simulated
   * and the serving processes run on this machine.
   */
  addressMap?: ReadonlyMap<string, string>;
}

/** A pod's samples: JSON Lines, one captured row per line. */
async function readRows(res: Response): Promise<Record<string, unknown>[]> {
  return (await res.text())
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

export async function gatherServingSamples(o: GatherOptions): Promise<GatheredSamples> {
  // A pod sends up to maxSamples rows: give it longer than the operator's status reads.
  const reader = new PodAdminReader({ timeoutMs: o.timeoutMs ?? 30_000, addressMap: o.addressMap });
  const answers = await reader.getFromReadyPods(o.client, o.namespace, o.model, `${samplesPath(o.model)}?limit=${o.maxSamples}`, readRows, { token: o.token });
  const errors = answers.flatMap((a) => (a.ok ? [] : [`${a.endpoint.pod}: ${a.error}`]));
  // The most recent rows across pods, up to maxSamples.
  const rows = answers
    .flatMap((a) => (a.ok ? a.value : []))
    .sort((a, b) => ts(b).localeCompare(ts(a)))
    .slice(0, o.maxSamples);
  return { rows, pods: answers.length, errors };
}

/** A row's capture time (ISO 8601 sorts as text); rows without one sort last. */
const ts = (r: Record<string, unknown>): string => (typeof r._ts === 'string' ? r._ts : '');

/** Rows (objects keyed by feature name) to engine columns. */
export function rowsToColumns(rows: readonly Record<string, unknown>[], features: readonly { name: string; type: 'numeric' | 'categorical' }[]) {
  const table: Record<string, Float64Array | (string | null)[]> = {};
  for (const f of features) {
    if (f.type === 'numeric') {
      // Non-numbers become NaN, which the engine counts as missing.
      table[f.name] = Float64Array.from(rows, (r) => (typeof r[f.name] === 'number' ? (r[f.name] as number) : Number.NaN));
    } else {
      table[f.name] = rows.map((r) => (r[f.name] === undefined || r[f.name] === null ? null : String(r[f.name] as string | number | boolean)));
    }
  }
  return table;
}
