// Ground-truth labels: CSV or JSON Lines files (optionally gzipped) under a
// prefix, each row a request id and the true value, arriving any time after
// the prediction. Read for the performance check and the training window.
//
// Files are applied oldest first (by last-modified time, then name), so a
// correction written later replaces an earlier label for the same id; the
// replacement is counted. A file that cannot be read or parsed is skipped
// whole and reported with its line, and the others still count. Files
// written before `modifiedSince` are not read at all: labels for
// predictions in a window can only have arrived after it began.
import { gunzipSync } from 'node:zlib';
import { listObjectDetails, readObject, type CommonOptions } from '../storage/index.js';
import { decodeTableText, formatFromName, MAX_TABLE_BYTES, parseTable } from '../table/index.js';
import { ProblemList } from './log-reader.js';

export type LabelValue = number | string;

export interface LabelSet {
  /** The latest label per id. */
  byId: Map<string, LabelValue>;
  /** Whether every label read is a number (regression, or classes written as 0/1). */
  numeric: boolean;
  files: number;
  /** Label rows read (before de-duplication). */
  rows: number;
  /** Rows that repeated an id with the same value (harmless), and with another value (the later one wins). */
  repeated: number;
  conflicting: number;
  /** Rows without an id or a label (missing cells): not used. */
  incomplete: number;
  problems: ProblemList;
}

export interface ReadLabelsOptions extends CommonOptions {
  /** A prefix (ending in "/" for a directory) or one file. */
  uri: string;
  idColumn: string;
  labelColumn: string;
  modifiedSince?: Date;
}

/** Names that are not data by convention: Spark's _SUCCESS, hidden files. */
const isMarker = (uri: string) => /\/[_.][^/]*$/.test(uri);

function decode(uri: string, data: Buffer): string {
  if (uri.toLowerCase().endsWith('.gz')) {
    try {
      data = gunzipSync(data, { maxOutputLength: MAX_TABLE_BYTES });
    } catch (e) {
      throw new Error(`${uri}: not a valid gzip file (${(e as Error).message})`);
    }
  }
  return decodeTableText(data, uri);
}

export async function readLabels(o: ReadLabelsOptions): Promise<LabelSet> {
  const since = o.modifiedSince?.getTime() ?? -Infinity;
  const listed = (await listObjectDetails(o.uri, o))
    .filter((d) => !isMarker(d.uri) && d.modified.getTime() >= since)
    .sort((a, b) => a.modified.getTime() - b.modified.getTime() || (a.uri < b.uri ? -1 : 1));
  const set: LabelSet = { byId: new Map(), numeric: true, files: 0, rows: 0, repeated: 0, conflicting: 0, incomplete: 0, problems: new ProblemList() };
  for (const d of listed) {
    const format = formatFromName(d.uri);
    if (!format) {
      set.problems.add({ uri: d.uri, message: 'not a label file: the name must end in .csv, .jsonl, .ndjson or .json (optionally .gz)' });
      continue;
    }
    let ids: readonly (string | null)[];
    let values: Float64Array | readonly (string | null)[];
    try {
      const text = decode(d.uri, await readObject(d.uri, { ...o, maxBytes: MAX_TABLE_BYTES }));
      // Ids stay text ("007" is not 7); the label's type is inferred per file.
      const t = parseTable(text, d.uri, format, { columns: [o.idColumn, o.labelColumn], types: new Map([[o.idColumn, 'categorical']]) });
      ids = t.columns.get(o.idColumn) as readonly (string | null)[];
      values = t.columns.get(o.labelColumn)!;
    } catch (e) {
      // Table errors lead with "<uri>:<line>: "; keep the line apart so the summary names it once.
      const m = /^:(\d+)(?::\d+)?: (.*)$/s.exec((e as Error).message.replace(d.uri, ''));
      set.problems.add(m ? { uri: d.uri, line: Number(m[1]), message: m[2]! } : { uri: d.uri, message: (e as Error).message.replace(`${d.uri}: `, '') });
      continue;
    }
    set.files++;
    for (let i = 0; i < ids.length; i++) {
      set.rows++;
      const id = ids[i];
      const v = values[i];
      if (id === null || id === undefined || id === '' || v === null || v === undefined || (typeof v === 'number' && Number.isNaN(v))) {
        set.incomplete++;
        continue;
      }
      if (typeof v !== 'number') set.numeric = false;
      const before = set.byId.get(id);
      if (before !== undefined) {
        if (String(before) === String(v)) set.repeated++;
        else set.conflicting++;
      }
      set.byId.set(id, v);
    }
  }
  return set;
}
