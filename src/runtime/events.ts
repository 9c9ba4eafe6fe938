// Kubernetes Events for what a user should see in `kubectl describe`. Only
// transitions are recorded (callers decide), so an idle operator writes none.
import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import { resourcePath, type KubeClient, type KubeObject } from './kube-client.js';
import { kubeTime } from './conditions.js';

export type EventType = 'Normal' | 'Warning';

export class EventRecorder {
  private readonly pending = new Set<Promise<unknown>>();

  constructor(
    private readonly client: KubeClient,
    private readonly component: string,
    private readonly logger: Logger,
  ) {}

  /** Fire-and-forget: a failed Event must never fail a reconcile. */
  record(obj: KubeObject, type: EventType, reason: string, message: string): void {
    const ns = obj.metadata.namespace ?? 'default';
    const now = kubeTime(new Date());
    const event = {
      apiVersion: 'v1',
      kind: 'Event',
      metadata: { name: `${obj.metadata.name}.${randomBytes(8).toString('hex')}`, namespace: ns },
      involvedObject: {
        apiVersion: obj.apiVersion,
        kind: obj.kind,
        name: obj.metadata.name,
        namespace: ns,
        uid: obj.metadata.uid,
        resourceVersion: obj.metadata.resourceVersion,
      },
      reason,
      message: message.slice(0, 1024),
      type,
      source: { component: this.component },
      reportingComponent: this.component,
      reportingInstance: this.component,
      firstTimestamp: now,
      lastTimestamp: now,
      count: 1,
    };
    const p = this.client
      .request('POST', resourcePath({ group: '', version: 'v1', kind: 'Event', plural: 'events', namespaced: true }, ns), {
        body: event,
      })
      .catch((err: unknown) => this.logger.warn({ err, reason }, 'could not record event'))
      .finally(() => this.pending.delete(p));
    this.pending.add(p);
  }

  /** Waits for events still being sent (a short-lived process calls this before exiting). */
  async flush(): Promise<void> {
    await Promise.all([...this.pending]);
  }
}
