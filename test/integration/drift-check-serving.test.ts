// The drift check against live traffic: the operator rolls a Model out (kwok
// simulates the pods), the test runs real `fluxora serve` processes with
// those pods' environment (artifact, features, samples token from the
// operator's Secret), sends shifted traffic, then runs the CronJob's check
// as a process. The check finds the pods through the Service's
// EndpointSlices; FLUXORA_SAMPLES_ADDRESS_MAP points each simulated pod
// address at the local serving process that stands for it.
import { execFile } from 'node:child_process';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DriftMonitor, Model, RetrainJob } from '../../src/api/index.js';
import { DriftMonitorType, ModelType, RetrainJobType } from '../../src/controllers/fluxora-types.js';
import { CronJobResource, DeploymentResource, SecretResource } from '../../src/controllers/resource-types.js';
import { getCondition } from '../../src/runtime/conditions.js';
import { resourcePath, type KubeClient, type KubeObject } from '../../src/runtime/kube-client.js';
import { FEATURES, fixtureUri, http, inferBody, spawnServe, type ServeProcess } from '../fixtures/models/serve-harness.js';
import { adminClient, createNamespace, NamespaceResource, root, startOperator, waitFor, type OperatorProcess } from '../support/cluster.js';
import { localCommand } from '../../hack/run-local.js';

const run = promisify(execFile);

function gaussian(seed: number) {
  let s = seed;
  const u = () => ((s = (s * 1103515245 + 12345) % 2 ** 31) + 1) / (2 ** 31 + 1);
  return () => Math.sqrt(-2 * Math.log(u())) * Math.cos(2 * Math.PI * u());
}

interface Deployment extends KubeObject {
  spec: { template: { spec: { containers: { env: { name: string; value?: string }[] }[] } } };
}

describe('drift-check on samples captured by real serving processes', () => {
  let client: KubeClient;
  let ns: string;
  let dir: string;
  let op: OperatorProcess | undefined;
  const servers: ServeProcess[] = [];
  let addressMap = '';

  async function sendTraffic(rows: number, shift: number, seed: number) {
    const g = gaussian(seed);
    for (let i = 0; i < rows; i += 50) {
      const batch = Array.from({ length: 50 }, () => FEATURES.map(() => g() + shift));
      const s = servers[(i / 50) % servers.length]!;
      const r = await http(s.port, { path: '/v2/models/churn/infer', body: inferBody(batch), headers: { 'content-type': 'application/json' } });
      expect(r.status).toBe(200);
    }
  }

  /** The check as its CronJob's pod runs it (args, ServiceAccount token; hack/run-local.ts). */
  async function runCheck(): Promise<number> {
    const cmd = await localCommand(client, ns, 'cronjob/churn-drift-drift-check', dir);
    try {
      await run(process.execPath, ['--import', 'tsx', join(root, 'src/cli/main.ts'), ...cmd.args], {
        cwd: root,
        env: { ...process.env, ...cmd.env, FLUXORA_SAMPLES_ADDRESS_MAP: addressMap },
      });
      return 0;
    } catch (e) {
      const err = e as { code: number; stdout: string; stderr: string };
      console.log(err.stdout, err.stderr);
      return err.code;
    }
  }

  beforeAll(async () => {
    client = adminClient();
    ns = await createNamespace(client, 'drift-serving');
    dir = await mkdtemp(join(tmpdir(), 'fluxora-dcs-'));
    const g = gaussian(11);
    await writeFile(join(dir, 'reference.csv'), ['tenure,spend,visits', ...Array.from({ length: 1000 }, () => [g(), g(), g()].map((v) => v.toFixed(5)).join(','))].join('\n') + '\n');
    op = await startOperator([`--namespace=${ns}`]);
    await client.create(ModelType, {
      apiVersion: 'fluxora.io/v1alpha1',
      kind: 'Model',
      metadata: { name: 'churn', namespace: ns },
      spec: { artifact: { uri: fixtureUri('linear.onnx') }, features: FEATURES, serving: { replicas: 2, sampling: { rate: 1, bufferSize: 5000 } } },
    } as unknown as Model);
    await waitFor('Model Ready', async () => getCondition((await client.get<Model>(ModelType, ns, 'churn')).status?.conditions, 'Ready')?.status === 'True');

    // Real serving processes with the pods' environment; the token comes from the operator's Secret.
    const dep = await client.get<Deployment>(DeploymentResource, ns, 'churn');
    const secret = await client.get<KubeObject & { data: Record<string, string> }>(SecretResource, ns, 'churn-samples-token');
    const env: Record<string, string> = {};
    for (const e of dep.spec.template.spec.containers[0]!.env) if (e.value !== undefined) env[e.name] = e.value;
    env.FLUXORA_SAMPLES_TOKEN = Buffer.from(secret.data.token!, 'base64').toString();
    const slices = await waitFor('EndpointSlice with 2 ready pods', async () => {
      const list = await client.request<{ items: { ports?: { name?: string; port?: number }[]; endpoints?: { addresses: string[]; conditions?: { ready?: boolean } }[] }[] }>(
        'GET',
        `/apis/discovery.k8s.io/v1/namespaces/${ns}/endpointslices`,
        { query: { labelSelector: 'kubernetes.io/service-name=churn' } },
      );
      const eps = list.items.flatMap((s) => (s.endpoints ?? []).filter((e) => e.conditions?.ready !== false).map((e) => `${e.addresses[0]}:${s.ports?.find((p) => p.name === 'admin')?.port}`));
      return eps.length === 2 ? eps : undefined;
    });
    for (const podAddr of slices) {
      const s = await spawnServe([], { ...env, FLUXORA_HOST: '127.0.0.1', FLUXORA_PORT: '0', FLUXORA_ADMIN_PORT: '0' });
      servers.push(s);
      addressMap += `${addressMap ? ',' : ''}${podAddr}=127.0.0.1:${s.adminPort}`;
    }

    await client.create(DriftMonitorType, {
      apiVersion: 'fluxora.io/v1alpha1',
      kind: 'DriftMonitor',
      metadata: { name: 'churn-drift', namespace: ns },
      spec: {
        modelRef: { name: 'churn' },
        schedule: '*/15 * * * *',
        reference: { uri: `file://${join(dir, 'reference.csv')}` },
        current: { source: 'Serving', minSamples: 400, maxSamples: 5000 },
        retrain: {
          enabled: true,
          consecutiveChecks: 1,
          cooldown: '1h',
          template: { trainer: { builtin: { algorithm: 'linear', target: 'y' } }, dataset: { uri: 'file:///data/train.csv' }, output: { uri: `file://${dir}/runs` } },
        },
      },
    } as unknown as DriftMonitor);
    await waitFor('CronJob', () => client.getOrUndefined(CronJobResource, ns, 'churn-drift-drift-check'));
  }, 300_000);

  afterAll(async () => {
    for (const s of servers) s.child.kill('SIGTERM');
    await Promise.all(servers.map((s) => s.exited));
    await op?.stop();
    await client.delete(NamespaceResource, undefined, ns);
    client.close();
  });

  const retrains = async () => (await client.request<{ items: RetrainJob[] }>('GET', resourcePath(RetrainJobType, ns))).items.map((r) => r.metadata.name);

  it('too few samples: no verdict, no retrain', async () => {
    await sendTraffic(200, 2, 5);
    expect(await runCheck()).toBe(0);
    const m = await client.get<DriftMonitor>(DriftMonitorType, ns, 'churn-drift');
    expect(m.status?.sampleCount).toBe(200);
    expect(m.status?.lastCheckTime).toBeUndefined();
    expect(getCondition(m.status?.conditions, 'DriftDetected')).toMatchObject({ status: 'Unknown', reason: 'InsufficientSamples' });
    await new Promise((r) => setTimeout(r, 1500));
    expect(await retrains()).toEqual([]);
  });

  it('shifted live traffic from both pods is detected and starts one retrain', async () => {
    await sendTraffic(600, 2, 6);
    expect(await runCheck()).toBe(0);
    const m = await client.get<DriftMonitor>(DriftMonitorType, ns, 'churn-drift');
    expect(m.status).toMatchObject({ driftDetected: true, consecutiveDriftChecks: 1, sampleCount: 800, driftShare: 1 });
    expect(m.status?.features?.map((f) => f.name)).toEqual(['tenure', 'spend', 'visits']);
    const names = await waitFor('retrain', async () => {
      const n = await retrains();
      return n.length ? n : undefined;
    });
    expect(names).toHaveLength(1);
  });
});
