// A Model whose server cannot load its artifact says so in its status, with
// the server's own words, on real pods: the container of `fluxora serve`
// exits on the missing artifact and writes its termination message; the
// real kubelet puts it in the pod's status and restarts the container with
// back-off; the operator (run from source here), which reads a Model's pods
// while its rollout is unfinished, reports ServingFailed. Then the artifact
// appears in the store, the next restart loads it, and the Model is Ready again.
import { beforeAll, describe, expect, it } from 'vitest';
import type { Model } from '../../src/api/index.js';
import { ModelType } from '../../src/controllers/fluxora-types.js';
import { getCondition } from '../../src/runtime/conditions.js';
import { readObject, writeObject } from '../../src/storage/index.js';
import { FEATURES, fixtureUri } from '../fixtures/models/serve-harness.js';
import { operatorNamespace, waitFor } from '../support/cluster.js';
import { argoHealth, kstatus } from '../support/gitops.js';
import { createBucket, s3Options, startMinio, type MinioEndpoint } from '../support/minio.js';
import { minioForPods, podsWhere, requireRealNode } from '../support/real-pods.js';

const BUCKET = 'fluxora-serving-failure';

describe('a Model whose server cannot start (real pods)', () => {
  beforeAll(() => requireRealNode());
  const suite = operatorNamespace('serving-failure', { nodes: 'real' }, { operator: false });
  const { client, ns } = suite;
  let m: MinioEndpoint;
  const model = () => client.get<Model>(ModelType, ns, 'churn');
  const artifact = () => `s3://${BUCKET}/${ns}/churn/v1/model.onnx`;

  beforeAll(async () => {
    m = await startMinio();
    await createBucket(m, BUCKET);
    await minioForPods(client, ns, m);
    await suite.startOperator();
  }, 120_000);

  it("reports the server's reason as ServingFailed, and is Ready once the artifact is there", async () => {
    await client.create(ModelType, {
      apiVersion: 'fluxora.io/v1alpha1',
      kind: 'Model',
      metadata: { name: 'churn', namespace: ns },
      spec: {
        artifact: { uri: artifact(), credentialsSecretRef: { name: 'storage' } },
        features: FEATURES,
      },
    } as unknown as Model);
    // The operator reads the pods of a rollout still unfinished after 10 s, then every 15 s.
    const failing = await waitFor('Model ServingFailed', async () => {
      const mo = await model();
      return getCondition(mo.status?.conditions, 'Ready')?.reason === 'ServingFailed' ? mo : undefined;
    }, 60_000);
    const [pod] = await podsWhere(client, ns, 'fluxora.io/model=churn', (p) => p.length === 1, 'the serving pod');
    const status = pod!.status!.containerStatuses![0]!;
    // Written by the kubelet from the container's termination log.
    const message = (status.lastState?.terminated ?? status.state?.terminated)?.message?.trim();
    expect(message).toBe(`NotFound: ${artifact()} does not exist`);
    const ready = getCondition(failing.status?.conditions, 'Ready');
    expect(ready?.status).toBe('False');
    expect(ready?.message).toBe(`the server of v1 cannot start: pod ${pod!.metadata.name}: ${message}`);
    expect(getCondition(failing.status?.conditions, 'Stalled')).toMatchObject({ status: 'True', reason: 'ServingFailed' });
    // GitOps tools show it as failed, with the reason, instead of progressing until a timeout.
    expect(argoHealth('model', failing)).toEqual({ status: 'Degraded', message: `ServingFailed: ${ready?.message}` });
    expect(kstatus([failing])[0]!.status).toBe('Failed');

    // The store gets the artifact: the kubelet's next restart (back-off 10 s, 20 s, 40 s) loads it.
    const bytes = await readObject(fixtureUri('linear.onnx'));
    await writeObject(artifact(), bytes, { s3: s3Options(m) });
    const healthy = await waitFor('Model Ready', async () => {
      const mo = await model();
      return getCondition(mo.status?.conditions, 'Ready')?.status === 'True' ? mo : undefined;
    }, 120_000, 500);
    expect(getCondition(healthy.status?.conditions, 'Ready')?.reason).toBe('Available');
    expect(getCondition(healthy.status?.conditions, 'Stalled')).toBeUndefined();
    expect(argoHealth('model', healthy).status).toBe('Healthy');
    expect(kstatus([healthy])[0]!.status).toBe('Current');
    const [running] = await podsWhere(client, ns, 'fluxora.io/model=churn', (p) => p.length === 1, 'the serving pod');
    expect(running!.status!.containerStatuses![0]!.restartCount).toBeGreaterThan(0);
  }, 240_000);
});
