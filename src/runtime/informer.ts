// A reflector + indexer: keeps an in-memory copy of one resource type by
// list-then-watch, and tells handlers about changes. client-node's own
// informer stops on non-410 errors and has no resync; this one
//   - re-lists when the server says the resourceVersion is too old (410 Gone),
//   - re-watches from the last seen resourceVersion when a watch ends or the
//     connection drops, with capped exponential back-off (no hot loop while the
//     API server is down),
//   - asks for bookmarks so a quiet watch still advances its resourceVersion,
//   - re-delivers every object to handlers every resync period, so a missed
//     event or an external change that produced no event is eventually reconciled.
import { createInterface } from 'node:readline';
import type { Logger } from 'pino';
import { ApiError, isGone, resourcePath, type KubeClient, type KubeObject, type ResourceType } from './kube-client.js';

export interface EventHandlers<T> {
  add?(obj: T): void;
  update?(oldObj: T, newObj: T): void;
  delete?(obj: T): void;
}

export interface InformerOptions {
  namespace?: string;
  labelSelector?: string;
  /** Re-deliver all objects as updates this often (0 disables). */
  resyncPeriodMs?: number;
  logger?: Logger;
  /** Server-side watch timeout; the watch is then re-opened from the last resourceVersion. */
  watchTimeoutSeconds?: number;
}

interface WatchEvent<T> {
  type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';
  object: T | { kind: 'Status'; code?: number; reason?: string; message?: string };
}

interface ListResponse<T> {
  metadata: { resourceVersion: string; continue?: string };
  items: T[];
}

export const objectKey = (o: { metadata: { namespace?: string; name: string } }): string =>
  o.metadata.namespace ? `${o.metadata.namespace}/${o.metadata.name}` : o.metadata.name;

/** Sleeps unless aborted; removes its abort listener either way (no leak across retries). */
const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    if (signal.aborted) return resolve();
    const onAbort = () => {
      clearTimeout(t);
      resolve();
    };
    const t = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });

export class Informer<T extends KubeObject> {
  private readonly store = new Map<string, T>();
  private readonly handlers: EventHandlers<T>[] = [];
  private resourceVersion = '';
  private synced = false;
  private abort = new AbortController();
  private resyncTimer: NodeJS.Timeout | undefined;
  private watchAbort: AbortController | undefined;
  private runLoop: Promise<void> | undefined;
  /** Times a full list was needed (first sync, 410s): tests and metrics read this. */
  relistCount = 0;

  constructor(
    private readonly client: KubeClient,
    readonly type: ResourceType,
    private readonly opts: InformerOptions = {},
  ) {}

  addHandler(h: EventHandlers<T>): void {
    this.handlers.push(h);
  }

  hasSynced(): boolean {
    return this.synced;
  }

  get(namespace: string | undefined, name: string): T | undefined {
    return this.store.get(namespace ? `${namespace}/${name}` : name);
  }

  list(namespace?: string): T[] {
    const all = [...this.store.values()];
    return namespace === undefined ? all : all.filter((o) => o.metadata.namespace === namespace);
  }

  /**
   * Puts an object this process has just written into the cache ahead of its
   * watch event (client-go's mutation cache). The next reconcile then starts
   * from what was written, not from the copy before it, whose resourceVersion
   * would make a guarded write fail with 409 Conflict. Ignored if the cache
   * already holds a newer version.
   */
  remember(obj: T): void {
    const key = objectKey(obj);
    const old = this.store.get(key);
    if (old && (compareVersions(obj, old) ?? 1) <= 0) return;
    this.store.set(key, obj);
  }

  size(): number {
    return this.store.size;
  }

  /** Starts list+watch; resolves once the first list has been delivered. */
  async start(): Promise<void> {
    if (this.runLoop) return this.waitForSync();
    this.abort = new AbortController();
    this.runLoop = this.run(this.abort.signal);
    const period = this.opts.resyncPeriodMs ?? 0;
    if (period > 0) {
      this.resyncTimer = setInterval(() => this.resync(), period);
      this.resyncTimer.unref();
    }
    return this.waitForSync();
  }

  private async waitForSync(): Promise<void> {
    while (!this.synced && !this.abort.signal.aborted) await sleep(20, this.abort.signal);
  }

  async stop(): Promise<void> {
    this.abort.abort();
    if (this.resyncTimer) clearInterval(this.resyncTimer);
    await this.runLoop;
    this.runLoop = undefined;
  }

  /**
   * Drops the current watch connection, optionally pretending our last seen
   * resourceVersion was `fromResourceVersion`. For fault-injection tests: a
   * stale version makes the server answer 410 Gone, exercising the re-list.
   */
  interruptWatch(fromResourceVersion?: string): void {
    if (fromResourceVersion !== undefined) this.resourceVersion = fromResourceVersion;
    this.watchAbort?.abort();
  }

  private resync(): void {
    for (const obj of this.store.values()) this.emit((h) => h.update?.(obj, obj));
  }

  private emit(f: (h: EventHandlers<T>) => void): void {
    for (const h of this.handlers) {
      try {
        f(h);
      } catch (err) {
        this.opts.logger?.error({ err, resource: this.type.plural }, 'informer handler threw');
      }
    }
  }

  private async run(signal: AbortSignal): Promise<void> {
    let failures = 0;
    let needList = true;
    while (!signal.aborted) {
      try {
        if (needList) {
          await this.listAll(signal);
          needList = false;
        }
        // One controller per watch, linked to the informer's: stopping the
        // informer or interruptWatch() ends just this connection.
        const wc = new AbortController();
        this.watchAbort = wc;
        const onStop = () => wc.abort();
        signal.addEventListener('abort', onStop, { once: true });
        try {
          await this.watch(wc.signal);
        } finally {
          signal.removeEventListener('abort', onStop);
        }
        failures = 0; // a watch that ended normally (server timeout) is healthy
      } catch (err) {
        if (signal.aborted) break;
        if (this.watchAbort?.signal.aborted) continue; // interrupted on purpose: re-watch now
        if (isGone(err)) {
          // Our resourceVersion is older than etcd's compaction window: start over.
          this.opts.logger?.info({ resource: this.type.plural }, 'watch expired (410 Gone), re-listing');
          needList = true;
          continue;
        }
        failures++;
        const delay = Math.min(30_000, 250 * 2 ** Math.min(failures, 7)) * (0.8 + Math.random() * 0.4);
        this.opts.logger?.warn(
          { resource: this.type.plural, err, retryInMs: Math.round(delay) },
          'list/watch failed, backing off',
        );
        await sleep(delay, signal);
      }
    }
  }

  private async listAll(signal: AbortSignal): Promise<void> {
    const items: T[] = [];
    let cont: string | undefined;
    let rv = '';
    do {
      const page = await this.client.request<ListResponse<T>>('GET', resourcePath(this.type, this.opts.namespace), {
        query: { labelSelector: this.opts.labelSelector, limit: 500, continue: cont },
        signal,
        timeoutMs: 60_000,
      });
      for (const item of page.items) {
        // List items omit apiVersion/kind; fill them so handlers see whole objects.
        item.apiVersion = this.type.group ? `${this.type.group}/${this.type.version}` : this.type.version;
        item.kind = this.type.kind;
        items.push(item);
      }
      cont = page.metadata.continue || undefined;
      rv = page.metadata.resourceVersion;
    } while (cont);
    this.relistCount++;
    this.replace(items);
    this.resourceVersion = rv;
    this.synced = true;
  }

  /** Swaps the store for a fresh list, emitting the differences as events. */
  private replace(items: T[]): void {
    const fresh = new Map(items.map((o) => [objectKey(o), o]));
    for (const [key, old] of this.store) {
      if (!fresh.has(key)) {
        this.store.delete(key);
        this.emit((h) => h.delete?.(old));
      }
    }
    for (const [key, obj] of fresh) {
      const old = this.store.get(key);
      this.store.set(key, obj);
      if (!old) this.emit((h) => h.add?.(obj));
      else if (old.metadata.resourceVersion !== obj.metadata.resourceVersion) this.emit((h) => h.update?.(old, obj));
    }
  }

  private async watch(signal: AbortSignal): Promise<void> {
    const timeoutSeconds = this.opts.watchTimeoutSeconds ?? 300 + Math.floor(Math.random() * 300);
    const res = await this.client.stream(
      resourcePath(this.type, this.opts.namespace),
      {
        watch: 1,
        resourceVersion: this.resourceVersion,
        allowWatchBookmarks: true,
        labelSelector: this.opts.labelSelector,
        timeoutSeconds,
      },
      signal,
    );
    // The server closes the watch after timeoutSeconds; if it is still open
    // well past that, the connection is dead without having said so (seen
    // after an API server crash): drop it and re-watch.
    const watchdog = setTimeout(() => res.destroy(new Error('watch outlived its timeout')), (timeoutSeconds + 30) * 1000);
    watchdog.unref();
    const lines = createInterface({ input: res, crlfDelay: Infinity });
    // readline does not end on an aborted or errored input: close it ourselves
    // so the loop below always finishes.
    const end = () => lines.close();
    signal.addEventListener('abort', end, { once: true });
    res.once('error', end);
    res.once('aborted', end);
    try {
      for await (const line of lines) {
        if (!line) continue;
        const ev = JSON.parse(line) as WatchEvent<T>;
        this.apply(ev);
      }
    } finally {
      clearTimeout(watchdog);
      signal.removeEventListener('abort', end);
      lines.close();
      res.destroy();
    }
  }

  private apply(ev: WatchEvent<T>): void {
    if (ev.type === 'ERROR') {
      const s = ev.object as { code?: number; reason?: string; message?: string };
      throw new ApiError(s.code ?? 500, s.reason ?? 'Unknown', s.message ?? 'watch error');
    }
    const obj = ev.object as T;
    if (obj.metadata.resourceVersion) this.resourceVersion = obj.metadata.resourceVersion;
    if (ev.type === 'BOOKMARK') return;
    const key = objectKey(obj);
    const old = this.store.get(key);
    if (ev.type === 'DELETED') {
      this.store.delete(key);
      this.emit((h) => h.delete?.(obj));
      return;
    }
    // An older copy than the one we hold (remembered after a write) must not
    // replace it. The event of a version we remembered is still announced:
    // another controller may be waiting for it (the RetrainJob controller
    // records a version in a Model's status; the Model controller rolls to it).
    if (old && (compareVersions(old, obj) ?? 0) > 0) return;
    this.store.set(key, obj);
    if (old) this.emit((h) => h.update?.(old, obj));
    else this.emit((h) => h.add?.(obj));
  }
}

/**
 * Orders two versions of one object: > 0 when `a` is later. resourceVersions
 * are opaque to clients, but etcd-backed ones are its revision numbers;
 * undefined when either is not a number (no order is known).
 */
function compareVersions(a: KubeObject, b: KubeObject): number | undefined {
  const x = a.metadata.resourceVersion;
  const y = b.metadata.resourceVersion;
  if (!x || !y || !/^\d+$/.test(x) || !/^\d+$/.test(y)) return undefined;
  const d = BigInt(x) - BigInt(y);
  return d > 0n ? 1 : d < 0n ? -1 : 0;
}
