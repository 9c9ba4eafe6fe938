// A small HTTP client for the Kubernetes API. @kubernetes/client-node loads
// the kubeconfig and supplies TLS material and credentials; the requests
// themselves go through one keep-alive agent so we control retries, count
// every request (rest_client_requests_total) and stream watches line by line.
import https from 'node:https';
import http from 'node:http';
import { KubeConfig } from '@kubernetes/client-node';
import type { RuntimeMetrics } from './metrics.js';

export interface ObjectMeta {
  name: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  generation?: number;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  ownerReferences?: OwnerReference[];
  creationTimestamp?: string;
  deletionTimestamp?: string;
  finalizers?: string[];
  managedFields?: unknown[];
}

export interface OwnerReference {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
  controller?: boolean;
  blockOwnerDeletion?: boolean;
}

/** The shape every Kubernetes object shares; kinds add spec/status/data. */
export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: ObjectMeta;
}

/** Where a resource lives in the REST API. */
export interface ResourceType {
  group: string; // "" for the core group
  version: string;
  kind: string;
  plural: string;
  namespaced: boolean;
}

export function apiVersionOf(t: ResourceType): string {
  return t.group === '' ? t.version : `${t.group}/${t.version}`;
}

export function resourcePath(t: ResourceType, namespace?: string, name?: string, subresource?: string): string {
  let p = t.group === '' ? `/api/${t.version}` : `/apis/${t.group}/${t.version}`;
  if (t.namespaced && namespace !== undefined) p += `/namespaces/${encodeURIComponent(namespace)}`;
  p += `/${t.plural}`;
  if (name !== undefined) p += `/${encodeURIComponent(name)}`;
  if (subresource !== undefined) p += `/${subresource}`;
  return p;
}

/** An error answered by the API server, carrying its Status object's reason. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly reason: string,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

export const isNotFound = (e: unknown): boolean => e instanceof ApiError && e.status === 404;
export const isConflict = (e: unknown): boolean => e instanceof ApiError && e.status === 409;
export const isAlreadyExists = (e: unknown): boolean =>
  e instanceof ApiError && e.status === 409 && e.reason === 'AlreadyExists';
export const isGone = (e: unknown): boolean => e instanceof ApiError && e.status === 410;
/**
 * The API server refused the object itself: invalid (422), malformed (400),
 * or forbidden by admission, a quota or RBAC (403). Sending it again gets
 * the same answer until a person changes something; the message says what.
 */
export const isRefused = (e: unknown): e is ApiError => e instanceof ApiError && (e.status === 400 || e.status === 403 || e.status === 422);

export type Query = Record<string, string | number | boolean | undefined>;

export interface RequestOptions {
  query?: Query;
  body?: unknown;
  contentType?: string;
  signal?: AbortSignal;
  timeoutMs?: number;
}

export interface KubeClientOptions {
  userAgent?: string;
  metrics?: RuntimeMetrics;
  /** Upper bound on parallel connections to the API server. */
  maxSockets?: number;
}

function buildQuery(q: Query | undefined): string {
  if (!q) return '';
  const parts: string[] = [];
  for (const [k, v] of Object.entries(q)) {
    if (v === undefined) continue;
    parts.push(`${encodeURIComponent(k)}=${encodeURIComponent(String(v))}`);
  }
  return parts.length ? `?${parts.join('&')}` : '';
}

export class KubeClient {
  private readonly server: URL;
  private readonly agent: http.Agent;
  private baseOptions: Promise<https.RequestOptions>;

  constructor(
    readonly kubeConfig: KubeConfig,
    private readonly opts: KubeClientOptions = {},
  ) {
    const cluster = kubeConfig.getCurrentCluster();
    if (!cluster) throw new Error('kubeconfig has no current cluster');
    this.server = new URL(cluster.server);
    const isHttps = this.server.protocol === 'https:';
    const agentOpts = { keepAlive: true, maxSockets: opts.maxSockets ?? 32 };
    this.agent = isHttps ? new https.Agent(agentOpts) : new http.Agent(agentOpts);
    this.baseOptions = this.loadAuth();
  }

  static fromFile(path: string, opts?: KubeClientOptions): KubeClient {
    const kc = new KubeConfig();
    kc.loadFromFile(path);
    return new KubeClient(kc, opts);
  }

  /** Loads $KUBECONFIG, ~/.kube/config or the in-cluster service account. */
  static fromDefault(opts?: KubeClientOptions): KubeClient {
    const kc = new KubeConfig();
    kc.loadFromDefault();
    return new KubeClient(kc, opts);
  }

  private async loadAuth(): Promise<https.RequestOptions> {
    const o: https.RequestOptions = {};
    // Fills ca/cert/key and Authorization (tokens, exec plugins, in-cluster token file).
    await this.kubeConfig.applyToHTTPSOptions(o);
    return o;
  }

  /** Re-reads credentials: in-cluster tokens are rotated on disk. */
  refreshAuth(): void {
    this.baseOptions = this.loadAuth();
  }

  private async open(method: string, path: string, o: RequestOptions): Promise<http.IncomingMessage> {
    const base = await this.baseOptions;
    const headers: Record<string, string> = {
      ...((base.headers as Record<string, string> | undefined) ?? {}),
      Accept: 'application/json',
      'User-Agent': this.opts.userAgent ?? 'fluxora',
    };
    let payload: Buffer | undefined;
    if (o.body !== undefined) {
      payload = Buffer.from(typeof o.body === 'string' ? o.body : JSON.stringify(o.body));
      headers['Content-Type'] = o.contentType ?? 'application/json';
      headers['Content-Length'] = String(payload.length);
    }
    const mod = this.server.protocol === 'https:' ? https : http;
    return new Promise((resolve, reject) => {
      const req = mod.request(
        {
          ...base,
          headers,
          agent: this.agent,
          method,
          hostname: this.server.hostname,
          port: this.server.port,
          path: this.server.pathname.replace(/\/$/, '') + path + buildQuery(o.query),
          signal: o.signal,
          timeout: o.timeoutMs,
        },
        (res) => {
          this.opts.metrics?.restClientRequests.inc({ method, code: String(res.statusCode ?? 0) });
          resolve(res);
        },
      );
      req.on('timeout', () => req.destroy(new Error(`request ${method} ${path} timed out`)));
      req.on('error', (err) => {
        this.opts.metrics?.restClientRequests.inc({ method, code: '<error>' });
        reject(err);
      });
      req.end(payload);
    });
  }

  private static async readBody(res: http.IncomingMessage): Promise<string> {
    const chunks: Buffer[] = [];
    for await (const c of res) chunks.push(c as Buffer);
    return Buffer.concat(chunks).toString('utf8');
  }

  private static toError(status: number, text: string): ApiError {
    try {
      const s = JSON.parse(text) as { reason?: string; message?: string; details?: unknown };
      return new ApiError(status, s.reason ?? 'Unknown', s.message ?? text, s.details);
    } catch {
      return new ApiError(status, 'Unknown', text.slice(0, 500) || `HTTP ${status}`);
    }
  }

  async request<T>(method: string, path: string, o: RequestOptions = {}): Promise<T> {
    const res = await this.open(method, path, { timeoutMs: 30_000, ...o });
    const text = await KubeClient.readBody(res);
    const status = res.statusCode ?? 0;
    if (status < 200 || status >= 300) throw KubeClient.toError(status, text);
    return (text ? JSON.parse(text) : undefined) as T;
  }

  get<T extends KubeObject>(t: ResourceType, namespace: string | undefined, name: string): Promise<T> {
    return this.request<T>('GET', resourcePath(t, namespace, name));
  }

  /** The objects of a type, optionally by label, in one unpaged request: for small label-selected sets (informers page). */
  async list<T extends KubeObject>(t: ResourceType, namespace: string | undefined, labelSelector?: string): Promise<T[]> {
    const res = await this.request<{ items: T[] }>('GET', resourcePath(t, namespace), labelSelector ? { query: { labelSelector } } : {});
    return res.items;
  }

  /** GET that answers undefined instead of throwing on 404. */
  async getOrUndefined<T extends KubeObject>(t: ResourceType, namespace: string | undefined, name: string) {
    try {
      return await this.get<T>(t, namespace, name);
    } catch (e) {
      if (isNotFound(e)) return undefined;
      throw e;
    }
  }

  create<T extends KubeObject>(t: ResourceType, obj: T): Promise<T> {
    return this.request<T>('POST', resourcePath(t, obj.metadata.namespace), { body: obj });
  }

  replace<T extends KubeObject>(t: ResourceType, obj: T, subresource?: string): Promise<T> {
    return this.request<T>('PUT', resourcePath(t, obj.metadata.namespace, obj.metadata.name, subresource), {
      body: obj,
    });
  }

  /** Deletes with propagationPolicy Background unless query.propagationPolicy says otherwise (Foreground, Orphan). */
  async delete(t: ResourceType, namespace: string | undefined, name: string, query?: Query): Promise<void> {
    const { propagationPolicy = 'Background', ...rest } = query ?? {};
    try {
      await this.request('DELETE', resourcePath(t, namespace, name), {
        query: rest,
        body: { kind: 'DeleteOptions', apiVersion: 'v1', propagationPolicy },
      });
    } catch (e) {
      if (!isNotFound(e)) throw e;
    }
  }

  /** Opens a streaming GET (watch) and returns the raw response. */
  async stream(path: string, query: Query, signal: AbortSignal): Promise<http.IncomingMessage> {
    const res = await this.open('GET', path, { query, signal });
    const status = res.statusCode ?? 0;
    if (status < 200 || status >= 300) throw KubeClient.toError(status, await KubeClient.readBody(res));
    return res;
  }

  close(): void {
    this.agent.destroy();
  }
}
