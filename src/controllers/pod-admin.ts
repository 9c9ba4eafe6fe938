// Reads the serving pods' admin port (8081). A Model's ready pods are found
// through its Service's EndpointSlices (the Service has an `admin` port, so
// every slice lists each pod's address and that port), and each pod is asked
// over HTTP with a time limit, a bounded number of requests at a time. The
// drift check reads the pods' captured samples with it; the operator reads
// each pod's prediction-log state and promotion figures, and sets the pods'
// promotion analysis.
//
// The pods are asked one by one, not through the Service: every pod holds
// its own samples and counts, and the Service would answer from one of them.
import type { KubeClient } from '../runtime/kube-client.js';

/** The Service port (and so the EndpointSlice port) that leads to `fluxora serve`'s admin listener. */
export const ADMIN_PORT_NAME = 'admin';

/** How long one pod gets to answer by default; a pod that takes longer is reported as not answering. */
export const DEFAULT_ADMIN_TIMEOUT_MS = 5_000;
/** Requests in flight at once per reader by default: a Model of many replicas (or many Models) must not open a socket per pod at once. */
export const DEFAULT_ADMIN_CONCURRENCY = 16;

/** The fields of a discovery.k8s.io/v1 EndpointSlice that lead to the pods. */
export interface EndpointSlice {
  ports?: { name?: string; port?: number }[];
  endpoints?: { addresses: string[]; conditions?: { ready?: boolean }; targetRef?: { kind?: string; name?: string } }[];
}

/** A ready pod's admin listener. */
export interface AdminEndpoint {
  /** The pod's name (the endpoint's targetRef), else its address. */
  pod: string;
  /** host:port to dial: the pod's address, rewritten when the address map names it. */
  address: string;
}

/** One pod's answer: what `read` made of its response, or why there is none. */
export type PodAnswer<T> = { endpoint: AdminEndpoint; ok: true; value: T } | { endpoint: AdminEndpoint; ok: false; error: string };

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

/** The ready endpoints of the slices, once each (an endpoint can sit in two slices while they are rebalanced), sorted by pod. */
export function readyAdminEndpoints(slices: readonly EndpointSlice[], addressMap?: ReadonlyMap<string, string>): AdminEndpoint[] {
  const byAddress = new Map<string, AdminEndpoint>();
  for (const slice of slices) {
    const port = slice.ports?.find((p) => p.name === ADMIN_PORT_NAME)?.port;
    if (!port) continue;
    for (const ep of slice.endpoints ?? []) {
      // A missing `ready` means ready (the EndpointSlice API's rule); terminating pods are not ready.
      const ip = ep.addresses[0];
      if (ep.conditions?.ready === false || !ip) continue;
      const raw = `${ip.includes(':') ? `[${ip}]` : ip}:${port}`;
      const pod = ep.targetRef?.kind === 'Pod' && ep.targetRef.name ? ep.targetRef.name : raw;
      byAddress.set(raw, { pod, address: addressMap?.get(raw) ?? raw });
    }
  }
  return [...byAddress.values()].sort((a, b) => (a.pod < b.pod ? -1 : a.pod > b.pod ? 1 : 0));
}

/** fetch() says "fetch failed" and keeps the useful part (ECONNREFUSED, ...) in `cause`; an abort by the time limit says so. */
function describeFailure(e: unknown, timeoutMs: number): string {
  if (e instanceof DOMException && e.name === 'TimeoutError') return `no answer within ${timeoutMs / 1000} s`;
  const cause = (e as { cause?: unknown }).cause;
  if (cause instanceof Error) return `cannot connect (${(cause as NodeJS.ErrnoException).code ?? cause.message})`;
  return e instanceof Error ? e.message : String(e);
}

/** At most `max` tasks at a time, the others waiting their turn in order. */
class Limiter {
  private active = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(private readonly max: number) {}

  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.active < this.max) this.active++;
    else await new Promise<void>((resolve) => this.waiting.push(resolve));
    try {
      return await task();
    } finally {
      // Hand the slot to the next waiter directly, so a new caller cannot overtake it.
      const next = this.waiting.shift();
      if (next) next();
      else this.active--;
    }
  }
}

export interface PodAdminReaderOptions {
  /** Per pod, from sending the request to the end of the body. */
  timeoutMs?: number;
  /** Requests in flight at once, over every call of this reader. */
  concurrency?: number;
  /**
   * Rewrites a pod address before dialling it ("10.244.0.5:8081" ->
   * "127.0.0.1:18081"). For tests and debugging, where pods are simulated
   * and the serving processes run on this machine.
   */
  addressMap?: ReadonlyMap<string, string>;
}

export interface ReadOptions {
  /** Sent as `Authorization: Bearer <token>` (the samples endpoint wants it). */
  token?: string;
  /** Overrides the reader's time limit for this call. */
  timeoutMs?: number;
  /** PUT this JSON instead of a GET (the operator sets the pods' promotion analysis so). */
  putJson?: unknown;
}

export class PodAdminReader {
  private readonly limiter: Limiter;
  private readonly timeoutMs: number;

  constructor(private readonly o: PodAdminReaderOptions = {}) {
    this.limiter = new Limiter(o.concurrency ?? DEFAULT_ADMIN_CONCURRENCY);
    this.timeoutMs = o.timeoutMs ?? DEFAULT_ADMIN_TIMEOUT_MS;
  }

  /** The ready pods behind the Service `service` (a Model's Service is named after the Model). */
  async endpoints(client: KubeClient, namespace: string, service: string): Promise<AdminEndpoint[]> {
    const slices = await client.request<{ items: EndpointSlice[] }>('GET', `/apis/discovery.k8s.io/v1/namespaces/${encodeURIComponent(namespace)}/endpointslices`, {
      query: { labelSelector: `kubernetes.io/service-name=${service}` },
    });
    return readyAdminEndpoints(slices.items, this.o.addressMap);
  }

  /**
   * GETs `path` from every endpoint and hands each 2xx response to `read`
   * (which reads the body within the same time limit). A pod that cannot be
   * reached, answers otherwise, or whose body `read` rejects, is an answer
   * with `ok: false` and the reason; one pod never fails the others.
   */
  async getEach<T>(endpoints: readonly AdminEndpoint[], path: string, read: (res: Response) => Promise<T>, ro: ReadOptions = {}): Promise<PodAnswer<T>[]> {
    const timeoutMs = ro.timeoutMs ?? this.timeoutMs;
    const headers: Record<string, string> = ro.token ? { Authorization: `Bearer ${ro.token}` } : {};
    const body = ro.putJson === undefined ? undefined : JSON.stringify(ro.putJson);
    if (body !== undefined) headers['content-type'] = 'application/json';
    return Promise.all(
      endpoints.map((endpoint) =>
        this.limiter.run(async (): Promise<PodAnswer<T>> => {
          try {
            // The clock starts when the request is sent, not while it waits for a slot.
            const res = await fetch(`http://${endpoint.address}${path}`, {
              headers,
              ...(body !== undefined ? { method: 'PUT', body } : {}),
              signal: AbortSignal.timeout(timeoutMs),
            });
            if (!res.ok) return { endpoint, ok: false, error: `HTTP ${res.status}: ${(await res.text()).slice(0, 200)}` };
            return { endpoint, ok: true, value: await read(res) };
          } catch (e) {
            return { endpoint, ok: false, error: describeFailure(e, timeoutMs) };
          }
        }),
      ),
    );
  }

  /** endpoints() then getEach(): every ready pod of the Service, asked for `path`. */
  async getFromReadyPods<T>(
    client: KubeClient,
    namespace: string,
    service: string,
    path: string,
    read: (res: Response) => Promise<T>,
    ro: ReadOptions = {},
  ): Promise<PodAnswer<T>[]> {
    return this.getEach(await this.endpoints(client, namespace, service), path, read, ro);
  }
}
