// Reads a time window of the prediction log that `fluxora serve` writes
// (src/serving/prediction-log.ts):
//   <prefix>/model=M/version=V/date=YYYY-MM-DD/hour=HH/<pod>-<worker>-<seq>-<first record time>.jsonl.gz
// for the drift check (current data from the log), the performance check
// (predictions to join with labels) and the training-window builder.
//
// It lists one hour partition at a time rather than the whole model prefix:
// with months of retention a model holds hundreds of thousands of objects,
// and a 24 h window needs only 24 listings per version. An object whose
// first record is at or after the window's end is skipped unread (its name
// says when it starts). A damaged object or line is skipped and reported,
// never fatal: one bad object must not blind a monitor to the rest.
import { gunzip } from 'node:zlib';
import { promisify } from 'node:util';
import { joinUri, listObjectDetails, listPrefixes, readObject, type CommonOptions } from '../storage/index.js';

const gunzipAsync = promisify(gunzip);

/** A tensor as the log writes it: V2 JSON, `data` flat and row-major. */
export interface LoggedTensor {
  name: string;
  datatype: string;
  shape: number[];
  data: unknown[];
}

/** One logged request. */
export interface LoggedRecord {
  id: string;
  /** Milliseconds since the epoch. */
  time: number;
  version: string;
  inputs: LoggedTensor[];
  outputs: LoggedTensor[];
}

/** Something that could not be read; `line` is 1-based within the decompressed object. */
export interface LogProblem {
  uri: string;
  line?: number;
  message: string;
}

/** How many problems are kept verbatim; the rest are only counted. */
export const MAX_REPORTED_PROBLEMS = 10;

export class ProblemList {
  readonly items: LogProblem[] = [];
  count = 0;
  add(p: LogProblem): void {
    this.count++;
    if (this.items.length < MAX_REPORTED_PROBLEMS) this.items.push(p);
  }
  /** "3 unreadable: s3://…/a.jsonl.gz:7: …; …" for a condition message, or '' when there were none. */
  summary(what: string): string {
    if (this.count === 0) return '';
    const first = this.items.slice(0, 2).map((p) => `${p.uri}${p.line ? `:${p.line}` : ''}: ${p.message}`);
    return `${this.count} ${what} skipped (${first.join('; ')}${this.count > first.length ? '; …' : ''})`;
  }
}

export interface LogWindow {
  /** Records with from <= time < to, oldest first. */
  records: LoggedRecord[];
  /** Rows of those records (a request of N rows counts N). */
  rows: number;
  /** Objects read. */
  objects: number;
  /** Compressed bytes read. */
  bytes: number;
  problems: ProblemList;
}

export interface ReadLogWindowOptions extends CommonOptions {
  /** The Model's spec.serving.predictionLog.uri. */
  prefix: string;
  model: string;
  /** Inclusive start, exclusive end. */
  from: Date;
  to: Date;
  /** Only these versions; all by default. */
  versions?: readonly string[];
  /**
   * Stop once this many rows of the newest hours are read, and keep only the
   * newest this many (the drift check's maxSamples). Unset: the whole window.
   */
  maxRows?: number;
  /** Largest object read, compressed (a guard against a stray file); default 512 MiB. */
  maxObjectBytes?: number;
  /** Objects read at once; default 8. */
  concurrency?: number;
}

const HOUR_MS = 3_600_000;
const pad = (n: number) => String(n).padStart(2, '0');

/**
 * The date=…/hour=… partitions (UTC) that can hold records in [from, to), newest first. The server
 * cuts a batch at the end of an hour, so an object's records all lie in its partition's hour.
 */
export function hourPartitions(from: Date, to: Date): string[] {
  const out: string[] = [];
  const first = Math.floor(from.getTime() / HOUR_MS) * HOUR_MS;
  for (let t = Math.floor((to.getTime() - 1) / HOUR_MS) * HOUR_MS; t >= first; t -= HOUR_MS) {
    const d = new Date(t);
    out.push(`date=${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}/hour=${pad(d.getUTCHours())}`);
  }
  return out;
}

/** The first record's time from an object name (…-20260314T153012.345Z.jsonl.gz), or undefined for a foreign name. */
export function firstTimeOfObject(uri: string): number | undefined {
  const m = /-(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})\.(\d{3})Z\.jsonl\.gz$/.exec(uri);
  if (!m) return undefined;
  const [, y, mo, d, h, mi, s, ms] = m.map(Number) as [number, number, number, number, number, number, number, number];
  return Date.UTC(y, mo - 1, d, h, mi, s, ms);
}

const isTensor = (t: unknown): t is LoggedTensor => {
  const x = t as LoggedTensor;
  return typeof x === 'object' && x !== null && typeof x.name === 'string' && typeof x.datatype === 'string' && Array.isArray(x.shape) && Array.isArray(x.data);
};

/** A parsed line as a record, or a message saying what is wrong with it. */
export function parseLogLine(line: string): LoggedRecord | string {
  let v: unknown;
  try {
    v = JSON.parse(line);
  } catch (e) {
    return `not JSON (${(e as Error).message})`;
  }
  const r = v as { id?: unknown; time?: unknown; version?: unknown; inputs?: unknown; outputs?: unknown };
  if (typeof r !== 'object' || r === null || Array.isArray(r)) return 'not a JSON object';
  if (typeof r.id !== 'string' || r.id === '') return 'no "id" string';
  const time = typeof r.time === 'string' ? Date.parse(r.time) : Number.NaN;
  if (!Number.isFinite(time)) return `"time" is not an ISO 8601 time (${JSON.stringify(r.time)})`;
  if (typeof r.version !== 'string') return 'no "version" string';
  if (!Array.isArray(r.inputs) || !r.inputs.every(isTensor)) return '"inputs" is not a list of tensors {name, datatype, shape, data}';
  if (!Array.isArray(r.outputs) || !r.outputs.every(isTensor)) return '"outputs" is not a list of tensors {name, datatype, shape, data}';
  return { id: r.id, time, version: r.version, inputs: r.inputs, outputs: r.outputs };
}

/** Rows of a request: dimension 0 of its first input (1 for a scalar input). */
export const rowsOfRecord = (r: LoggedRecord): number => {
  const shape = r.inputs[0]?.shape;
  return shape && shape.length > 0 && Number.isInteger(shape[0]) ? shape[0]! : 1;
};

async function readLogObject(uri: string, o: ReadLogWindowOptions, problems: ProblemList): Promise<{ records: LoggedRecord[]; bytes: number }> {
  let text: string;
  let bytes = 0;
  try {
    const data = await readObject(uri, { ...o, maxBytes: o.maxObjectBytes ?? 512 * 1024 * 1024 });
    bytes = data.length;
    text = (await gunzipAsync(data).catch((e: unknown) => Promise.reject(new Error(`not a gzip object (${(e as Error).message})`)))).toString('utf8');
  } catch (e) {
    problems.add({ uri, message: (e as Error).message.replace(`${uri}: `, '') });
    return { records: [], bytes };
  }
  const records: LoggedRecord[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (line.trim() === '') continue;
    const parsed = parseLogLine(line);
    if (typeof parsed === 'string') problems.add({ uri, line: i + 1, message: parsed });
    else records.push(parsed);
  }
  return { records, bytes };
}

/** Runs fn over items, at most `limit` at a time, keeping the order of results. */
async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (t: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

/** The model's prefix in the log: where its version=… partitions live. */
export const modelLogPrefix = (prefix: string, model: string): string => `${joinUri(prefix, `model=${model.replace(/[/=]/g, '_')}`)}/`;

/** The logged records of a model in [from, to), oldest first. Throws only when the store itself fails (listing). */
export async function readLogWindow(o: ReadLogWindowOptions): Promise<LogWindow> {
  const from = o.from.getTime();
  const to = o.to.getTime();
  const problems = new ProblemList();
  const versionPrefixes = (await listPrefixes(modelLogPrefix(o.prefix, o.model), o)).filter((p) => {
    const v = /version=([^/]*)\/$/.exec(p)?.[1];
    return v !== undefined && (!o.versions || o.versions.includes(v));
  });
  const kept: LoggedRecord[][] = [];
  let rows = 0;
  let objects = 0;
  let bytes = 0;
  for (const hour of hourPartitions(o.from, o.to)) {
    const listed = (await Promise.all(versionPrefixes.map((v) => listObjectDetails(`${v}${hour}/`, o)))).flat();
    const wanted = listed.filter((d) => {
      const first = firstTimeOfObject(d.uri);
      if (first === undefined) {
        problems.add({ uri: d.uri, message: 'not a prediction log object (expected <pod>-<worker>-<seq>-<time>.jsonl.gz)' });
        return false;
      }
      return first < to;
    });
    const read = await mapLimit(wanted, o.concurrency ?? 8, (d) => readLogObject(d.uri, o, problems));
    const inWindow = read.flatMap((r) => r.records).filter((r) => r.time >= from && r.time < to);
    objects += wanted.length;
    bytes += read.reduce((n, r) => n + r.bytes, 0);
    kept.push(inWindow);
    rows += inWindow.reduce((n, r) => n + rowsOfRecord(r), 0);
    if (o.maxRows !== undefined && rows >= o.maxRows) break;
  }
  let records = kept.flat().sort((a, b) => a.time - b.time);
  if (o.maxRows !== undefined && rows > o.maxRows) {
    // Keep the newest records holding maxRows rows (a request is kept or dropped whole).
    let start = records.length;
    let n = 0;
    while (start > 0 && n + rowsOfRecord(records[start - 1]!) <= o.maxRows) n += rowsOfRecord(records[--start]!);
    records = records.slice(start);
    rows = n;
  }
  return { records, rows, objects, bytes, problems };
}
