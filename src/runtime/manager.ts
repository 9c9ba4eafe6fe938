// Wires informers, controllers, leader election and the HTTP endpoints
// together and owns their lifecycle:
//   start: endpoints -> informers (synced) -> [win the lease] -> controllers
//   stop:  controllers drain their in-flight reconciles -> lease released ->
//          informers stop -> endpoints close.
// Every replica keeps warm caches so a follower takes over as soon as it wins
// the lease; only the leader runs controllers, so only the leader writes.
import type { Logger } from 'pino';
import type { Controller } from './controller.js';
import { Informer, type InformerOptions } from './informer.js';
import type { KubeClient, KubeObject, ResourceType } from './kube-client.js';
import { LeaderElector } from './leader-election.js';
import type { RuntimeMetrics } from './metrics.js';
import { serveMetrics, serveProbes, type Listener } from './http-endpoints.js';

export interface ManagerOptions {
  client: KubeClient;
  logger: Logger;
  metrics: RuntimeMetrics;
  leaderElection?: { namespace: string; name: string; identity: string; leaseDurationMs?: number; renewDeadlineMs?: number; retryPeriodMs?: number };
  metricsBind?: { host?: string; port: number };
  probeBind?: { host?: string; port: number };
  resyncPeriodMs?: number;
  namespace?: string;
  /** Called when leadership is lost; the default exits the process like controller-runtime. */
  onLeadershipLost?: () => void;
}

export class Manager {
  private readonly informers = new Map<string, Informer<KubeObject>>();
  private readonly controllers: Controller<KubeObject>[] = [];
  private elector: LeaderElector | undefined;
  private listeners: Listener[] = [];
  private leading = false;
  private stopping: Promise<void> | undefined;
  private electionRun: Promise<void> | undefined;
  metricsPort: number | undefined;
  probePort: number | undefined;

  constructor(readonly opts: ManagerOptions) {}

  get client(): KubeClient {
    return this.opts.client;
  }

  /** One shared informer per resource type and selector. */
  informer<T extends KubeObject>(type: ResourceType, o: Omit<InformerOptions, 'logger'> = {}): Informer<T> {
    const key = `${type.group}/${type.version}/${type.plural}?${o.labelSelector ?? ''}`;
    let inf = this.informers.get(key);
    if (!inf) {
      inf = new Informer<KubeObject>(this.opts.client, type, {
        namespace: this.opts.namespace,
        resyncPeriodMs: this.opts.resyncPeriodMs,
        logger: this.opts.logger,
        ...o,
      });
      this.informers.set(key, inf);
    }
    return inf as unknown as Informer<T>;
  }

  addController<T extends KubeObject>(c: Controller<T>): void {
    this.controllers.push(c);
  }

  isLeader(): boolean {
    return this.leading;
  }

  async start(): Promise<void> {
    const { logger } = this.opts;
    if (this.opts.metricsBind) {
      const l = await serveMetrics(this.opts.metricsBind, this.opts.metrics.registry);
      this.metricsPort = l.port;
      this.listeners.push(l);
    }
    if (this.opts.probeBind) {
      const synced = () => [...this.informers.values()].every((i) => i.hasSynced());
      const l = await serveProbes(this.opts.probeBind, {
        healthz: [() => (this.stopping ? 'shutting down' : undefined)],
        readyz: [() => (synced() ? undefined : 'informers not synced'), () => (this.stopping ? 'shutting down' : undefined)],
      });
      this.probePort = l.port;
      this.listeners.push(l);
    }
    await Promise.all([...this.informers.values()].map((i) => i.start()));
    logger.info({ informers: this.informers.size }, 'caches synced');
    if (!this.opts.leaderElection) {
      this.startControllers();
      return;
    }
    this.elector = new LeaderElector(this.opts.client, { ...this.opts.leaderElection, logger, metrics: this.opts.metrics });
    this.electionRun = this.elector.run({
      onStartedLeading: () => this.startControllers(),
      onStoppedLeading: () => {
        // Another replica may already lead: stop writing now, then let the
        // kubelet restart us as a clean follower.
        this.leading = false;
        void Promise.all(this.controllers.map((c) => c.stop())).finally(() => {
          (this.opts.onLeadershipLost ?? (() => process.exit(1)))();
        });
      },
    });
  }

  private startControllers(): void {
    this.leading = true;
    for (const c of this.controllers) c.start();
    this.opts.logger.info({ controllers: this.controllers.length }, 'controllers started');
  }

  stop(): Promise<void> {
    this.stopping ??= (async () => {
      await Promise.all(this.controllers.map((c) => c.stop()));
      this.leading = false;
      await this.elector?.stop();
      await this.electionRun;
      await Promise.all([...this.informers.values()].map((i) => i.stop()));
      await Promise.all(this.listeners.map((l) => l.close()));
      this.opts.client.close();
    })();
    return this.stopping;
  }
}
