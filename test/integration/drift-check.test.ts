// `fluxora drift-check` as the CronJob's pod runs it: the test reads the
// CronJob the operator made, runs its container args as a process with the
// pod's identity (a token of the check's ServiceAccount) and storage
// credentials, against data sets in a real MinIO, and checks the status it
// writes and the retrain the operator starts from it.
import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import type { DriftMonitor, Model, RetrainJob } from '../../src/api/index.js';
import { CronJobResource } from '../../src/controllers/resource-types.js';
import { DriftMonitorType, ModelType, RetrainJobType } from '../../src/controllers/fluxora-types.js';
import { getCondition } from '../../src/runtime/conditions.js';
import { resourcePath, type KubeObject } from '../../src/runtime/kube-client.js';
import { writeObject, type S3Options } from '../../src/storage/index.js';
import { operatorNamespace, root, waitFor } from '../support/cluster.js';
import { createBucket, minio } from '../support/minio.js';

const run = promisify(execFile);

/** Seeded normal-ish samples (sum of uniforms). */
function rows(n: number, shift: number, seed: number): string {
  let s = seed;
  const rnd = () => ((s = (s * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  const lines = ['tenure,plan'];
  for (let i = 0; i < n; i++) {
    const x = (rnd() + rnd() + rnd() - 1.5) * 10 + 30 + shift;
    const plan = rnd() < (shift > 0 ? 0.7 : 0.3) ? 'pro' : 'basic';
    lines.push(`${x.toFixed(4)},${plan}`);
  }
  return lines.join('\n') + '\n';
}

describe('fluxora drift-check', () => {
  const { client, ns } = operatorNamespace('drift-check', {
    nodes: 'kwok',
    why: 'each case runs the check as a process with the CronJob pod identity, to control data and timing exactly; real CronJob pods: real-loop.test.ts and drift-check-serving.test.ts',
  });
  let s3: S3Options;
  const bucket = `drift-${Date.now().toString(36)}`;

  async function monitor(name: string, reference: string, current: string) {
    await client.create(DriftMonitorType, {
      apiVersion: 'fluxora.io/v1alpha1',
      kind: 'DriftMonitor',
      metadata: { name, namespace: ns },
      spec: {
        modelRef: { name: 'churn' },
        schedule: '0 * * * *',
        reference: { uri: reference, credentialsSecretRef: { name: 's3' } },
        current: { uri: current },
        retrain: {
          enabled: true,
          consecutiveChecks: 2,
          cooldown: '1h',
          template: { trainer: { builtin: { algorithm: 'logistic', target: 'churned' } }, dataset: { uri: `s3://${bucket}/train.csv` }, output: { uri: `s3://${bucket}/models/` } },
        },
      },
    } as unknown as DriftMonitor);
    return waitFor('cronjob', () => client.getOrUndefined<KubeObject & { spec: { jobTemplate: { spec: { template: { spec: { containers: { args: string[] }[] } } } } } }>(CronJobResource, ns, `${name}-drift-check`));
  }

  /** Runs the CronJob's container as a process, as its ServiceAccount. */
  async function runCheck(monitorName: string): Promise<{ code: number; stderr: string; stdout: string }> {
    const cj = await client.get<KubeObject & { spec: { jobTemplate: { spec: { template: { spec: { containers: { args: string[] }[] } } } } } }>(CronJobResource, ns, `${monitorName}-drift-check`);
    const args = cj.spec.jobTemplate.spec.template.spec.containers[0]!.args;
    const tok = await client.request<{ status: { token: string } }>('POST', `/api/v1/namespaces/${ns}/serviceaccounts/${monitorName}-drift-check/token`, {
      body: { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec: { expirationSeconds: 600 } },
    });
    const cluster = client.kubeConfig.getCurrentCluster()!;
    const kubeconfig = join(tmpdir(), `dc-${monitorName}-${Date.now()}.yaml`);
    await writeFile(kubeconfig, JSON.stringify({
      apiVersion: 'v1', kind: 'Config', 'current-context': 'c',
      clusters: [{ name: 'c', cluster: { server: cluster.server, 'certificate-authority': cluster.caFile } }],
      users: [{ name: 'u', user: { token: tok.status.token } }],
      contexts: [{ name: 'c', context: { cluster: 'c', user: 'u' } }],
    }));
    try {
      const r = await run(process.execPath, ['--import', 'tsx', join(root, 'src/cli/main.ts'), ...args, `--kubeconfig=${kubeconfig}`], {
        cwd: root,
        env: { ...process.env, AWS_ENDPOINT_URL: s3.endpoint, AWS_ACCESS_KEY_ID: s3.accessKeyId, AWS_SECRET_ACCESS_KEY: s3.secretAccessKey },
      });
      return { code: 0, stdout: r.stdout, stderr: r.stderr };
    } catch (e) {
      const err = e as { code: number; stdout: string; stderr: string };
      return { code: err.code, stdout: err.stdout, stderr: err.stderr };
    }
  }

  const getMonitor = (name: string) => client.get<DriftMonitor>(DriftMonitorType, ns, name);
  const retrains = async () => (await client.request<{ items: RetrainJob[] }>('GET', resourcePath(RetrainJobType, ns))).items.map((r) => r.metadata.name);

  beforeAll(async () => {
    const m = minio();
    s3 = { endpoint: m.endpoint, accessKeyId: m.accessKeyId, secretAccessKey: m.secretAccessKey };
    await createBucket(m, bucket);
    await writeObject(`s3://${bucket}/reference.csv`, rows(800, 0, 1), { s3 });
    await writeObject(`s3://${bucket}/current-shifted.csv`, rows(800, 6, 2), { s3 });
    await writeObject(`s3://${bucket}/current-same.csv`, rows(800, 0, 3), { s3 });
    await client.create(ModelType, {
      apiVersion: 'fluxora.io/v1alpha1',
      kind: 'Model',
      metadata: { name: 'churn', namespace: ns },
      spec: { artifact: { uri: 'file:///m/churn.onnx' }, features: [{ name: 'tenure', type: 'numeric' }, { name: 'plan', type: 'categorical' }] },
    } as unknown as Model);
  }, 900_000);

  it('finds no drift in data from the reference distribution', async () => {
    await monitor('same', `s3://${bucket}/reference.csv`, `s3://${bucket}/current-same.csv`);
    const r = await runCheck('same');
    expect(r.code, r.stderr + r.stdout).toBe(0);
    const m = await getMonitor('same');
    expect(m.status).toMatchObject({ driftDetected: false, consecutiveDriftChecks: 0, sampleCount: 800, driftShare: 0 });
    expect(m.status?.features?.map((f) => [f.name, f.method, f.drifted])).toEqual([
      ['tenure', 'ks', false],
      ['plan', 'zscore', false], // Evidently's auto choice for a two-category feature: the proportions z-test
    ]);
    expect(getCondition(m.status?.conditions, 'DriftDetected')).toMatchObject({ status: 'False', reason: 'NoDrift' });
  });

  it('detects a shifted distribution, and the second drifted check starts exactly one retrain', async () => {
    await monitor('shifted', `s3://${bucket}/reference.csv`, `s3://${bucket}/current-shifted.csv`);
    expect((await runCheck('shifted')).code).toBe(0);
    let m = await getMonitor('shifted');
    expect(m.status).toMatchObject({ driftDetected: true, consecutiveDriftChecks: 1, driftShare: 1 });
    expect(m.status?.features?.every((f) => f.drifted && (f.pValue ?? 1) < 0.05)).toBe(true);
    await new Promise((r) => setTimeout(r, 1500));
    expect(await retrains()).toEqual([]);

    await new Promise((r) => setTimeout(r, 1000)); // a new verdict needs a new (second-resolution) timestamp
    expect((await runCheck('shifted')).code).toBe(0);
    m = await getMonitor('shifted');
    expect(m.status?.consecutiveDriftChecks).toBe(2);
    const names = await waitFor('one retrain', async () => {
      const n = await retrains();
      return n.length ? n : undefined;
    });
    expect(names).toHaveLength(1);
    expect(names[0]).toMatch(/^shifted-retrain-[0-9a-f]{8}$/);
  });

  it('a failed check exits non-zero, says why in status, and starts no retrain', async () => {
    await monitor('broken', `s3://${bucket}/missing.csv`, `s3://${bucket}/current-shifted.csv`);
    const before = await retrains();
    const r = await runCheck('broken');
    expect(r.code).toBe(1);
    const m = await getMonitor('broken');
    expect(getCondition(m.status?.conditions, 'DriftDetected')).toMatchObject({ status: 'Unknown', reason: 'ReferenceUnreadable' });
    expect(getCondition(m.status?.conditions, 'DriftDetected')?.message).toContain('missing.csv');
    expect(m.status?.lastCheckTime).toBeUndefined();
    await new Promise((r) => setTimeout(r, 1500));
    expect(await retrains()).toEqual(before);
  });

  it('refuses a bad --monitor argument', async () => {
    const r = await run(process.execPath, ['--import', 'tsx', join(root, 'src/cli/main.ts'), 'drift-check', '--monitor', 'no-slash'], { cwd: root }).catch((e: { code: number; stderr: string }) => e);
    expect((r as { code: number }).code).toBe(2);
    expect((r as { stderr: string }).stderr).toContain('<namespace>/<name>');
  });
});
