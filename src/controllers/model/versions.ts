// Which artifact a Model serves. Pure logic, no I/O.
import { MODEL_VERSIONS_MAX } from '../../api/index.js';
//
// status.versions is the Model's bounded history. The artifact in spec is
// recorded as a version (source "Spec") the first time it is seen; accepted
// retrains add versions with source "RetrainJob/<name>". The served version:
//   - spec.pinnedVersion, when set (rollback or choice through git);
//   - otherwise, with promotion Automatic, the newest version;
//   - with promotion Manual, the newest version that came from the spec, so
//     retrained versions wait for a human to pin them.

export interface VersionRecord {
  name: string;
  uri: string;
  sha256?: string;
  source: string;
  metrics?: Record<string, number>;
  /** The data set the version was trained on: a RetrainJob's (window: built from the prediction log), or spec.artifact.trainingData. */
  dataset?: { uri: string; sha256?: string; window?: { from: string; to: string } };
  createdAt: string;
}

export interface VersionInputs {
  artifact: { uri: string; sha256?: string; trainingData?: { uri: string; sha256?: string } };
  promotionPolicy: 'Automatic' | 'Manual';
  pinnedVersion?: string;
}

export interface VersionDecision {
  versions: VersionRecord[];
  serving: VersionRecord | undefined;
  /** Set when the spec asks for something that cannot be served. */
  problem?: { reason: string; message: string };
  /** The spec's artifact was new and has just been recorded. */
  recorded?: VersionRecord;
}

/** Bounded like status.versions in the CRD (maxItems). */
export const MAX_VERSIONS = MODEL_VERSIONS_MAX;

const versionNumber = (name: string): number => {
  const m = /^v(\d+)$/.exec(name);
  return m ? Number(m[1]) : 0;
};

export function nextVersionName(versions: readonly VersionRecord[]): string {
  return `v${versions.reduce((max, v) => Math.max(max, versionNumber(v.name)), 0) + 1}`;
}

/** Drops the oldest records beyond the limit, never the served or pinned one. */
export function trimHistory(versions: VersionRecord[], keep: ReadonlySet<string>, max = MAX_VERSIONS): VersionRecord[] {
  const out = [...versions];
  for (let i = 0; out.length > max && i < out.length; ) {
    if (keep.has(out[i]!.name)) i++;
    else out.splice(i, 1);
  }
  return out;
}

export function decideVersions(inputs: VersionInputs, current: readonly VersionRecord[] | undefined, now: string): VersionDecision {
  let versions = [...(current ?? [])];
  const { uri, sha256 } = inputs.artifact;
  let specVersion = [...versions]
    .reverse()
    .find((v) => v.source === 'Spec' && v.uri === uri && (v.sha256 ?? '') === (sha256 ?? ''));
  let recorded: VersionRecord | undefined;
  // The spec's artifact carries what it was trained on (spec.artifact.trainingData), for a
  // DriftMonitor that follows the serving version's reference. Declared after the artifact was
  // recorded, it is added to (or corrected on) that artifact's record: it describes the same file.
  const td = inputs.artifact.trainingData;
  const dataset = td ? { uri: td.uri, ...(td.sha256 ? { sha256: td.sha256 } : {}) } : undefined;
  if (!specVersion) {
    specVersion = { name: nextVersionName(versions), uri, ...(sha256 ? { sha256 } : {}), source: 'Spec', ...(dataset ? { dataset } : {}), createdAt: now };
    versions.push(specVersion);
    recorded = specVersion;
  } else if (dataset && (specVersion.dataset?.uri !== dataset.uri || specVersion.dataset.sha256 !== dataset.sha256)) {
    const updated: VersionRecord = { ...specVersion, dataset };
    versions = versions.map((v) => (v === specVersion ? updated : v));
    specVersion = updated;
  }

  let serving: VersionRecord | undefined;
  let problem: VersionDecision['problem'];
  if (inputs.pinnedVersion) {
    serving = versions.find((v) => v.name === inputs.pinnedVersion);
    if (!serving) {
      problem = {
        reason: 'PinnedVersionNotFound',
        message: `spec.pinnedVersion "${inputs.pinnedVersion}" is not in status.versions (known: ${versions.map((v) => v.name).join(', ')})`,
      };
    }
  } else if (inputs.promotionPolicy === 'Manual') {
    serving = specVersion;
  } else {
    serving = versions[versions.length - 1];
  }
  const keep = new Set([specVersion.name, ...(serving ? [serving.name] : []), ...(inputs.pinnedVersion ? [inputs.pinnedVersion] : [])]);
  versions = trimHistory(versions, keep);
  return { versions, serving, ...(problem ? { problem } : {}), ...(recorded ? { recorded } : {}) };
}
