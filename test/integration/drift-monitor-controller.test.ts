// The DriftMonitor controller on the real control plane: its CronJob (which
// kube-controller-manager really runs on schedule), the drift-check pods'
// least-privilege RBAC, and the retrain trigger's exactly-once behaviour as
// verdicts arrive in status (written here with the drift-check pods' own
// ServiceAccount token, as the drift-check process does).
import { beforeAll, describe, expect, it } from 'vitest';
import type { DriftMonitor, Model, RetrainJob } from '../../src/api/index.js';
import { DriftMonitorType, ModelType, RetrainJobType } from '../../src/controllers/fluxora-types.js';
import { CronJobResource, RoleResource, SecretResource, ServiceAccountResource } from '../../src/controllers/resource-types.js';
import { denyInNamespace } from '../support/admission-policy.js';
import { getCondition, kubeTime } from '../../src/runtime/conditions.js';
import { KubeClient, resourcePath, type KubeObject } from '../../src/runtime/kube-client.js';
import { KubeConfig } from '@kubernetes/client-node';
import { operatorNamespace, scrape, waitFor } from '../support/cluster.js';

interface CronJob extends KubeObject {
  spec: {
    schedule: string;
    suspend: boolean;
    concurrencyPolicy: string;
    successfulJobsHistoryLimit: number;
    failedJobsHistoryLimit: number;
    jobTemplate: { spec: { template: { spec: { serviceAccountName: string; securityContext: Record<string, unknown>; containers: { args: string[]; securityContext: Record<string, unknown> }[] } } } };
  };
}

const monitorSpec = {
  modelRef: { name: 'churn' },
  schedule: '* * * * *',
  reference: { uri: 's3://data/churn/reference.csv' },
  current: { source: 'Serving', minSamples: 100 },
  retrain: {
    enabled: true,
    consecutiveChecks: 2,
    cooldown: '1h',
    template: {
      trainer: { builtin: { algorithm: 'logistic', target: 'churned' } },
      dataset: { uri: 's3://data/churn/train.csv' },
      output: { uri: 's3://models/churn/' },
    },
  },
};

describe('DriftMonitor controller', () => {
  const suite = operatorNamespace('drift-ctl', {
    nodes: 'kwok',
    why: 'verdicts are written here with the drift-check ServiceAccount token, so each one arrives exactly when the trigger logic needs it; real CronJob pods run the check in real-loop.test.ts',
  });
  const { client, ns } = suite;

  /** Writes a verdict the way drift-check does: as the check's own ServiceAccount, through the status subresource. */
  async function writeVerdict(asCheck: KubeClient, driftDetected: boolean, consecutive: number) {
    const m = await asCheck.get<DriftMonitor>(DriftMonitorType, ns, 'churn-drift');
    await asCheck.request('PATCH', resourcePath(DriftMonitorType, ns, 'churn-drift', 'status'), {
      body: {
        metadata: { resourceVersion: m.metadata.resourceVersion },
        status: {
          lastCheckTime: kubeTime(new Date()),
          driftDetected,
          driftShare: driftDetected ? 0.75 : 0,
          consecutiveDriftChecks: consecutive,
          sampleCount: 900,
          features: [{ name: 'tenure', method: 'ks', score: 0.4, pValue: 0.001, threshold: 0.05, drifted: driftDetected }],
        },
      },
      contentType: 'application/merge-patch+json',
    });
  }

  const retrainJobs = async () =>
    (await client.request<{ items: RetrainJob[] }>('GET', resourcePath(RetrainJobType, ns))).items.map((r) => r.metadata.name);

  beforeAll(async () => {
    await client.create(ModelType, {
      apiVersion: 'fluxora.io/v1alpha1',
      kind: 'Model',
      metadata: { name: 'churn', namespace: ns },
      spec: { artifact: { uri: 'file:///m/churn.onnx' }, features: [{ name: 'tenure', type: 'numeric' }] },
    } as unknown as Model);
  });

  it('creates a Forbid-concurrency CronJob with restricted pods and a least-privilege Role, and becomes Ready', async () => {
    await client.create(DriftMonitorType, {
      apiVersion: 'fluxora.io/v1alpha1',
      kind: 'DriftMonitor',
      metadata: { name: 'churn-drift', namespace: ns },
      spec: monitorSpec,
    } as unknown as DriftMonitor);
    const cj = await waitFor('cronjob', () => client.getOrUndefined<CronJob>(CronJobResource, ns, 'churn-drift-drift-check'));
    expect(cj.spec).toMatchObject({ schedule: '* * * * *', suspend: false, concurrencyPolicy: 'Forbid', successfulJobsHistoryLimit: 3, failedJobsHistoryLimit: 3 });
    const pod = cj.spec.jobTemplate.spec.template.spec;
    expect(pod.serviceAccountName).toBe('churn-drift-drift-check');
    expect(pod.containers[0]!.args).toEqual(['drift-check', '--monitor', `${ns}/churn-drift`]);
    expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } });
    expect(pod.containers[0]!.securityContext).toMatchObject({ allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } });
    await waitFor('service account', () => client.getOrUndefined(ServiceAccountResource, ns, 'churn-drift-drift-check'));
    const role = await waitFor('role', () => client.getOrUndefined<KubeObject & { rules: { resources: string[]; resourceNames?: string[]; verbs: string[] }[] }>(RoleResource, ns, 'churn-drift-drift-check'));
    expect(role.rules.find((r) => r.resources.includes('secrets'))).toEqual(expect.objectContaining({ resourceNames: ['churn-samples-token'], verbs: ['get'] }));
    expect(role.rules.find((r) => r.resources.includes('driftmonitors/status'))?.resourceNames).toEqual(['churn-drift']);

    const ready = await waitFor('Ready', async () => {
      const m = await client.get<DriftMonitor>(DriftMonitorType, ns, 'churn-drift');
      return getCondition(m.status?.conditions, 'Ready')?.status === 'True' ? m : undefined;
    });
    expect(getCondition(ready.status?.conditions, 'Ready')?.reason).toBe('Scheduled');
  });

  it('kube-controller-manager runs the check on schedule', async () => {
    const job = await waitFor(
      'a Job from the CronJob',
      async () => {
        const jobs = await client.request<{ items: KubeObject[] }>('GET', `/apis/batch/v1/namespaces/${ns}/jobs`);
        return jobs.items.find((j) => j.metadata.ownerReferences?.some((r) => r.kind === 'CronJob' && r.name === 'churn-drift-drift-check'));
      },
      90_000,
      1000,
    );
    expect(job.metadata.name).toMatch(/^churn-drift-drift-check-\d+$/);
  });

  it('starts exactly one RetrainJob after the configured consecutive drifted checks, none during cooldown', async () => {
    // Act as the drift-check pod: its ServiceAccount, its Role.
    const token = await client.request<{ status: { token: string } }>('POST', `/api/v1/namespaces/${ns}/serviceaccounts/churn-drift-drift-check/token`, {
      body: { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec: { expirationSeconds: 3600 } },
    });
    const admin = client.kubeConfig;
    const kc = new KubeConfig();
    kc.loadFromOptions({
      clusters: [admin.getCurrentCluster()!],
      users: [{ name: 'drift-check', token: token.status.token }],
      contexts: [{ name: 'c', cluster: admin.getCurrentCluster()!.name, user: 'drift-check' }],
      currentContext: 'c',
    });
    const asCheck = new KubeClient(kc);
    try {
      // The check's token cannot touch other objects.
      await expect(asCheck.get(ModelType, ns, 'other')).rejects.toMatchObject({ status: 403 });

      await writeVerdict(asCheck, true, 1);
      await new Promise((r) => setTimeout(r, 2000));
      expect(await retrainJobs()).toEqual([]); // 1 of 2 consecutive checks

      await writeVerdict(asCheck, true, 2);
      const [name] = await waitFor('one RetrainJob', async () => {
        const names = await retrainJobs();
        return names.length > 0 ? names : undefined;
      });
      expect(name).toMatch(/^churn-drift-retrain-[0-9a-f]{8}$/);
      const rj = await client.get<RetrainJob>(RetrainJobType, ns, name!);
      expect(rj.spec.modelRef.name).toBe('churn');
      expect(rj.spec.trainer.builtin?.algorithm).toBe('logistic');
      expect(rj.metadata.ownerReferences?.[0]).toMatchObject({ kind: 'DriftMonitor', name: 'churn-drift' });
      const after = await waitFor('status records the retrain', async () => {
        const m = await client.get<DriftMonitor>(DriftMonitorType, ns, 'churn-drift');
        return m.status?.lastRetrainJob === name ? m : undefined;
      });
      expect(after.status?.lastRetrainTime).toBeDefined();

      // Operator restart: the same verdict does not start a second run.
      await suite.op!.stop();
      const op = await suite.startOperator();
      await new Promise((r) => setTimeout(r, 3000));
      expect(await retrainJobs()).toEqual([name]);

      // A new drifted verdict inside the cooldown starts nothing.
      await writeVerdict(asCheck, true, 3);
      await new Promise((r) => setTimeout(r, 3000));
      expect(await retrainJobs()).toEqual([name]);

      // The operator exports the verdict as metrics.
      const metrics = await scrape(op.metricsPort);
      expect(metrics).toContain(`fluxora_drift_detected{namespace="${ns}",monitor="churn-drift"} 1`);
      expect(metrics).toContain(`fluxora_drift_score{namespace="${ns}",monitor="churn-drift",feature="tenure",method="ks"} 0.4`);
    } finally {
      asCheck.close();
    }
  });

  /** A monitor with problems of its own (and no retrain), so the one above is left alone. */
  const createMonitor = (name: string, spec: Record<string, unknown>) =>
    client.create(DriftMonitorType, {
      apiVersion: 'fluxora.io/v1alpha1',
      kind: 'DriftMonitor',
      metadata: { name, namespace: ns },
      spec: { ...monitorSpec, retrain: { enabled: false }, schedule: '0 * * * *', ...spec },
    } as unknown as DriftMonitor);
  const readyOf = async (name: string) => getCondition((await client.get<DriftMonitor>(DriftMonitorType, ns, name)).status?.conditions, 'Ready');
  const stalledAs = (name: string, reason: string, timeoutMs = 30_000) =>
    waitFor(`${name} Stalled ${reason}`, async () => {
      const m = await client.get<DriftMonitor>(DriftMonitorType, ns, name);
      return getCondition(m.status?.conditions, 'Stalled')?.reason === reason ? m : undefined;
    }, timeoutMs, 500);
  const warned = (name: string, reason: string) =>
    waitFor(`Warning ${reason} on ${name}`, async () => {
      const events = await client.request<{ items: { type: string; reason: string; involvedObject: { kind?: string; name: string } }[] }>('GET', `/api/v1/namespaces/${ns}/events`);
      return events.items.some((e) => e.involvedObject.kind === 'DriftMonitor' && e.involvedObject.name === name && e.type === 'Warning' && e.reason === reason);
    }, 15_000);

  it('a missing reference credentials Secret is CredentialsNotFound (as a RetrainJob says it), and Ready once it exists', async () => {
    await createMonitor('nocreds', { reference: { uri: 's3://data/churn/reference.csv', credentialsSecretRef: { name: 'late-s3' } } });
    const m = await stalledAs('nocreds', 'CredentialsNotFound');
    expect(getCondition(m.status?.conditions, 'Ready')).toMatchObject({ status: 'False', reason: 'CredentialsNotFound' });
    expect(getCondition(m.status?.conditions, 'Ready')?.message).toContain('Secret "late-s3" (spec.reference.credentialsSecretRef) does not exist');
    await warned('nocreds', 'CredentialsNotFound');
    await client.create(SecretResource, { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'late-s3', namespace: ns }, stringData: { AWS_ACCESS_KEY_ID: 'a' } } as KubeObject);
    await waitFor('Ready after the Secret appears', async () => (await readyOf('nocreds'))?.status === 'True', 45_000, 1000);
  });

  it('a feature the Model does not have is refused in status at once: UnknownFeature', async () => {
    await createMonitor('nofeature', { features: [{ name: 'tenure' }, { name: 'income', method: 'ks' }] });
    const m = await stalledAs('nofeature', 'UnknownFeature');
    expect(getCondition(m.status?.conditions, 'Ready')?.message).toBe('spec.features names "income", which Model "churn" does not have (it has: tenure)');
    await warned('nofeature', 'UnknownFeature');
  });

  it('checks that fail make the monitor Ready=False/Stalled with the check reason, until a newer spec or a good check', async () => {
    await createMonitor('failing', {});
    await waitFor('Ready', async () => (await readyOf('failing'))?.status === 'True');
    const m = await client.get<DriftMonitor>(DriftMonitorType, ns, 'failing');
    // As drift-check writes a failed check (src/drift/check-status.ts).
    await client.request('PATCH', resourcePath(DriftMonitorType, ns, 'failing', 'status'), {
      body: {
        metadata: { resourceVersion: m.metadata.resourceVersion },
        status: {
          conditions: [
            ...(m.status?.conditions ?? []),
            { type: 'DriftDetected', status: 'Unknown', reason: 'ReferenceUnreadable', message: 'reference s3://data/churn/reference.csv: does not exist', lastTransitionTime: kubeTime(new Date()), observedGeneration: m.metadata.generation },
          ],
        },
      },
      contentType: 'application/merge-patch+json',
    });
    const failed = await stalledAs('failing', 'ReferenceUnreadable');
    expect(getCondition(failed.status?.conditions, 'Ready')).toMatchObject({ status: 'False', reason: 'ReferenceUnreadable', message: 'the last check failed: reference s3://data/churn/reference.csv: does not exist' });
    await warned('failing', 'ReferenceUnreadable');
    // A new spec (a fixed reference) is not judged by the old spec's failure.
    await client.request('PATCH', resourcePath(DriftMonitorType, ns, 'failing'), { body: { spec: { reference: { uri: 's3://data/churn/reference-2.csv' } } }, contentType: 'application/merge-patch+json' });
    await waitFor('Ready for the new spec', async () => (await readyOf('failing'))?.status === 'True');
  });

  it('a CronJob the API server refuses is ChildRejected with its message, and backs off', async () => {
    const message = 'drift checks may run at most hourly in this namespace';
    const removePolicy = await denyInNamespace(client, ns, 'hourly', {
      apiGroups: ['batch'],
      resources: ['cronjobs'],
      expression: "!object.spec.schedule.startsWith('*')",
      message,
      probe: {
        type: CronJobResource,
        object: { apiVersion: 'batch/v1', kind: 'CronJob', metadata: { name: 'probe' }, spec: { schedule: '* * * * *', jobTemplate: { spec: { template: { spec: { restartPolicy: 'Never', containers: [{ name: 'c', image: 'x' }] } } } } } } as KubeObject,
      },
    });
    try {
      await createMonitor('everyminute', { schedule: '*/5 * * * *' });
      const m = await stalledAs('everyminute', 'ChildRejected');
      const ready = getCondition(m.status?.conditions, 'Ready');
      expect(ready).toMatchObject({ status: 'False', reason: 'ChildRejected', observedGeneration: m.metadata.generation });
      expect(ready?.message).toContain('the API server refused the CronJob everyminute-drift-check');
      expect(ready?.message).toContain(message);
      await warned('everyminute', 'ChildRejected');
      expect(suite.op!.logs.filter((l) => l.msg === 'reconcile failed' && l.name === 'everyminute')).toEqual([]);
      await client.request('PATCH', resourcePath(DriftMonitorType, ns, 'everyminute'), { body: { spec: { schedule: '0 * * * *' } }, contentType: 'application/merge-patch+json' });
      await waitFor('Ready with an hourly schedule', async () => (await readyOf('everyminute'))?.status === 'True', 30_000);
    } finally {
      await removePolicy();
    }
    await Promise.all(['nocreds', 'nofeature', 'failing', 'everyminute'].map((n) => client.delete(DriftMonitorType, ns, n)));
  });

  it('suspends the CronJob with spec.suspend and lets the GC remove everything with the monitor', async () => {
    await client.request('PATCH', resourcePath(DriftMonitorType, ns, 'churn-drift'), { body: { spec: { suspend: true } }, contentType: 'application/merge-patch+json' });
    await waitFor('suspended', async () => (await client.get<CronJob>(CronJobResource, ns, 'churn-drift-drift-check')).spec.suspend === true);
    await client.delete(DriftMonitorType, ns, 'churn-drift');
    await waitFor('children collected', async () => {
      const [cj, sa, jobs] = await Promise.all([
        client.getOrUndefined(CronJobResource, ns, 'churn-drift-drift-check'),
        client.getOrUndefined(ServiceAccountResource, ns, 'churn-drift-drift-check'),
        retrainJobs(),
      ]);
      return !cj && !sa && jobs.length === 0;
    }, 60_000);
  });
});
