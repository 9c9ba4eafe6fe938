// Data files (CSV or JSON Lines) into typed columns, as the drift engine and
// the trainer take them: Float64Array for numeric columns, string labels for
// categorical ones. Missing values follow pandas (empty cell, NA, NaN, null,
// None, ...), since reference data sets are usually written by pandas and
// Evidently reads them back that way.
// Types are declared or inferred: a column is numeric when every present
// value is a number.
import { readFile, stat } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { MAX_ROW_CHARS, parseCsv, rowTooLong } from './csv.js';
import { TableError } from './errors.js';
import { checkTableSize, decodeTableText, MAX_TABLE_BYTES } from './text.js';
import type { ColumnType, TableColumn } from './types.js';

export type TableFormat = 'csv' | 'jsonl';

export interface ReadTableOptions {
  /** Default: from the file name (.csv; .jsonl, .ndjson, .json; optionally .gz). */
  readonly format?: TableFormat;
  /** Read only these columns (all by default); each must exist. */
  readonly columns?: readonly string[];
  /** Declared types; columns not listed are inferred. */
  readonly types?: ReadonlyMap<string, ColumnType>;
}

export interface LoadedTable {
  readonly file: string;
  /** Column names in file order (CSV header, or first appearance in JSON Lines). */
  readonly names: readonly string[];
  readonly columns: ReadonlyMap<string, TableColumn>;
  readonly types: ReadonlyMap<string, ColumnType>;
  readonly rows: number;
}

/** pandas' default `na_values`: cells that read as missing. */
const MISSING = new Set([
  '',
  '#N/A',
  '#N/A N/A',
  '#NA',
  '-1.#IND',
  '-1.#QNAN',
  '-NaN',
  '-nan',
  '1.#IND',
  '1.#QNAN',
  '<NA>',
  'N/A',
  'NA',
  'NULL',
  'NaN',
  'None',
  'n/a',
  'nan',
  'null',
]);

const DECIMAL = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/;
const INFINITE = /^([+-]?)inf(?:inity)?$/i;

/** A cell as a number: NaN when missing, undefined when it is not a number at all. */
export function parseNumberCell(raw: string): number | undefined {
  const s = raw.trim();
  if (MISSING.has(s)) return NaN;
  if (DECIMAL.test(s)) return Number(s);
  const inf = INFINITE.exec(s);
  if (inf) return inf[1] === '-' ? -Infinity : Infinity;
  return undefined;
}

export function formatFromName(name: string): TableFormat | undefined {
  const base = name.toLowerCase().replace(/\.gz$/, '');
  if (base.endsWith('.csv')) return 'csv';
  if (base.endsWith('.jsonl') || base.endsWith('.ndjson') || base.endsWith('.json')) return 'jsonl';
  return undefined;
}

/** A local path or file:// URI to a path; other schemes belong to the storage layer. */
export function localPath(pathOrUri: string): string {
  if (pathOrUri.startsWith('file:')) return fileURLToPath(pathOrUri);
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(pathOrUri)) {
    throw new TableError(`${pathOrUri}: only local paths and file:// URIs can be read here`, pathOrUri);
  }
  return pathOrUri;
}

/** Raw cells of the selected columns, and each row's line number. */
interface RawColumns {
  names: string[];
  cells: Map<string, unknown[]>;
  lines: number[];
}

/** A one-column CSV header holding a tab, semicolon or pipe was almost certainly written with another separator. */
function separatorHint(names: readonly string[]): string {
  const sep = names.length === 1 ? /[\t;|]/.exec(names[0] as string)?.[0] : undefined;
  if (sep === undefined) return '';
  return `; the header is one column containing ${JSON.stringify(sep)}: fields must be separated by commas`;
}

function selectColumns(file: string, names: readonly string[], wanted: readonly string[] | undefined, hint = ''): string[] {
  const selected = wanted ?? names;
  const missing = selected.filter((c) => !names.includes(c));
  if (missing.length > 0) {
    const list = missing.map((m) => `"${m}"`).join(', ');
    const has = names.map((n) => JSON.stringify(n).slice(1, -1)).join(', ') || 'none';
    throw new TableError(
      `${file}: missing column${missing.length > 1 ? 's' : ''} ${list} (it has: ${has})${hint}`,
      file,
      undefined,
      missing[0],
    );
  }
  return [...selected];
}

function rawCsv(text: string, file: string, wanted: readonly string[] | undefined): RawColumns {
  let header: string[] | undefined;
  let picks: { name: string; index: number; cells: unknown[] }[] = [];
  const lines: number[] = [];
  parseCsv(text, file, (fields, line) => {
    if (!header) {
      header = fields;
      const dup = fields.find((f, i) => fields.indexOf(f) !== i);
      if (dup !== undefined) throw new TableError(`${file}:${line}: column "${dup}" appears twice in the header`, file, line, dup);
      picks = selectColumns(file, fields, wanted, separatorHint(fields)).map((name) => ({ name, index: fields.indexOf(name), cells: [] }));
      return;
    }
    if (fields.length !== header.length) {
      throw new TableError(`${file}:${line}: expected ${header.length} fields (as in the header), found ${fields.length}`, file, line);
    }
    for (const p of picks) p.cells.push(fields[p.index]);
    lines.push(line);
  });
  if (!header) throw new TableError(`${file}: empty file (no header line)`, file);
  return { names: header, cells: new Map(picks.map((p) => [p.name, p.cells])), lines };
}

function rawJsonl(text: string, file: string, wanted: readonly string[] | undefined): RawColumns {
  const rows: Record<string, unknown>[] = [];
  const lines: number[] = [];
  const names: string[] = [];
  const seen = new Set<string>();
  let start = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  let line = 1;
  while (start <= text.length) {
    let end = text.indexOf('\n', start);
    if (end < 0) end = text.length;
    if (end - start > MAX_ROW_CHARS) throw rowTooLong(file, line, end - start);
    const src = text.slice(start, end).trim();
    if (src !== '') {
      let value: unknown;
      try {
        value = JSON.parse(src);
      } catch (err) {
        throw new TableError(`${file}:${line}: not valid JSON (${(err as Error).message})`, file, line);
      }
      if (typeof value !== 'object' || value === null || Array.isArray(value)) {
        throw new TableError(`${file}:${line}: each line must be a JSON object`, file, line);
      }
      const row = value as Record<string, unknown>;
      for (const k of Object.keys(row)) {
        if (!seen.has(k)) {
          seen.add(k);
          names.push(k);
        }
      }
      rows.push(row);
      lines.push(line);
    }
    start = end + 1;
    line++;
  }
  // Without this, an empty file would be reported as missing every column.
  if (rows.length === 0) throw new TableError(`${file}: empty file (no JSON lines)`, file);
  const selected = selectColumns(file, names, wanted);
  const cells = new Map<string, unknown[]>();
  for (const name of selected) cells.set(name, rows.map((r) => (Object.hasOwn(r, name) ? r[name] : null)));
  return { names, cells, lines };
}

function describe(v: unknown): string {
  return typeof v === 'string' ? JSON.stringify(v) : JSON.stringify(v) ?? String(v);
}

/** A cell as a number (NaN = missing), or undefined if it is not one. */
function numberOf(v: unknown): number | undefined {
  if (v === null || v === undefined) return NaN;
  if (typeof v === 'number') return v;
  if (typeof v === 'string') return parseNumberCell(v);
  return undefined;
}

/** A cell as a category label, null when missing; undefined when it cannot be one. */
function labelOf(v: unknown, fromCsv: boolean): string | null | undefined {
  if (v === null || v === undefined) return null;
  if (typeof v === 'string') return fromCsv && MISSING.has(v) ? null : v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  return undefined;
}

function inferType(cells: readonly unknown[], fromCsv: boolean): ColumnType {
  for (const v of cells) {
    if (v === null || v === undefined) continue;
    if (fromCsv ? parseNumberCell(v as string) === undefined : typeof v !== 'number') return 'categorical';
  }
  return 'numeric';
}

function toNumeric(file: string, name: string, cells: readonly unknown[], lines: readonly number[]): Float64Array {
  const out = new Float64Array(cells.length);
  for (let i = 0; i < cells.length; i++) {
    const n = numberOf(cells[i]);
    if (n === undefined) {
      const line = lines[i] as number;
      throw new TableError(
        `${file}:${line}: column "${name}": ${describe(cells[i])} is not a number, and "${name}" is a numeric feature`,
        file,
        line,
        name,
      );
    }
    out[i] = n;
  }
  return out;
}

function toLabels(file: string, name: string, cells: readonly unknown[], lines: readonly number[], fromCsv: boolean): (string | null)[] {
  return cells.map((v, i) => {
    const label = labelOf(v, fromCsv);
    if (label === undefined) {
      const line = lines[i] as number;
      throw new TableError(`${file}:${line}: column "${name}": ${describe(v)} cannot be a category label`, file, line, name);
    }
    return label;
  });
}

/** Parse a table already in memory; `file` names it in errors. */
export function parseTable(text: string, file: string, format: TableFormat, options: Omit<ReadTableOptions, 'format'> = {}): LoadedTable {
  const fromCsv = format === 'csv';
  const raw = fromCsv ? rawCsv(text, file, options.columns) : rawJsonl(text, file, options.columns);
  const columns = new Map<string, TableColumn>();
  const types = new Map<string, ColumnType>();
  for (const [name, cells] of raw.cells) {
    const type = options.types?.get(name) ?? inferType(cells, fromCsv);
    types.set(name, type);
    columns.set(name, type === 'numeric' ? toNumeric(file, name, cells, raw.lines) : toLabels(file, name, cells, raw.lines, fromCsv));
  }
  return { file, names: raw.names, columns, types, rows: raw.lines.length };
}

/** Read a local CSV or JSON Lines file (path or file:// URI, optionally gzipped). */
export async function readTable(pathOrUri: string, options: ReadTableOptions = {}): Promise<LoadedTable> {
  const path = localPath(pathOrUri);
  const format = options.format ?? formatFromName(path);
  if (!format) {
    throw new TableError(`${pathOrUri}: cannot tell CSV from JSON Lines by the name; give the format (csv or jsonl)`, pathOrUri);
  }
  let bytes: Buffer;
  try {
    // Sized first: a file too large for one string is refused before it is read.
    checkTableSize(pathOrUri, (await stat(path)).size);
    bytes = await readFile(path);
  } catch (err) {
    if (err instanceof TableError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : code === 'EISDIR' ? 'is a directory' : (err as Error).message;
    throw new TableError(`${pathOrUri}: cannot read (${why})`, pathOrUri);
  }
  if (path.toLowerCase().endsWith('.gz')) {
    try {
      bytes = gunzipSync(bytes, { maxOutputLength: MAX_TABLE_BYTES });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') {
        throw new TableError(`${pathOrUri}: decompresses to more than ${MAX_TABLE_BYTES} bytes, the most a data file may have`, pathOrUri);
      }
      throw new TableError(`${pathOrUri}: not a valid gzip file (${(err as Error).message})`, pathOrUri);
    }
  }
  return parseTable(decodeTableText(bytes, pathOrUri), pathOrUri, format, options);
}
