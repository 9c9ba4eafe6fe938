// What a RetrainJob's version was trained on, as its Model version records it
// (status.versions[].dataset), so a DriftMonitor with
// reference.fromServingVersion can compare live data with it:
//   dataset.predictionLog  the file the data set step built, its digest and
//                          window (dataset.json, parsed by dataset-step.ts);
//   dataset.uri            the file itself, with the SHA-256 the operator
//                          computes by reading it with dataset.credentialsSecretRef
//                          after the run, as it reads the run's output.
// The digest is lineage, not a gate: a file the operator cannot read (a pvc://
// path it has not mounted, a store that does not answer, a file larger than
// DIGEST_MAX_BYTES, which the operator, with its 512Mi limit, does not hold in
// memory) is recorded by its URI alone, and the run is judged as before.
import type { Logger } from 'pino';
import type { RetrainJob, RunDataset } from '../../api/index.js';
import type { KubeClient } from '../../runtime/kube-client.js';
import { readObject, sha256Hex } from '../../storage/index.js';
import { storageOptionsFromSecret } from '../storage-credentials.js';
import type { VersionRecord } from '../model/versions.js';

/** The largest training file whose digest the operator computes: it reads the whole file into memory. */
export const DIGEST_MAX_BYTES = 64 * 1024 * 1024;

export type TrainedOn = NonNullable<VersionRecord['dataset']>;

/** The record of a data set built from the prediction log. */
export const builtDataset = (d: RunDataset): TrainedOn => ({ uri: d.uri, sha256: d.sha256, window: d.window });

/** The record of a plain dataset.uri run: the URI, and its SHA-256 when the file can be read. */
export async function uriDataset(client: KubeClient, rj: RetrainJob, logger: Logger): Promise<TrainedOn | undefined> {
  const uri = rj.spec.dataset.uri;
  if (!uri) return undefined;
  try {
    const storage = await storageOptionsFromSecret(client, rj.metadata.namespace ?? '', rj.spec.dataset.credentialsSecretRef?.name);
    return { uri, sha256: sha256Hex(await readObject(uri, { ...storage, maxBytes: DIGEST_MAX_BYTES })) };
  } catch (e) {
    logger.warn({ kind: 'RetrainJob', namespace: rj.metadata.namespace, name: rj.metadata.name, dataset: uri, err: e }, 'could not read the training data set to record its digest; recording its URI alone');
    return { uri };
  }
}
