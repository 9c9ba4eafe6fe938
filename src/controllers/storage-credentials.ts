// The operator reads trainer output (metrics.json, model.onnx) on a
// RetrainJob's behalf, so it must use the same storage settings the trainer
// pod got: the referenced Secret's AWS_* keys, not the operator's own
// environment.
import type { KubeClient, KubeObject } from '../runtime/kube-client.js';
import { s3OptionsFromEnv, type CommonOptions } from '../storage/index.js';
import { SecretResource } from './resource-types.js';

export class MissingSecretError extends Error {}

export async function storageOptionsFromSecret(client: KubeClient, namespace: string, secretName: string | undefined): Promise<CommonOptions> {
  if (!secretName) return {};
  const secret = await client.getOrUndefined<KubeObject & { data?: Record<string, string> }>(SecretResource, namespace, secretName);
  if (!secret) throw new MissingSecretError(`Secret "${secretName}" (the output's credentialsSecretRef) does not exist in namespace ${namespace}`);
  const vars = Object.fromEntries(Object.entries(secret.data ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64').toString('utf8')]));
  return { s3: s3OptionsFromEnv(vars) };
}
