// Security properties, on the real control plane with the real operator:
//
// 1. Pod Security "restricted": in a namespace that enforces it, every pod
//    the operator's children create (serving Deployment, drift-check
//    CronJob, trainer Job with and without its data set step) is admitted. kube-controller-manager creates those
//    pods; a refused pod shows up only as a FailedCreate Event or a
//    ReplicaFailure condition, so the test looks for both and for the pods.
//    Two negative controls prove the namespace enforces and that the
//    detector sees a refusal: a privileged pod is refused, and a Deployment
//    with an unrestricted template gets FailedCreate.
// 2. Secrets are never logged: the operator, a `fluxora serve` process,
//    `fluxora drift-check`, `fluxora dataset-build` and `fluxora train` runs are given distinctive
//    secrets (temporary S3 credentials from MinIO's STS, the samples token,
//    API tokens), do real work with them (S3 reads and writes, sample
//    fetches, API calls; failing S3 calls too), at debug log level; then all their raw stdout/stderr, the Events
//    and the status of every resource are searched for each secret, raw and
//    base64. A positive control shows the same search finds a value that a
//    process does log.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFile, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import type { DriftMonitor, Model, RetrainJob } from '../../src/api/index.js';
import { DriftMonitorType, ModelType, RetrainJobType } from '../../src/controllers/fluxora-types.js';
import { CronJobResource, DeploymentResource, EventResource, JobResource, SecretResource } from '../../src/controllers/resource-types.js';
import { getCondition } from '../../src/runtime/conditions.js';
import { ApiError, type KubeClient, type KubeObject, type ResourceType } from '../../src/runtime/kube-client.js';
import { sha256Hex, writeObject } from '../../src/storage/index.js';
import { logRecord, writeLogObject } from '../fixtures/models/prediction-log-records.js';
import { FEATURES, http, inferBody } from '../fixtures/models/serve-harness.js';
import { startFluxora, runFluxora, type CapturedProcess } from '../support/captured-process.js';
import { operatorNamespace, retrainJobFinished, waitFor } from '../support/cluster.js';
import { createBucket, s3Options, startMinio, type MinioEndpoint } from '../support/minio.js';

const run = promisify(execFile);
const PodResource: ResourceType = { group: '', version: 'v1', kind: 'Pod', plural: 'pods', namespaced: true };
const EndpointSliceResource: ResourceType = { group: 'discovery.k8s.io', version: 'v1', kind: 'EndpointSlice', plural: 'endpointslices', namespaced: true };
const RESTRICTED = {
  'pod-security.kubernetes.io/enforce': 'restricted',
  'pod-security.kubernetes.io/enforce-version': 'latest',
  'pod-security.kubernetes.io/warn': 'restricted',
  'pod-security.kubernetes.io/audit': 'restricted',
};
const CONTROL = 'unrestricted-control';

interface Conditioned extends KubeObject {
  status?: { conditions?: { type: string; status: string; reason?: string; message?: string }[]; succeeded?: number; availableReplicas?: number };
}
interface EventObject extends KubeObject {
  reason?: string;
  message?: string;
  involvedObject: { kind: string; name: string };
}
interface PodContainer {
  env?: { name: string; value?: string }[];
  envFrom?: { prefix?: string; secretRef?: { name: string } }[];
  args?: string[];
}
interface PodTemplateOwner extends KubeObject {
  spec: { template: { spec: { initContainers?: PodContainer[]; containers: PodContainer[] } } };
}

/** Temporary credentials from MinIO's STS (AssumeRole): a fresh, random secret key nothing else uses. */
async function temporaryS3Credentials(m: MinioEndpoint) {
  const { stdout } = await run('curl', [
    '-fsS', '--max-time', '15', '--aws-sigv4', 'aws:amz:us-east-1:sts', '--user', `${m.accessKeyId}:${m.secretAccessKey}`,
    '--data', 'Action=AssumeRole&Version=2011-06-15&DurationSeconds=3600', `${m.endpoint}/`,
  ]);
  const field = (name: string) => {
    const v = new RegExp(`<${name}>([^<]+)</${name}>`).exec(stdout)?.[1];
    if (!v) throw new Error(`MinIO AssumeRole answer has no ${name}: ${stdout}`);
    return v;
  };
  return { accessKeyId: field('AccessKeyId'), secretAccessKey: field('SecretAccessKey'), sessionToken: field('SessionToken') };
}

/** Which of the named secrets occur in `text`, verbatim or base64-encoded (as a dumped Secret would show them). */
function leakedSecrets(text: string, secrets: Record<string, string>): string[] {
  return Object.entries(secrets)
    .filter(([, v]) => text.includes(v) || text.includes(Buffer.from(v).toString('base64')))
    .map(([name]) => name);
}


/** Every sign that kube-controller-manager could not create a pod: FailedCreate Events and ReplicaFailure conditions. */
async function admissionFailures(client: KubeClient, ns: string): Promise<string[]> {
  const events = (await client.list<EventObject>(EventResource, ns))
    .filter((e) => e.reason === 'FailedCreate')
    .map((e) => `${e.involvedObject.kind}/${e.involvedObject.name}: ${e.message ?? ''}`);
  const deployments = (await client.list<Conditioned>(DeploymentResource, ns)).flatMap((d) =>
    (d.status?.conditions ?? []).filter((c) => c.type === 'ReplicaFailure' && c.status === 'True').map((c) => `Deployment/${d.metadata.name}: ${c.message ?? ''}`),
  );
  return [...events, ...deployments];
}

describe('security: restricted namespace, secrets never logged', () => {
  const { client, ns } = operatorNamespace(
    'restricted',
    {
      nodes: 'kwok',
      why: 'part 1 tests admission under the restricted profile; part 2 runs the processes itself to search all they print; real-loop.test.ts checks running pods in /proc',
    },
    { operator: false, labels: RESTRICTED },
  );
  let dir: string;
  let bucket: string;
  let minio: MinioEndpoint;
  let operator: CapturedProcess | undefined;
  let serve: CapturedProcess | undefined;
  /** Output of the short-lived processes (drift-check runs), kept for the final search. */
  const finishedOutput: string[] = [];
  /** name -> value of every secret handed to a process under test. */
  const secrets: Record<string, string> = {};
  let s3Env: Record<string, string>;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'fluxora-security-'));
    minio = await startMinio();
    bucket = `security-${randomBytes(4).toString('hex')}`;
    await createBucket(minio, bucket);
    const admin = s3Options(minio);
    await writeObject(`s3://${bucket}/models/linear.onnx`, await readFile(join(import.meta.dirname, '../fixtures/models/linear.onnx')), { s3: admin });
    const rows = Array.from({ length: 300 }, (_, i) => [i % 7, (i * 13) % 11, (i * 5) % 3].join(','));
    await writeObject(`s3://${bucket}/data/reference.csv`, ['tenure,spend,visits', ...rows].join('\n') + '\n', { s3: admin });
    const train = Array.from({ length: 200 }, (_, i) => {
      const [a, b, c] = [i % 7, (i * 13) % 11, (i * 5) % 3];
      return [a, b, c, (0.5 * a - 0.2 * b + c + ((i * 7) % 5) * 0.01).toFixed(3)].join(',');
    });
    await writeObject(`s3://${bucket}/data/train.csv`, ['tenure,spend,visits,y', ...train].join('\n') + '\n', { s3: admin });
    // What the trainer Job wrote for RetrainJob "retrain-1": kwok only simulates that pod (the test runs `fluxora train` itself below).
    await writeObject(`s3://${bucket}/runs/retrain-1/model.onnx`, 'trained-model-bytes', { s3: admin });
    await writeObject(`s3://${bucket}/runs/retrain-1/metrics.json`, JSON.stringify({ auc: 0.9 }), { s3: admin });
    // The logged traffic of the last hour and its labels, for RetrainJob "retrain-log" (trained on the prediction log).
    const logged = Array.from({ length: 30 }, (_, i) => logRecord(`req-${i}`, Date.now() - 3_600_000 + i * 1000, [[i % 7, (i * 13) % 11, (i * 5) % 3]]));
    await writeLogObject(`s3://${bucket}/log`, logged, { storage: { s3: admin } });
    await writeObject(`s3://${bucket}/labels/l.csv`, `id,label\n${logged.map((r, i) => `${r.id},${i % 4}`).join('\n')}\n`, { s3: admin });
    // What its Job wrote: kwok only simulates that pod (the test runs `fluxora dataset-build` itself below).
    await writeObject(`s3://${bucket}/runs/retrain-log/model.onnx`, 'trained-on-traffic', { s3: admin });
    await writeObject(`s3://${bucket}/runs/retrain-log/metrics.json`, JSON.stringify({ rmse: 0.5 }), { s3: admin });
    await writeObject(
      `s3://${bucket}/runs/retrain-log/dataset.json`,
      JSON.stringify({ uri: `s3://${bucket}/runs/retrain-log/dataset.csv`, sha256: sha256Hex('rows'), rows: 30, predictions: 30, labelled: 30, coverage: 1, window: { from: '2026-03-07T00:00:00Z', to: '2026-03-14T00:00:00Z' } }),
      { s3: admin },
    );

    const sts = await temporaryS3Credentials(minio);
    secrets.s3SecretAccessKey = sts.secretAccessKey;
    secrets.s3SessionToken = sts.sessionToken;
    s3Env = {
      AWS_ACCESS_KEY_ID: sts.accessKeyId,
      AWS_SECRET_ACCESS_KEY: sts.secretAccessKey,
      AWS_SESSION_TOKEN: sts.sessionToken,
      AWS_ENDPOINT_URL: minio.endpoint,
      AWS_REGION: 'us-east-1',
    };
    await client.create(SecretResource, {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 's3-creds', namespace: ns },
      stringData: s3Env,
    } as KubeObject);

    const operatorKubeconfig = inject('operatorKubeconfig');
    const kc = parseYaml(await readFile(operatorKubeconfig, 'utf8')) as { users: { user: { token: string } }[] };
    secrets.operatorApiToken = kc.users[0]!.user.token;

    // The operator reads trainer output from S3 with its own environment's credentials.
    operator = startFluxora(
      ['operator', `--kubeconfig=${operatorKubeconfig}`, `--namespace=${ns}`, '--metrics-bind-address=127.0.0.1:0', '--health-probe-bind-address=127.0.0.1:0', '--serving-image=fluxora:test', '--log-level=debug'],
      s3Env,
    );
    await operator.waitForLine((l) => l.msg === 'operator started');

    await client.create(ModelType, {
      apiVersion: 'fluxora.io/v1alpha1',
      kind: 'Model',
      metadata: { name: 'churn', namespace: ns },
      spec: {
        artifact: { uri: `s3://${bucket}/models/linear.onnx`, credentialsSecretRef: { name: 's3-creds' } },
        features: FEATURES,
        // The log is read with the artifact's Secret (no Secret of its own), so the Deployment keeps one envFrom.
        serving: { replicas: 1, predictionLog: { uri: `s3://${bucket}/log` } },
        // The retrained version is recorded but not rolled out: the pod (and its address) stay put for the drift check.
        promotion: { policy: 'Manual' },
      },
    } as unknown as Model);
    await client.create(DriftMonitorType, {
      apiVersion: 'fluxora.io/v1alpha1',
      kind: 'DriftMonitor',
      metadata: { name: 'churn-drift', namespace: ns },
      spec: {
        modelRef: { name: 'churn' },
        // Every minute, so kube-controller-manager starts a check Job (and its pod) during the test.
        schedule: '* * * * *',
        reference: { uri: `s3://${bucket}/data/reference.csv`, credentialsSecretRef: { name: 's3-creds' } },
        current: { source: 'Serving', minSamples: 50, maxSamples: 1000 },
      },
    } as unknown as DriftMonitor);
    await client.create(RetrainJobType, {
      apiVersion: 'fluxora.io/v1alpha1',
      kind: 'RetrainJob',
      metadata: { name: 'retrain-1', namespace: ns },
      spec: {
        modelRef: { name: 'churn' },
        trainer: { builtin: { algorithm: 'linear', target: 'y' } },
        dataset: { uri: `s3://${bucket}/data/train.csv`, credentialsSecretRef: { name: 's3-creds' } },
        output: { uri: `s3://${bucket}/runs`, credentialsSecretRef: { name: 's3-creds' } },
      },
    } as unknown as RetrainJob);
    await client.create(RetrainJobType, {
      apiVersion: 'fluxora.io/v1alpha1',
      kind: 'RetrainJob',
      metadata: { name: 'retrain-log', namespace: ns },
      spec: {
        modelRef: { name: 'churn' },
        trainer: { builtin: { algorithm: 'linear', target: 'y' } },
        dataset: { predictionLog: { minRows: 10, labels: { uri: `s3://${bucket}/labels/`, credentialsSecretRef: { name: 's3-creds' } } } },
        output: { uri: `s3://${bucket}/runs`, credentialsSecretRef: { name: 's3-creds' } },
      },
    } as unknown as RetrainJob);
  }, 300_000);

  afterAll(async () => {
    await serve?.stop();
    await operator?.stop();
  });

  describe('pod security "restricted"', () => {
    it('negative control: the namespace refuses a privileged pod', async () => {
      const err = await client
        .create(PodResource, {
          apiVersion: 'v1',
          kind: 'Pod',
          metadata: { name: 'privileged', namespace: ns },
          spec: { containers: [{ name: 'c', image: 'busybox', securityContext: { privileged: true } }] },
        } as KubeObject)
        .then(() => undefined, (e: unknown) => e);
      expect(err).toBeInstanceOf(ApiError);
      expect((err as ApiError).message).toContain('violates PodSecurity "restricted:latest"');
    });

    it('negative control: a Deployment whose pods are refused is seen as FailedCreate / ReplicaFailure', async () => {
      await client.create(DeploymentResource, {
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: { name: CONTROL, namespace: ns },
        spec: {
          replicas: 1,
          selector: { matchLabels: { app: CONTROL } },
          template: { metadata: { labels: { app: CONTROL } }, spec: { containers: [{ name: 'c', image: 'busybox' }] } },
        },
      } as KubeObject);
      const failures = await waitFor('FailedCreate for the control', async () => {
        const f = (await admissionFailures(client, ns)).filter((x) => x.includes(CONTROL));
        return f.length ? f : undefined;
      });
      expect(failures.join('\n')).toContain('violates PodSecurity');
      await client.delete(DeploymentResource, ns, CONTROL);
    });

    it("the serving Deployment's pods are admitted and the Model becomes Ready", async () => {
      await waitFor(
        'Model Ready',
        async () => getCondition((await client.get<Model>(ModelType, ns, 'churn')).status?.conditions, 'Ready')?.status === 'True',
        90_000,
      );
      const pods = await client.list(PodResource, ns, 'fluxora.io/model=churn,app.kubernetes.io/component=inference');
      expect(pods.length).toBeGreaterThanOrEqual(1);
      expect((await admissionFailures(client, ns)).filter((x) => !x.includes(CONTROL))).toEqual([]);
    });

    it("the trainer Job's pod is admitted, and the operator reads its output from S3", async () => {
      const rj = await retrainJobFinished(client, ns, 'retrain-1', 90_000);
      const pods = await client.list(PodResource, ns, 'app.kubernetes.io/component=trainer');
      expect(pods.length).toBeGreaterThanOrEqual(1);
      expect(rj.status?.phase).toBe('Succeeded');
      expect(rj.status?.artifact?.sha256).toBe(sha256Hex('trained-model-bytes'));
      const job = await client.get<Conditioned>(JobResource, ns, 'retrain-1');
      expect(job.status?.succeeded).toBe(1);
      expect((await admissionFailures(client, ns)).filter((x) => !x.includes(CONTROL))).toEqual([]);
    });

    it("the trainer Job's pod with the data set step (an init container) is admitted, and the operator records its dataset.json", async () => {
      const rj = await retrainJobFinished(client, ns, 'retrain-log', 90_000);
      expect(rj.status?.phase).toBe('Succeeded');
      expect(rj.status?.dataset).toMatchObject({ rows: 30, sha256: sha256Hex('rows') });
      const pods = await client.list<KubeObject & { spec: { initContainers?: { name: string }[] } }>(PodResource, ns, 'fluxora.io/retrain-job=retrain-log');
      expect(pods.length).toBeGreaterThanOrEqual(1);
      expect(pods[0]!.spec.initContainers?.map((c) => c.name)).toEqual(['dataset']);
      expect((await admissionFailures(client, ns)).filter((x) => !x.includes(CONTROL))).toEqual([]);
    });

    it("the drift-check CronJob's scheduled Job gets an admitted pod", async () => {
      // The schedule fires on the next minute boundary.
      const pods = await waitFor(
        'a drift-check pod',
        async () => {
          const p = await client.list(PodResource, ns, 'app.kubernetes.io/component=drift-check');
          return p.length ? p : undefined;
        },
        100_000,
        1000,
      );
      expect(pods[0]!.metadata.ownerReferences?.[0]?.kind).toBe('Job');
      expect((await admissionFailures(client, ns)).filter((x) => !x.includes(CONTROL))).toEqual([]);
    }, 150_000);
  });

  describe('secrets never reach logs, Events or status', () => {
    it('serve and drift-check do their work with the secrets, on success and failure paths', async () => {
      await waitFor('the Deployment', () => client.getOrUndefined(DeploymentResource, ns, 'churn'), 90_000);
      await waitFor('the CronJob', () => client.getOrUndefined(CronJobResource, ns, 'churn-drift-drift-check'), 90_000);
      await waitFor('a ready serving pod address', async () => {
        const slices = await client.list<KubeObject & { endpoints?: unknown[] }>(EndpointSliceResource, ns, 'kubernetes.io/service-name=churn');
        return slices.some((s) => s.endpoints?.length);
      }, 90_000);
      const dep = await client.get<PodTemplateOwner>(DeploymentResource, ns, 'churn');
      const container = dep.spec.template.spec.containers[0]!;
      expect(container.envFrom?.map((e) => e.secretRef?.name)).toEqual(['s3-creds']);
      const tokenSecret = await client.get<KubeObject & { data: Record<string, string> }>(SecretResource, ns, 'churn-samples-token');
      secrets.samplesToken = Buffer.from(tokenSecret.data.token!, 'base64').toString();
      secrets.wrongSamplesToken = randomBytes(24).toString('hex');

      // A `fluxora serve` with the serving pod's environment: artifact from S3 with the Secret's keys.
      const env: Record<string, string> = { ...s3Env, FLUXORA_SAMPLES_TOKEN: secrets.samplesToken, FLUXORA_LOG_LEVEL: 'debug' };
      for (const e of container.env ?? []) if (e.value !== undefined) env[e.name] = e.value;
      Object.assign(env, { FLUXORA_HOST: '127.0.0.1', FLUXORA_PORT: '0', FLUXORA_ADMIN_PORT: '0', FLUXORA_GRPC_PORT: '0' });
      serve = startFluxora(['serve'], env);
      const listening = await serve.waitForLine((l) => l.msg === 'listening');
      await serve.waitForLine((l) => l.msg === 'model loaded; ready');
      const port = listening.port as number;
      const adminPort = listening.adminPort as number;
      const rows = Array.from({ length: 100 }, (_, i) => [i % 7, (i * 3) % 11, i % 3]);
      expect((await http(port, { path: '/v2/models/churn/infer', body: inferBody(rows), headers: { 'content-type': 'application/json' } })).status).toBe(200);
      const refused = await http(adminPort, { path: '/v2/models/churn/samples', headers: { authorization: `Bearer ${secrets.wrongSamplesToken}` } });
      expect(refused.status).toBe(401);

      // drift-check as the CronJob's pod runs it: its ServiceAccount's token, the Secret's S3 keys.
      const cj = await client.get<PodTemplateOwner & { spec: { jobTemplate: { spec: PodTemplateOwner['spec'] } } }>(CronJobResource, ns, 'churn-drift-drift-check');
      const args = cj.spec.jobTemplate.spec.template.spec.containers[0]!.args!;
      const tok = await client.request<{ status: { token: string } }>('POST', `/api/v1/namespaces/${ns}/serviceaccounts/churn-drift-drift-check/token`, {
        body: { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec: { expirationSeconds: 600 } },
      });
      secrets.driftCheckApiToken = tok.status.token;
      const cluster = client.kubeConfig.getCurrentCluster()!;
      const kubeconfig = join(dir, 'drift-check.kubeconfig');
      await writeFile(
        kubeconfig,
        JSON.stringify({
          apiVersion: 'v1',
          kind: 'Config',
          'current-context': 'c',
          clusters: [{ name: 'c', cluster: { server: cluster.server, 'certificate-authority': cluster.caFile } }],
          users: [{ name: 'u', user: { token: secrets.driftCheckApiToken } }],
          contexts: [{ name: 'c', context: { cluster: 'c', user: 'u' } }],
        }),
      );
      const slices = await client.list<KubeObject & { endpoints?: { addresses: string[] }[] }>(EndpointSliceResource, ns, 'kubernetes.io/service-name=churn');
      const podAddress = slices.flatMap((s) => s.endpoints ?? [])[0]?.addresses[0];
      expect(podAddress).toBeDefined();
      const checkEnv = { FLUXORA_SAMPLES_ADDRESS_MAP: `${podAddress}:8081=127.0.0.1:${adminPort}`, FLUXORA_LOG_LEVEL: 'debug' };

      // Failure path first: a wrong S3 secret key is refused by MinIO, and the error is logged.
      secrets.wrongS3SecretKey = randomBytes(20).toString('base64url');
      const failed = await runFluxora([...args, `--kubeconfig=${kubeconfig}`], { ...s3Env, ...checkEnv, AWS_SECRET_ACCESS_KEY: secrets.wrongS3SecretKey });
      finishedOutput.push(failed.stdout, failed.stderr);
      expect(failed.code, failed.stdout + failed.stderr).toBe(1);
      expect(failed.stdout).toContain('drift check failed');

      const ok = await runFluxora([...args, `--kubeconfig=${kubeconfig}`], { ...s3Env, ...checkEnv });
      finishedOutput.push(ok.stdout, ok.stderr);
      expect(ok.code, ok.stdout + ok.stderr).toBe(0);
      expect(ok.stdout).toContain('drift check finished');
      const monitor = await client.get<DriftMonitor>(DriftMonitorType, ns, 'churn-drift');
      expect(monitor.status?.sampleCount).toBe(100);
    });

    it('the trainer does its work with the S3 secret, on success and failure paths', async () => {
      // `fluxora train` with the trainer Job's environment and the Secret's keys (its envFrom), writing to a prefix of its own.
      const job = await waitFor('the trainer Job', () => client.getOrUndefined<PodTemplateOwner>(JobResource, ns, 'retrain-1'), 90_000);
      const container = job.spec.template.spec.containers[0]!;
      expect(container.envFrom?.map((e) => e.secretRef?.name)).toEqual(['s3-creds']);
      const env: Record<string, string> = { ...s3Env, FLUXORA_LOG_LEVEL: 'debug' };
      for (const e of container.env ?? []) if (e.value !== undefined) env[e.name] = e.value;
      env.FLUXORA_OUTPUT_URI = `s3://${bucket}/runs/trainer-process/`;

      secrets.wrongTrainerS3SecretKey = randomBytes(20).toString('base64url');
      const failed = await runFluxora(container.args!, { ...env, AWS_SECRET_ACCESS_KEY: secrets.wrongTrainerS3SecretKey });
      finishedOutput.push(failed.stdout, failed.stderr);
      // 3: credentials a retry would present the same way (src/training/exit-codes.ts).
      expect(failed.code, failed.stdout + failed.stderr).toBe(3);
      expect(failed.stdout).toContain('training failed');

      const ok = await runFluxora(container.args!, env);
      finishedOutput.push(ok.stdout, ok.stderr);
      expect(ok.code, ok.stdout + ok.stderr).toBe(0);
      expect(ok.stdout).toContain('"trained"');
    });

    it('the data set step does its work with the S3 secret under its prefixes, on success and failure paths', async () => {
      // `fluxora dataset-build` with the init container's environment and its Secrets as envFrom gives them (with their prefixes).
      const job = await waitFor('the trainer Job', () => client.getOrUndefined<PodTemplateOwner>(JobResource, ns, 'retrain-log'), 90_000);
      const step = job.spec.template.spec.initContainers![0]!;
      expect(step.envFrom).toEqual([
        { secretRef: { name: 's3-creds' } },
        { prefix: 'FLUXORA_PREDICTION_LOG_', secretRef: { name: 's3-creds' } },
        { prefix: 'FLUXORA_LABELS_', secretRef: { name: 's3-creds' } },
      ]);
      const env: Record<string, string> = { FLUXORA_LOG_LEVEL: 'debug' };
      for (const from of step.envFrom ?? []) for (const [k, v] of Object.entries(s3Env)) env[`${from.prefix ?? ''}${k}`] = v;
      for (const e of step.env ?? []) if (e.value !== undefined) env[e.name] = e.value;
      env.FLUXORA_OUTPUT_URI = `s3://${bucket}/runs/dataset-process/`;

      secrets.wrongLabelsS3SecretKey = randomBytes(20).toString('base64url');
      const failed = await runFluxora(step.args!, { ...env, FLUXORA_LABELS_AWS_SECRET_ACCESS_KEY: secrets.wrongLabelsS3SecretKey });
      finishedOutput.push(failed.stdout, failed.stderr);
      // 3: credentials a retry would present the same way.
      expect(failed.code, failed.stdout + failed.stderr).toBe(3);
      expect(failed.stdout).toContain('building the data set failed');

      const ok = await runFluxora(step.args!, env);
      finishedOutput.push(ok.stdout, ok.stderr);
      expect(ok.code, ok.stdout + ok.stderr).toBe(0);
      expect(ok.stdout).toContain('data set written');
    });

    it('positive control: the search finds a value a process does log', async () => {
      const canary = `canary-${randomBytes(12).toString('hex')}`;
      const r = await runFluxora(['drift-check', '--monitor', `${ns}/${canary}`, `--kubeconfig=${inject('kubeconfig')}`]);
      expect(r.code).not.toBe(0);
      expect(leakedSecrets(r.stdout + r.stderr, { canary })).toEqual(['canary']);
      expect(leakedSecrets(JSON.stringify({ msg: Buffer.from(canary).toString('base64') }), { canary })).toEqual(['canary']);
    });

    it('no secret in any output, Event or status', async () => {
      expect(Object.keys(secrets).sort()).toEqual(
        ['driftCheckApiToken', 'operatorApiToken', 's3SecretAccessKey', 's3SessionToken', 'samplesToken', 'wrongLabelsS3SecretKey', 'wrongS3SecretKey', 'wrongSamplesToken', 'wrongTrainerS3SecretKey'].sort(),
      );
      // The processes did log (the search has something to search).
      expect(operator!.jsonLines().length).toBeGreaterThan(10);
      expect(serve!.jsonLines().map((l) => l.msg)).toContain('model loaded; ready');
      const events = await client.list<EventObject>(EventResource, ns);
      expect(events.some((e) => e.metadata.name.startsWith('churn.'))).toBe(true);
      const resources = [
        ...(await client.list(ModelType, ns)),
        ...(await client.list(DriftMonitorType, ns)),
        ...(await client.list(RetrainJobType, ns)),
      ];
      const places: Record<string, string> = {
        'operator stdout': operator!.stdout(),
        'operator stderr': operator!.stderr(),
        'serve stdout': serve!.stdout(),
        'serve stderr': serve!.stderr(),
        'drift-check, dataset-build and trainer output': finishedOutput.join('\n'),
        Events: JSON.stringify(events),
        'Model/DriftMonitor/RetrainJob status': JSON.stringify(resources.map((r) => (r as { status?: unknown }).status)),
      };
      const found = Object.entries(places).flatMap(([where, text]) => leakedSecrets(text, secrets).map((s) => `${s} in ${where}`));
      expect(found).toEqual([]);
    });
  });
});
