// Which reference data set a DriftMonitor's check compares with. Pure logic.
//
// reference.uri is a fixed data set. reference.fromServingVersion follows the
// Model: the data set its serving version was trained on, as status.versions
// records it (a RetrainJob's training file, or spec.artifact.trainingData for
// the spec's artifact). After a promotion the next check compares with the
// new version's data, so a world that shifted and was retrained on stops
// reading as drift: the retrain answered it.
//
// The operator resolves it to say in status when there is none (and to keep
// the CronJob suspended meanwhile); the check resolves it again from the Model
// it reads, so it always uses the version serving when it runs.
import type { DriftMonitor, Model } from '../../api/index.js';

export const NO_REFERENCE_REASON = 'NoReferenceForVersion';

export type ResolvedReference =
  | { ok: true; uri: string; sha256?: string; version?: string }
  | { ok: false; reason: typeof NO_REFERENCE_REASON; message: string; version?: string };

type ModelView = { metadata: Pick<Model['metadata'], 'name'>; status?: Pick<NonNullable<Model['status']>, 'servingVersion' | 'versions'> };

export function resolveReference(m: Pick<DriftMonitor, 'spec'>, model: ModelView): ResolvedReference {
  const ref = m.spec.reference;
  if (ref.uri !== undefined) return { ok: true, uri: ref.uri };
  const name = model.metadata.name;
  const version = model.status?.servingVersion;
  if (!version) {
    return { ok: false, reason: NO_REFERENCE_REASON, message: `reference.fromServingVersion: Model "${name}" serves no version yet; no check runs until it does` };
  }
  const dataset = model.status?.versions?.find((v) => v.name === version)?.dataset;
  if (!dataset) {
    return {
      ok: false,
      reason: NO_REFERENCE_REASON,
      version,
      message:
        `reference.fromServingVersion: Model "${name}" serves ${version}, which records no training data set (status.versions[].dataset); ` +
        "no check runs until the serving version has one: declare the artifact's data with the Model's spec.artifact.trainingData, " +
        'serve a version a RetrainJob recorded, or set reference.uri instead',
    };
  }
  return { ok: true, uri: dataset.uri, ...(dataset.sha256 ? { sha256: dataset.sha256 } : {}), version };
}

/** The reference as status.reference shows it. */
export const referenceStatus = (r: Extract<ResolvedReference, { ok: true }>) => ({
  uri: r.uri,
  ...(r.sha256 ? { sha256: r.sha256 } : {}),
  ...(r.version ? { version: r.version } : {}),
});
