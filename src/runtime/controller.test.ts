// A controller with no worker would sync its caches and never reconcile
// anything; it is refused when it is built, not discovered in production.
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { Controller } from './controller.js';
import { Informer } from './informer.js';
import type { KubeClient, KubeObject, ResourceType } from './kube-client.js';

const type: ResourceType = { group: 'fluxora.io', version: 'v1alpha1', kind: 'Model', plural: 'models', namespaced: true };
// Never started, so never asked for anything.
const informer = () => new Informer<KubeObject>(undefined as unknown as KubeClient, type);
const build = (workers: number | undefined) =>
  new Controller({ name: 'model', primary: informer(), reconcile: async () => undefined, logger: pino({ level: 'silent' }), ...(workers !== undefined ? { workers } : {}) });

describe('Controller workers', () => {
  it.each([0, -1, 1.5, NaN])('refuses %s workers', (workers) => {
    expect(() => build(workers)).toThrow(/workers must be a positive integer/);
  });

  it.each([1, 4, undefined])('accepts %s', (workers) => {
    expect(() => build(workers)).not.toThrow();
  });
});
