// Requests and notices between the primary process of a multi-worker pod and
// its workers, over the IPC channel node:cluster opens (JSON messages). Each
// side answers the other's requests with handlers; a request that gets no
// answer in time, or whose peer goes away, is rejected. Messages that are not
// ours (node:cluster's own, prom-client's) are left alone.

const TAG = 'fluxora-pod';

interface Message {
  tag: typeof TAG;
  kind: string;
  body?: unknown;
  /** Set on a request that wants an answer. */
  id?: number;
  /** Set on an answer: the request's id. */
  re?: number;
  error?: string;
}

type Handler = (body: unknown) => unknown;

interface Pending {
  resolve: (v: unknown) => void;
  reject: (e: Error) => void;
  timer: NodeJS.Timeout;
}

export class PodChannel {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private closed: Error | undefined;

  /**
   * `post` sends a message (worker.send or process.send) and calls back with
   * the error when it cannot; `handlers` answer the peer's requests and notices.
   */
  constructor(
    private readonly post: (m: Message, done: (err: Error | null) => void) => void,
    private readonly handlers: Record<string, Handler>,
  ) {}

  /** A message that wants no answer. */
  notify(kind: string, body?: unknown): void {
    if (this.closed) return;
    this.post({ tag: TAG, kind, body }, () => undefined);
  }

  request<T>(kind: string, body: unknown, timeoutMs: number): Promise<T> {
    if (this.closed) return Promise.reject(this.closed);
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`no answer to "${kind}" within ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject, timer });
      this.post({ tag: TAG, kind, body, id }, (err) => {
        if (err) this.settle(id, undefined, err.message);
      });
    });
  }

  /** Feeds a message from the peer; returns false when it is not ours. */
  receive(raw: unknown): boolean {
    const m = raw as Partial<Message> | null;
    if (typeof m !== 'object' || m === null || m.tag !== TAG || typeof m.kind !== 'string') return false;
    if (m.re !== undefined) {
      this.settle(m.re, m.body, m.error);
      return true;
    }
    const { id, kind } = m;
    const handler = this.handlers[kind];
    void (async () => {
      let body: unknown;
      let error: string | undefined;
      try {
        if (!handler) throw new Error(`no handler for "${kind}"`);
        body = await handler(m.body);
      } catch (e) {
        error = e instanceof Error ? e.message : String(e);
      }
      if (id !== undefined && !this.closed) this.post({ tag: TAG, kind, re: id, body, ...(error !== undefined ? { error } : {}) }, () => undefined);
    })();
    return true;
  }

  /** The peer is gone: pending and later requests fail with `reason`. */
  close(reason: Error): void {
    this.closed ??= reason;
    for (const [id] of this.pending) this.settle(id, undefined, reason.message);
  }

  private settle(id: number, body: unknown, error: string | undefined): void {
    const p = this.pending.get(id);
    if (!p) return;
    this.pending.delete(id);
    clearTimeout(p.timer);
    if (error !== undefined) p.reject(new Error(error));
    else p.resolve(body);
  }
}
