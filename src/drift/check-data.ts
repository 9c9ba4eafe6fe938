// The data of one drift check, apart from where the current rows come from:
// which columns are checked (the Model's features, the monitor's outputs),
// and the reference and current data sets read as tables. A problem the user
// must fix is a CheckError whose reason becomes the DriftDetected condition's.
import type { DriftMonitor, Model } from '../api/index.js';
import { isStorageError, readObject } from '../storage/index.js';
import { decodeTableText, formatFromName, MAX_TABLE_BYTES, parseTable, TableError } from '../table/index.js';
import type { FeatureSpec } from './types.js';

export class CheckError extends Error {
  constructor(readonly reason: string, message: string) {
    super(message);
    this.name = 'CheckError';
  }
}

/**
 * A data set that could not be read or parsed. Storage and table errors lead
 * with the URI already ("s3://b/ref.csv does not exist", "s3://b/ref.csv:3:
 * ..."): it is named once, after the data set's role; other errors get it.
 */
export function dataSetError(reason: string, role: 'reference' | 'current', uri: string, e: unknown): CheckError {
  const message = e instanceof Error ? e.message : String(e);
  return new CheckError(reason, message.includes(uri) ? `${role}: ${message}` : `${role} ${uri}: ${message}`);
}

/** `sha256`: the digest the data set must have (a version's recorded training data); another one fails with ChecksumMismatch. */
export async function loadDataSet(uri: string, columns: readonly FeatureSpec[], sha256?: string) {
  const text = decodeTableText(await readObject(uri, { maxBytes: MAX_TABLE_BYTES, ...(sha256 ? { sha256 } : {}) }), uri);
  const format = formatFromName(uri.replace(/\?.*$/, '')) ?? 'csv';
  return parseTable(text, uri, format, { columns: columns.map((f) => f.name), types: new Map(columns.map((f) => [f.name, f.type])) });
}

/** A monitored model output: its column (name), and where its value sits in a logged request. */
export interface OutputColumn extends FeatureSpec {
  readonly type: 'numeric' | 'categorical';
  /** The output tensor, as logged. */
  readonly output: string;
  /** The element of the output's row. */
  readonly index: number;
}

export interface CheckedColumns {
  /** The Model's features, with the monitor's method and threshold where it lists them. */
  features: FeatureSpec[];
  /** The monitor's spec.outputs. */
  outputs: OutputColumn[];
}

export function checkedColumns(m: DriftMonitor, model: Model): CheckedColumns {
  const overrides = new Map((m.spec.features ?? []).map((f) => [f.name, f]));
  const features: FeatureSpec[] = model.spec.features.map((f) => {
    const o = overrides.get(f.name);
    return { name: f.name, type: f.type, method: o?.method ?? 'auto', ...(o?.threshold !== undefined ? { threshold: o.threshold } : {}) };
  });
  const outputs: OutputColumn[] = (m.spec.outputs ?? []).map((o) => ({
    name: o.name,
    type: o.type,
    method: o.method,
    ...(o.threshold !== undefined ? { threshold: o.threshold } : {}),
    output: o.output ?? o.name,
    index: o.index,
  }));
  // The API server refuses an output named like a feature the monitor lists;
  // the Model's features live on another object, so that clash is found here.
  const featureNames = new Set(features.map((f) => f.name));
  const clash = outputs.filter((o) => featureNames.has(o.name)).map((o) => `"${o.name}"`);
  if (clash.length) {
    throw new CheckError(
      'OutputNameConflict',
      `spec.outputs ${clash.join(', ')} has the name of a feature of Model "${model.metadata.name}": features and outputs are columns ` +
        'of the same reference data set, so give the output another name (and its reference column the same one)',
    );
  }
  return { features, outputs };
}

/** "output "probability", element 1 of each row", for messages. */
const describeOutput = (o: OutputColumn) => `output "${o.output}"${o.index > 0 ? `, element ${o.index} of each row` : ''}`;

/**
 * The reference data set's feature and output columns. A missing output
 * column gets its own reason: the reference is usually training data, which
 * has no model outputs until someone scores it.
 */
export async function loadReference(uri: string, { features, outputs }: CheckedColumns, recorded?: { sha256?: string; version?: string }) {
  try {
    return await loadDataSet(uri, [...features, ...outputs], recorded?.sha256);
  } catch (e) {
    if (isStorageError(e, 'ChecksumMismatch')) {
      // The version was trained on other bytes: comparing with these would judge it against data it never saw.
      throw new CheckError(
        'ReferenceChanged',
        `reference ${uri} is no longer the data set ${recorded?.version ? `version ${recorded.version}` : 'the version'} was trained on ` +
          `(recorded sha256 ${recorded?.sha256}): it was replaced after training. Keep training data sets immutable (one object per run), ` +
          'or set reference.uri to a fixed reference',
      );
    }
    const missing = e instanceof TableError ? outputs.find((o) => o.name === e.column) : undefined;
    if (missing) {
      throw new CheckError(
        'ReferenceMissingOutput',
        `reference ${uri} has no column "${missing.name}" for spec.outputs "${missing.name}": add the model's outputs on the reference rows ` +
          `as that column (the ${describeOutput(missing)} for each row, e.g. the reference scored by the serving model); ${(e as Error).message.replace(`${uri}: `, '')}`,
      );
    }
    throw dataSetError('ReferenceUnreadable', 'reference', uri, e);
  }
}
