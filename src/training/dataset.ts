// The training data set: a CSV or JSON Lines object read through the storage
// module, parsed by the same table reader the drift check uses (so one file
// reads the same way everywhere), reduced to the numeric columns a run needs.
import { gunzipSync } from 'node:zlib';
import { isStorageError, readObject, sha256Hex } from '../storage/index.js';
import type { CommonOptions } from '../storage/index.js';
import { decodeTableText, formatFromName, MAX_TABLE_BYTES, parseTable, TableError, tableTooLarge, type ColumnType } from '../table/index.js';
import { TrainingError } from './errors.js';

export interface NumericTable {
  uri: string;
  /** sha256 of the bytes as stored (before gunzip), recorded in metrics.json. */
  sha256: string;
  /** Rows with every needed column present. */
  rows: number;
  /** Rows left out because a needed column was missing (empty, NA, NaN, ...). */
  dropped: number;
  columns: ReadonlyMap<string, Float64Array>;
}

export interface LoadOptions extends CommonOptions {
  /** Largest data set read into memory, in bytes. */
  maxBytes?: number;
}

/** Default cap on a data set read into memory: the trainer holds it whole. */
export const DEFAULT_MAX_DATASET_BYTES = 2 * 1024 ** 3;

/**
 * The largest gzip file that can still expand to MAX_TABLE_BYTES: gzip never
 * grows data by more than its stored blocks' 5 bytes per 64 KiB, plus a
 * header and trailer (generously 1 KiB).
 */
const GZIP_INPUT_BOUND = MAX_TABLE_BYTES + Math.ceil(MAX_TABLE_BYTES / 65_535) * 5 + 1024;

/**
 * Reads `columns` (every one numeric and required) from the data set at `uri`.
 * Rows missing any of them are dropped and counted; a row with a present but
 * non-numeric value is an error naming the file, line and column.
 */
export async function loadNumericTable(uri: string, columns: readonly string[], o: LoadOptions = {}): Promise<NumericTable> {
  const path = uri.replace(/[?#].*$/, '');
  const format = formatFromName(path) ?? 'csv';
  const gzip = path.toLowerCase().endsWith('.gz');
  // Never hold more than the table reader can take: a plain file over its
  // limit, or a .gz file too big to expand to at most that limit, is refused
  // before it is read whole (by a stat or Content-Length where the store
  // gives one), so an oversized data set ends with this message, not an OOM kill.
  const readable = gzip ? GZIP_INPUT_BOUND : MAX_TABLE_BYTES;
  const cap = Math.min(o.maxBytes ?? DEFAULT_MAX_DATASET_BYTES, readable);
  let bytes: Buffer;
  try {
    bytes = await readObject(uri, { ...o, maxBytes: cap });
  } catch (e) {
    if (cap === readable && isStorageError(e, 'TooLarge')) {
      const size = e.size === undefined ? `more than ${cap}` : String(e.size);
      throw new TrainingError(
        gzip
          ? `${uri}: the compressed file is ${size} bytes, too large to decompress to at most ${MAX_TABLE_BYTES} bytes, the most a data set may have`
          : tableTooLarge(uri, size).message,
      );
    }
    throw e;
  }
  const sha256 = sha256Hex(bytes);
  if (gzip) {
    try {
      bytes = gunzipSync(bytes, { maxOutputLength: MAX_TABLE_BYTES });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') {
        throw new TrainingError(`${uri}: decompresses to more than ${MAX_TABLE_BYTES} bytes, the most a data set may have`);
      }
      throw new TrainingError(`${uri}: not a valid gzip file (${(e as Error).message})`);
    }
  }
  let table;
  try {
    // Decoded like the drift check's data sets: UTF-16, non-UTF-8 and files too large for one string are named, not misread.
    const text = decodeTableText(bytes, uri);
    if (text.trim() === '') throw new TrainingError(`${uri}: the data set is empty`);
    table = parseTable(text, uri, format, { columns, types: new Map(columns.map((c): [string, ColumnType] => [c, 'numeric'])) });
  } catch (e) {
    if (e instanceof TableError) throw new TrainingError(e.message);
    throw e;
  }
  const raw = columns.map((c) => table.columns.get(c) as Float64Array);
  const keep: number[] = [];
  for (let r = 0; r < table.rows; r++) {
    if (raw.every((col) => Number.isFinite(col[r]))) keep.push(r);
  }
  const out = new Map<string, Float64Array>();
  columns.forEach((c, i) => out.set(c, Float64Array.from(keep, (r) => raw[i]![r]!)));
  return { uri, sha256, rows: keep.length, dropped: table.rows - keep.length, columns: out };
}

/** Row-major matrix of the named columns for the given rows. */
export function matrix(table: NumericTable, names: readonly string[], rows: ArrayLike<number>): Float64Array {
  const cols = names.map((n) => table.columns.get(n));
  const d = names.length;
  const m = new Float64Array(rows.length * d);
  for (let i = 0; i < rows.length; i++) {
    const r = rows[i]!;
    for (let j = 0; j < d; j++) m[i * d + j] = cols[j]![r]!;
  }
  return m;
}

export function pick(values: Float64Array, rows: ArrayLike<number>): Float64Array {
  return Float64Array.from({ length: rows.length }, (_, i) => values[rows[i]!]!);
}
