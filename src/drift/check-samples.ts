// Gathers the live samples a drift check compares with the reference: every
// ready serving pod of the Model (found through its Service's EndpointSlices)
// is asked for its captured rows on the token-protected admin port.
import type { KubeClient } from '../runtime/kube-client.js';

interface EndpointSlice {
  ports?: { name?: string; port?: number }[];
  endpoints?: { addresses: string[]; conditions?: { ready?: boolean } }[];
}

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

/** Parses FLUXORA_SAMPLES_ADDRESS_MAP: "podIP:port=host:port,...". */
export function parseAddressMap(s: string | undefined): Map<string, string> {
  const map = new Map<string, string>();
  for (const pair of (s ?? '').split(',').filter(Boolean)) {
    const [from, to] = pair.split('=');
    if (!from || !to) throw new Error(`FLUXORA_SAMPLES_ADDRESS_MAP: "${pair}" is not "from=to"`);
    map.set(from.trim(), to.trim());
  }
  return map;
}

export async function gatherServingSamples(o: GatherOptions): Promise<GatheredSamples> {
  const slices = await o.client.request<{ items: EndpointSlice[] }>('GET', `/apis/discovery.k8s.io/v1/namespaces/${encodeURIComponent(o.namespace)}/endpointslices`, {
    query: { labelSelector: `kubernetes.io/service-name=${o.model}` },
  });
  const targets: string[] = [];
  for (const slice of slices.items) {
    const port = slice.ports?.find((p) => p.name === 'admin')?.port;
    if (!port) continue;
    for (const ep of slice.endpoints ?? []) {
      if (ep.conditions?.ready === false || !ep.addresses[0]) continue;
      const addr = `${ep.addresses[0]}:${port}`;
      targets.push(o.addressMap?.get(addr) ?? addr);
    }
  }
  const errors: string[] = [];
  const perPod = await Promise.all(
    targets.map(async (target) => {
      try {
        const res = await fetch(`http://${target}/v2/models/${encodeURIComponent(o.model)}/samples?limit=${o.maxSamples}`, {
          headers: { Authorization: `Bearer ${o.token}` },
          signal: AbortSignal.timeout(o.timeoutMs ?? 30_000),
        });
        if (!res.ok) throw new Error(`HTTP ${res.status}: ${(await res.text()).slice(0, 200)}`);
        return (await res.text())
          .split('\n')
          .filter((l) => l.trim() !== '')
          .map((l) => JSON.parse(l) as Record<string, unknown>);
      } catch (e) {
        errors.push(`${target}: ${(e as Error).message}`);
        return [];
      }
    }),
  );
  // The most recent rows across pods, up to maxSamples.
  const rows = perPod
    .flat()
    .sort((a, b) => ts(b).localeCompare(ts(a)))
    .slice(0, o.maxSamples);
  return { rows, pods: targets.length, errors };
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
