// The reflector against the real API server: list+watch, 410 Gone handling,
// resync, and back-off (no hot loop) while the server is unreachable.
import { Registry } from 'prom-client';
import { KubeConfig } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { Informer } from '../../src/runtime/informer.js';
import { KubeClient, type KubeObject, type ResourceType } from '../../src/runtime/kube-client.js';
import { createRuntimeMetrics } from '../../src/runtime/metrics.js';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { operatorNamespace, root, waitFor } from '../support/cluster.js';

const ConfigMapResource: ResourceType = { group: '', version: 'v1', kind: 'ConfigMap', plural: 'configmaps', namespaced: true };
const cm = (ns: string, name: string, v = '1'): KubeObject & { data: Record<string, string> } => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name, namespace: ns, labels: { test: 'informer' } },
  data: { v },
});

describe('Informer', () => {
  const { client, ns } = operatorNamespace('informer', { nodes: 'none', why: 'the informer watches ConfigMaps' }, { operator: false });

  it('lists, watches, re-lists after 410 Gone without spurious events, and resyncs', async () => {
    await client.create(ConfigMapResource, cm(ns, 'a'));
    const inf = new Informer<KubeObject & { data: Record<string, string> }>(client, ConfigMapResource, {
      namespace: ns,
      labelSelector: 'test=informer',
      resyncPeriodMs: 1000,
    });
    const events: string[] = [];
    let resyncs = 0;
    inf.addHandler({
      add: (o) => events.push(`add ${o.metadata.name}`),
      update: (old, o) => {
        if (old === o) resyncs++;
        else events.push(`update ${o.metadata.name} ${o.data.v}`);
      },
      delete: (o) => events.push(`delete ${o.metadata.name}`),
    });
    await inf.start();
    try {
      expect(inf.get(ns, 'a')?.data.v).toBe('1');
      expect(inf.relistCount).toBe(1);

      await client.create(ConfigMapResource, cm(ns, 'b'));
      await client.replace(ConfigMapResource, { ...cm(ns, 'a', '2'), metadata: { ...cm(ns, 'a').metadata, resourceVersion: inf.get(ns, 'a')!.metadata.resourceVersion } });
      await waitFor('watch events', () => inf.get(ns, 'b') && inf.get(ns, 'a')?.data.v === '2');

      // Kill the API server and compact etcd: the watch drops, and the
      // restarted server's watch cache no longer holds our resourceVersion, so
      // resuming answers 410 Gone and the informer must re-list. Unchanged
      // objects raise no events on the re-list.
      const before = events.length;
      const staleVersion = inf.get(ns, 'b')!.metadata.resourceVersion!;
      await client.create(ConfigMapResource, cm('default', `bump-${ns}`)); // history moves on elsewhere
      execFileSync('bash', [join(root, 'hack/control-plane.sh'), 'compact-etcd'], { stdio: 'ignore' });
      execFileSync('bash', [join(root, 'hack/control-plane.sh'), 'restart-apiserver'], { stdio: 'ignore' });
      // The connection dropped with the old server; resume from the version we
      // held before the restart, as a client whose reconnect raced the restart would.
      inf.interruptWatch(staleVersion);
      await waitFor('re-list after 410', () => inf.relistCount === 2, 60_000);
      await client.delete(ConfigMapResource, 'default', `bump-${ns}`);
      expect(events.slice(before)).toEqual([]);

      // And keeps watching afterwards.
      await client.delete(ConfigMapResource, ns, 'b');
      await waitFor('delete seen', () => !inf.get(ns, 'b'));
      expect(events).toEqual(['add a', 'add b', 'update a 2', 'delete b']);
      await waitFor('resync re-delivers objects', () => resyncs >= 2, 5000);
    } finally {
      await inf.stop();
    }
  });

  it('backs off while the API server is unreachable instead of hot-looping', async () => {
    const kc = new KubeConfig();
    kc.loadFromOptions({
      clusters: [{ name: 'down', server: 'http://127.0.0.1:9', skipTLSVerify: true }],
      users: [{ name: 'u' }],
      contexts: [{ name: 'down', cluster: 'down', user: 'u' }],
      currentContext: 'down',
    });
    const metrics = createRuntimeMetrics(new Registry(), false);
    const down = new KubeClient(kc, { metrics });
    const inf = new Informer(down, ConfigMapResource, { namespace: 'x' });
    void inf.start();
    await new Promise((r) => setTimeout(r, 4000));
    await inf.stop();
    const attempts = (await metrics.restClientRequests.get()).values.reduce((n, v) => n + v.value, 0);
    // 0.5 s, 1 s, 2 s, ... between attempts: a handful in 4 s, not thousands.
    expect(attempts).toBeGreaterThanOrEqual(2);
    expect(attempts).toBeLessThanOrEqual(6);
    down.close();
  });
});
