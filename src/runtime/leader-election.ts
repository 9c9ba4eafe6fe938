// Lease-based leader election with client-go's semantics, so two operator
// replicas never reconcile at once:
//  - a candidate takes the Lease only when its holder has not renewed it for
//    leaseDuration as measured on *our* clock since we last saw it change
//    (no trust in the other node's clock);
//  - the leader renews every retryPeriod and steps down (callback, then the
//    process exits) if it cannot renew within renewDeadline, which is shorter
//    than leaseDuration, so it stops before anyone else may start;
//  - on graceful shutdown the leader releases the Lease so a successor starts at once.
import type { Logger } from 'pino';
import { isConflict, isNotFound, type KubeClient, type KubeObject, type ResourceType } from './kube-client.js';
import type { RuntimeMetrics } from './metrics.js';

export const LeaseResource: ResourceType = {
  group: 'coordination.k8s.io',
  version: 'v1',
  kind: 'Lease',
  plural: 'leases',
  namespaced: true,
};

interface LeaseSpec {
  holderIdentity?: string;
  leaseDurationSeconds?: number;
  acquireTime?: string;
  renewTime?: string;
  leaseTransitions?: number;
}

export interface Lease extends KubeObject {
  spec: LeaseSpec;
}

export interface LeaderElectionOptions {
  namespace: string;
  name: string;
  identity: string;
  leaseDurationMs?: number;
  renewDeadlineMs?: number;
  retryPeriodMs?: number;
  logger: Logger;
  metrics?: RuntimeMetrics;
}

export interface LeaderCallbacks {
  onStartedLeading: () => void | Promise<void>;
  onStoppedLeading: () => void | Promise<void>;
}

/** metav1.MicroTime wants exactly six fractional digits. */
const microTime = (ms: number) => new Date(ms).toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');

export class LeaderElector {
  private leading = false;
  private stopped = false;
  private observed: { holder: string; renewTime: string } | undefined;
  private observedAt = 0;
  private wake: (() => void) | undefined;
  private readonly leaseDurationMs: number;
  private readonly renewDeadlineMs: number;
  private readonly retryPeriodMs: number;

  constructor(
    private readonly client: KubeClient,
    private readonly opts: LeaderElectionOptions,
  ) {
    this.leaseDurationMs = opts.leaseDurationMs ?? 15_000;
    this.renewDeadlineMs = opts.renewDeadlineMs ?? 10_000;
    this.retryPeriodMs = opts.retryPeriodMs ?? 2_000;
    if (!(this.renewDeadlineMs < this.leaseDurationMs)) throw new Error('renewDeadline must be shorter than leaseDuration');
    // A candidate reports 0 from the start: with no series from followers, "nobody leads" (max == 0) could never be seen.
    this.opts.metrics?.leaderElectionStatus.set({ name: this.opts.name }, 0);
  }

  isLeader(): boolean {
    return this.leading;
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(resolve, ms);
      this.wake = () => {
        clearTimeout(t);
        resolve();
      };
    });
  }

  /** Runs until stop(): acquires, calls onStartedLeading, renews; calls onStoppedLeading if the lease is lost. */
  async run(cb: LeaderCallbacks): Promise<void> {
    const { logger } = this.opts;
    while (!this.stopped) {
      if (await this.tryAcquireOrRenew()) break;
      await this.sleep(this.retryPeriodMs * (1 + Math.random() * 0.2));
    }
    if (this.stopped) return;
    this.leading = true;
    this.opts.metrics?.leaderElectionStatus.set({ name: this.opts.name }, 1);
    logger.info({ lease: `${this.opts.namespace}/${this.opts.name}`, identity: this.opts.identity }, 'became leader');
    await cb.onStartedLeading();
    let lastRenew = Date.now();
    while (!this.stopped) {
      await this.sleep(this.retryPeriodMs);
      if (this.stopped) break;
      if (await this.tryAcquireOrRenew()) {
        lastRenew = Date.now();
      } else if (Date.now() - lastRenew > this.renewDeadlineMs) {
        this.leading = false;
        this.opts.metrics?.leaderElectionStatus.set({ name: this.opts.name }, 0);
        logger.error({ identity: this.opts.identity }, 'lost leadership: could not renew the lease in time');
        await cb.onStoppedLeading();
        return;
      }
    }
  }

  /** Stops campaigning; a leader releases the lease so a successor need not wait for expiry. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.wake?.();
    if (!this.leading) return;
    this.leading = false;
    this.opts.metrics?.leaderElectionStatus.set({ name: this.opts.name }, 0);
    try {
      const lease = await this.client.get<Lease>(LeaseResource, this.opts.namespace, this.opts.name);
      if (lease.spec.holderIdentity !== this.opts.identity) return;
      lease.spec = { ...lease.spec, holderIdentity: '', leaseDurationSeconds: 1, renewTime: microTime(Date.now()) };
      await this.client.replace(LeaseResource, lease);
    } catch (err) {
      this.opts.logger.warn({ err }, 'could not release the lease');
    }
  }

  private async tryAcquireOrRenew(): Promise<boolean> {
    const { namespace, name, identity } = this.opts;
    const now = Date.now();
    const durationSeconds = Math.ceil(this.leaseDurationMs / 1000);
    try {
      const lease = await this.client.getOrUndefined<Lease>(LeaseResource, namespace, name);
      if (!lease) {
        await this.client.create<Lease>(LeaseResource, {
          apiVersion: 'coordination.k8s.io/v1',
          kind: 'Lease',
          metadata: { name, namespace },
          spec: {
            holderIdentity: identity,
            leaseDurationSeconds: durationSeconds,
            acquireTime: microTime(now),
            renewTime: microTime(now),
            leaseTransitions: 0,
          },
        });
        this.observed = undefined;
        return true;
      }
      const holder = lease.spec.holderIdentity ?? '';
      const renewTime = lease.spec.renewTime ?? '';
      if (!this.observed || this.observed.holder !== holder || this.observed.renewTime !== renewTime) {
        this.observed = { holder, renewTime };
        this.observedAt = now;
      }
      const theirDurationMs = (lease.spec.leaseDurationSeconds ?? durationSeconds) * 1000;
      if (holder !== '' && holder !== identity && this.observedAt + theirDurationMs > now) return false;
      const takingOver = holder !== identity;
      lease.spec = {
        holderIdentity: identity,
        leaseDurationSeconds: durationSeconds,
        acquireTime: takingOver ? microTime(now) : (lease.spec.acquireTime ?? microTime(now)),
        renewTime: microTime(now),
        leaseTransitions: (lease.spec.leaseTransitions ?? 0) + (takingOver && holder !== '' ? 1 : 0),
      };
      // The resourceVersion in `lease` makes this a compare-and-swap: if another
      // candidate wrote first we get 409 and stay a follower.
      const updated = await this.client.replace<Lease>(LeaseResource, lease);
      this.observed = { holder: identity, renewTime: updated.spec.renewTime ?? '' };
      this.observedAt = now;
      return true;
    } catch (err) {
      if (!isConflict(err) && !isNotFound(err)) {
        this.opts.logger.warn({ err }, 'leader election: lease request failed');
      }
      return false;
    }
  }
}
