// A controller: a work queue of namespace/name keys fed by informers, and N
// workers calling a reconcile function. Events on owned children map to their
// controlling owner; any other watched object maps through a function.
import type { Logger } from 'pino';
import type { Informer } from './informer.js';
import { objectKey } from './informer.js';
import { isConflict, type KubeObject } from './kube-client.js';
import type { RuntimeMetrics } from './metrics.js';
import { WorkQueue } from './workqueue.js';
import { defaultControllerRateLimiter } from './rate-limiter.js';

export interface Request {
  namespace: string;
  name: string;
}

export interface ReconcileResult {
  /** Reconcile this object again after this long even if nothing changes. */
  requeueAfterMs?: number;
  /**
   * Try again with the key's exponential back-off, as after an error, but
   * without counting one: the problem is already reported in status (a child
   * the API server refuses, a store that does not answer), so the log and
   * the error metrics stay quiet. controller-runtime's Result{Requeue: true}.
   */
  requeue?: boolean;
}

export type ReconcileFn = (req: Request) => Promise<ReconcileResult | void>;

export interface Watch<T extends KubeObject = KubeObject> {
  informer: Informer<T>;
  map: (obj: T) => Request[];
}

export interface ControllerOptions<P extends KubeObject> {
  /** Used in metrics labels and logs, e.g. "model". */
  name: string;
  primary: Informer<P>;
  /** Children whose controller ownerReference points at a primary object. */
  owns?: Informer<KubeObject>[];
  watches?: Watch[];
  reconcile: ReconcileFn;
  workers?: number;
  metrics?: RuntimeMetrics;
  logger: Logger;
}

const DEFAULT_WORKERS = 2;

export const requestKey = (r: Request): string => `${r.namespace}/${r.name}`;

function parseKey(key: string): Request {
  const i = key.indexOf('/');
  return { namespace: key.slice(0, i), name: key.slice(i + 1) };
}

export class Controller<P extends KubeObject> {
  readonly queue: WorkQueue;
  private workers: Promise<void>[] = [];
  private readonly primaryKind: string;
  private readonly primaryApiVersion: string;

  constructor(private readonly opts: ControllerOptions<P>) {
    // Zero workers would start, sync its caches and never reconcile anything.
    const workers = opts.workers ?? DEFAULT_WORKERS;
    if (!Number.isSafeInteger(workers) || workers < 1) {
      throw new RangeError(`controller ${opts.name}: workers must be a positive integer, got ${workers}`);
    }
    this.queue = new WorkQueue({ name: opts.name, rateLimiter: defaultControllerRateLimiter(), metrics: opts.metrics });
    this.primaryKind = opts.primary.type.kind;
    this.primaryApiVersion = opts.primary.type.group
      ? `${opts.primary.type.group}/${opts.primary.type.version}`
      : opts.primary.type.version;
    this.registerHandlers();
    this.initMetrics(workers);
  }

  /** Results a reconcile can end with (the `result` label of controller_runtime_reconcile_total). */
  static readonly RESULTS = ['success', 'error', 'requeue_after'] as const;

  /** Every series of this controller at zero (controller-runtime's initMetrics), and its worker count. */
  private initMetrics(workers: number): void {
    const { metrics, name: controller } = this.opts;
    if (!metrics) return;
    for (const result of Controller.RESULTS) metrics.reconcileTotal.inc({ controller, result }, 0);
    metrics.reconcileErrors.inc({ controller }, 0);
    metrics.activeWorkers.set({ controller }, 0);
    metrics.maxConcurrentReconciles.set({ controller }, workers);
  }

  private enqueue = (r: Request) => this.queue.add(requestKey(r));

  private registerHandlers(): void {
    const enqueueObj = (o: KubeObject) => this.queue.add(objectKey(o));
    this.opts.primary.addHandler({
      add: enqueueObj,
      // A status-only change (our own write) bumps resourceVersion but not
      // generation; it still must be enqueued for resync, so enqueue all.
      update: (_old, o) => enqueueObj(o),
      delete: enqueueObj,
    });
    const toOwner = (o: KubeObject) => {
      const ref = o.metadata.ownerReferences?.find(
        (r) => r.controller && r.kind === this.primaryKind && r.apiVersion === this.primaryApiVersion,
      );
      if (ref && o.metadata.namespace) this.enqueue({ namespace: o.metadata.namespace, name: ref.name });
    };
    for (const child of this.opts.owns ?? []) {
      child.addHandler({
        add: toOwner,
        update: (old, o) => {
          // A resync re-delivers the same object; the owner gets its own resync.
          if (old.metadata.resourceVersion !== o.metadata.resourceVersion) toOwner(o);
        },
        delete: toOwner,
      });
    }
    for (const w of this.opts.watches ?? []) {
      const mapped = (o: KubeObject) => w.map(o).forEach(this.enqueue);
      w.informer.addHandler({
        add: mapped,
        update: (old, o) => {
          // A resync re-delivers the very same object: skipped. A watched object another controller wrote and
          // remembered comes with the same resourceVersion but as a new object: that is news here (the Model
          // controller records a version's data set; a DriftMonitor following it must hear of it).
          if (old !== o) mapped(o);
        },
        delete: mapped,
      });
    }
  }

  /** Starts workers; informers must already be synced (the manager does that). */
  start(): void {
    // Objects listed before our handlers ran (or before we led) still need a pass.
    for (const o of this.opts.primary.list()) this.queue.add(objectKey(o));
    const n = this.opts.workers ?? DEFAULT_WORKERS;
    for (let i = 0; i < n; i++) this.workers.push(this.work());
  }

  async stop(): Promise<void> {
    await this.queue.shutDownWithDrain();
    await Promise.all(this.workers);
    this.workers = [];
  }

  private async work(): Promise<void> {
    const { metrics, name, logger } = this.opts;
    for (;;) {
      const key = await this.queue.get();
      if (key === undefined) return;
      const req = parseKey(key);
      const started = performance.now();
      metrics?.activeWorkers.inc({ controller: name });
      try {
        const res = await this.opts.reconcile(req);
        if (res?.requeue) {
          this.queue.addRateLimited(key);
          metrics?.reconcileTotal.inc({ controller: name, result: 'requeue' });
        } else if (res?.requeueAfterMs !== undefined) {
          this.queue.forget(key);
          this.queue.addAfter(key, res.requeueAfterMs);
          metrics?.reconcileTotal.inc({ controller: name, result: 'requeue_after' });
        } else {
          this.queue.forget(key);
          metrics?.reconcileTotal.inc({ controller: name, result: 'success' });
        }
      } catch (err) {
        this.queue.addRateLimited(key);
        if (isConflict(err)) {
          // A 409: someone (often our own previous write, not yet in the cache)
          // changed the object since we read it. Routine: retried on fresh data,
          // counted as a requeue as controller-runtime does, never as an error.
          metrics?.reconcileTotal.inc({ controller: name, result: 'requeue' });
          logger.debug({ controller: name, namespace: req.namespace, name: req.name, err }, 'conflict, requeued');
        } else {
          metrics?.reconcileTotal.inc({ controller: name, result: 'error' });
          metrics?.reconcileErrors.inc({ controller: name });
          logger.error({ controller: name, namespace: req.namespace, name: req.name, err, retries: this.queue.numRequeues(key) }, 'reconcile failed');
        }
      } finally {
        metrics?.activeWorkers.dec({ controller: name });
        metrics?.reconcileTime.observe({ controller: name }, (performance.now() - started) / 1000);
        this.queue.done(key);
      }
    }
  }
}
