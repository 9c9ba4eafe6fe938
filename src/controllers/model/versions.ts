// Which artifact a Model serves. Pure logic, no I/O.
import { MODEL_VERSIONS_MAX } from '../../api/index.js';
//
// status.versions is the Model's bounded history. The artifact in spec is
// recorded as a version (source "Spec") the first time it is seen; accepted
// retrains add versions with source "RetrainJob/<name>". spec.pinnedVersion
// names one by name or by its artifact's digest. Which version promotion
// serves when nothing is pinned is promotion.ts's business.

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
  pinnedVersion?: string;
}

export interface VersionDecision {
  versions: VersionRecord[];
  /** The version spec.artifact names (recorded now if it was new). */
  specVersion: VersionRecord;
  /** The version spec.pinnedVersion selects, when it selects one. */
  pinned?: VersionRecord;
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

/** v12 -> 12: versions are ordered by number (names are never reused). */
export const versionNumberOf = (name: string): number => versionNumber(name);

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

/** A pin is a name (v3) or sha256:<hex> of a version's artifact; the newest version with that digest wins. */
export function resolvePin(pin: string, versions: readonly VersionRecord[]): VersionRecord | undefined {
  if (!pin.startsWith('sha256:')) return versions.find((v) => v.name === pin);
  const digest = pin.slice('sha256:'.length).toLowerCase();
  return [...versions].reverse().find((v) => v.sha256?.toLowerCase() === digest);
}

function pinProblem(pin: string, versions: readonly VersionRecord[]): { reason: string; message: string } {
  if (!pin.startsWith('sha256:')) {
    return { reason: 'PinnedVersionNotFound', message: `spec.pinnedVersion "${pin}" is not in status.versions (known: ${versions.map((v) => v.name).join(', ')})` };
  }
  const known = versions.filter((v) => v.sha256).map((v) => `${v.name} sha256:${v.sha256!.slice(0, 12)}…`);
  const unknown = versions.filter((v) => !v.sha256).map((v) => v.name);
  return {
    reason: 'PinnedVersionNotFound',
    message:
      `spec.pinnedVersion "${pin}": no version's artifact has that digest (known: ${known.join(', ') || 'none'})` +
      (unknown.length ? `; not yet known for ${unknown.join(', ')} (recorded once their pods have loaded them)` : ''),
  };
}

export function decideVersions(inputs: VersionInputs, current: readonly VersionRecord[] | undefined, now: string): VersionDecision {
  let versions = [...(current ?? [])];
  const { uri, sha256 } = inputs.artifact;
  // The same file: the same URI, and the same digest when the spec gives one (a digest recorded from the pods
  // for a spec that gives none does not make it a different file).
  let specVersion = [...versions]
    .reverse()
    .find((v) => v.source === 'Spec' && v.uri === uri && (sha256 === undefined || v.sha256?.toLowerCase() === sha256.toLowerCase()));
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
  const pinned = inputs.pinnedVersion ? resolvePin(inputs.pinnedVersion, versions) : undefined;
  const problem = inputs.pinnedVersion && !pinned ? pinProblem(inputs.pinnedVersion, versions) : undefined;
  // Not trimmed here: which versions must stay (served, candidate, the guard's fallback) is known only after promotion.
  return { versions, specVersion, ...(pinned ? { pinned } : {}), ...(problem ? { problem } : {}), ...(recorded ? { recorded } : {}) };
}
