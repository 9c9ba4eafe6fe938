// A controller with no worker would sync its caches and never reconcile
// anything; it is refused when it is built, not discovered in production.
// Its metrics exist from the start, at zero, as controller-runtime's do.
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { Controller } from './controller.js';
import { Informer } from './informer.js';
import type { KubeClient, KubeObject, ResourceType } from './kube-client.js';
import { LeaderElector } from './leader-election.js';
import { createRuntimeMetrics } from './metrics.js';

const type: ResourceType = { group: 'fluxora.io', version: 'v1alpha1', kind: 'Model', plural: 'models', namespaced: true };
// Never started, so never asked for anything.
const noClient = undefined as unknown as KubeClient;
const informer = () => new Informer<KubeObject>(noClient, type);
const logger = pino({ level: 'silent' });
const build = (workers: number | undefined, metrics?: ReturnType<typeof createRuntimeMetrics>) =>
  new Controller({ name: 'model', primary: informer(), reconcile: async () => undefined, logger, ...(workers !== undefined ? { workers } : {}), ...(metrics ? { metrics } : {}) });

describe('Controller workers', () => {
  it.each([0, -1, 1.5, NaN])('refuses %s workers', (workers) => {
    expect(() => build(workers)).toThrow(/workers must be a positive integer/);
  });

  it.each([1, 4, undefined])('accepts %s', (workers) => {
    expect(() => build(workers)).not.toThrow();
  });
});

describe('runtime metrics exist at zero before the first event', () => {
  it("a controller's reconcile and work-queue series, and its worker count", async () => {
    const metrics = createRuntimeMetrics(new Registry(), false);
    build(3, metrics);
    const text = await metrics.registry.metrics();
    for (const line of [
      'controller_runtime_max_concurrent_reconciles{controller="model"} 3',
      'controller_runtime_active_workers{controller="model"} 0',
      'controller_runtime_reconcile_total{controller="model",result="success"} 0',
      'controller_runtime_reconcile_total{controller="model",result="error"} 0',
      'controller_runtime_reconcile_total{controller="model",result="requeue_after"} 0',
      'controller_runtime_reconcile_errors_total{controller="model"} 0',
      'workqueue_depth{name="model"} 0',
      'workqueue_adds_total{name="model"} 0',
      'workqueue_retries_total{name="model"} 0',
      'workqueue_unfinished_work_seconds{name="model"} 0',
      'workqueue_longest_running_processor_seconds{name="model"} 0',
      'workqueue_queue_duration_seconds_count{name="model"} 0',
      'workqueue_work_duration_seconds_count{name="model"} 0',
    ]) {
      expect(text).toContain(`${line}\n`);
    }
  });

  it('a leader-election candidate reports 0 until it leads, so "nobody leads" is visible', async () => {
    const metrics = createRuntimeMetrics(new Registry(), false);
    new LeaderElector(noClient, { namespace: 'fluxora-system', name: 'fluxora-operator', identity: 'a', logger, metrics });
    expect(await metrics.registry.metrics()).toContain('leader_election_master_status{name="fluxora-operator"} 0\n');
  });
});
