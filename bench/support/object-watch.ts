// Watches one resource type in one namespace and remembers, per object name,
// when it was first seen and when a predicate (e.g. "Ready") first held:
// the benchmark's clock for "created" and "converged".
import { Informer } from '../../src/runtime/informer.js';
import type { KubeClient, KubeObject, ResourceType } from '../../src/runtime/kube-client.js';

export class ObjectWatch<T extends KubeObject> {
  /** name -> performance.now() when the watch first delivered the object. */
  readonly seenAt = new Map<string, number>();
  /** name -> performance.now() when `done` first held. */
  readonly doneAt = new Map<string, number>();
  private readonly informer: Informer<T>;

  constructor(client: KubeClient, type: ResourceType, namespace: string, done: (o: T) => boolean) {
    this.informer = new Informer<T>(client, type, { namespace, resyncPeriodMs: 0 });
    const observe = (o: T) => {
      const now = performance.now();
      const name = o.metadata.name;
      if (!this.seenAt.has(name)) this.seenAt.set(name, now);
      if (!this.doneAt.has(name) && done(o)) this.doneAt.set(name, now);
    };
    this.informer.addHandler({ add: observe, update: (_old, o) => observe(o) });
  }

  start(): Promise<void> {
    return this.informer.start();
  }

  stop(): Promise<void> {
    return this.informer.stop();
  }

  /** Resolves with the time the `count`-th object became done; rejects after `timeoutMs` saying how far it got. */
  async waitAllDone(count: number, what: string, timeoutMs: number): Promise<number> {
    const deadline = performance.now() + timeoutMs;
    while (this.doneAt.size < count) {
      if (performance.now() > deadline) throw new Error(`${what}: only ${this.doneAt.size} of ${count} within ${Math.round(timeoutMs / 1000)} s`);
      await new Promise((r) => setTimeout(r, 100));
    }
    return Math.max(...this.doneAt.values());
  }
}

type Conditioned = KubeObject & { status?: { conditions?: { type: string; status: string }[] } };

export const conditionTrue = (type: string) => (o: Conditioned) => o.status?.conditions?.some((c) => c.type === type && c.status === 'True') ?? false;

/** A Deployment whose current generation is observed and whose desired replicas are all available. */
export function deploymentAvailable(o: KubeObject & { spec?: { replicas?: number }; status?: { observedGeneration?: number; availableReplicas?: number } }): boolean {
  return (
    (o.status?.observedGeneration ?? 0) >= (o.metadata.generation ?? 1) && (o.status?.availableReplicas ?? 0) >= (o.spec?.replicas ?? 1)
  );
}
