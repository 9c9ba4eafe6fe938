// A deterministic tar stream: POSIX ustar headers, with a PAX extended header
// only where ustar cannot hold a field (long or non-ASCII paths and link
// targets). Every byte is a function of the entries given: no host user
// names, no device numbers, no atime/ctime, one fixed mtime per archive.
// Readers that matter here (Go's archive/tar in containerd, GNU tar) accept
// this subset.
import { createReadStream } from 'node:fs';

export const BLOCK = 512;

export type TarEntry =
  | { type: 'dir'; path: string; mode: number; uid: number; gid: number }
  | { type: 'file'; path: string; mode: number; uid: number; gid: number; size: number; source: FileSource }
  | { type: 'symlink'; path: string; uid: number; gid: number; target: string }
  // A hard link repeats its target's mode and owner: containerd chmods and
  // chowns the (shared) inode to what the link's header says.
  | { type: 'hardlink'; path: string; mode: number; uid: number; gid: number; target: string };

/** File content: bytes in memory, or a host file streamed when the archive is written. */
export type FileSource = { data: Buffer } | { hostPath: string };

const TYPEFLAG = { file: '0', hardlink: '1', symlink: '2', dir: '5' } as const;
const MAX_OCTAL_12 = 8 ** 11 - 1; // size and mtime fields: 11 octal digits

/**
 * The archive's bytes, one chunk at a time: header, content, padding per
 * entry, then the two zero blocks that end an archive. `mtime` (seconds)
 * stamps every entry. Entries are written in the order given: callers sort.
 */
export async function* tarChunks(entries: Iterable<TarEntry>, mtime: number): AsyncGenerator<Buffer> {
  for (const e of entries) {
    yield* headerBlocks(e, mtime);
    if (e.type !== 'file') continue;
    yield* fileContent(e.path, e.size, e.source);
    const pad = padding(e.size);
    if (pad > 0) yield Buffer.alloc(pad);
  }
  yield Buffer.alloc(2 * BLOCK);
}

/** Bytes needed after `size` bytes of content to reach a block boundary. */
export function padding(size: number): number {
  return (BLOCK - (size % BLOCK)) % BLOCK;
}

async function* fileContent(path: string, size: number, source: FileSource): AsyncGenerator<Buffer> {
  if ('data' in source) {
    if (source.data.length !== size) throw new Error(`${path}: ${source.data.length} bytes given for a ${size}-byte entry`);
    yield source.data;
    return;
  }
  let seen = 0;
  for await (const chunk of createReadStream(source.hostPath) as AsyncIterable<Buffer>) {
    seen += chunk.length;
    // The header already promised `size` bytes: a file that changed since it
    // was listed would corrupt the archive, so stop instead.
    if (seen > size) break;
    yield chunk;
  }
  if (seen !== size) throw new Error(`${source.hostPath} changed while it was archived (${seen} bytes, expected ${size})`);
}

function headerBlocks(e: TarEntry, mtime: number): Buffer[] {
  const path = e.type === 'dir' ? `${e.path}/` : e.path;
  const link = e.type === 'symlink' || e.type === 'hardlink' ? e.target : '';
  const size = e.type === 'file' ? e.size : 0;
  if (size > MAX_OCTAL_12) throw new Error(`${e.path}: ${size} bytes is more than a ustar entry holds`);
  if (mtime < 0 || mtime > MAX_OCTAL_12) throw new Error(`mtime ${mtime} out of range`);

  const pax: [string, string][] = [];
  const split = ustarPath(path);
  if (!split) pax.push(['path', path]);
  if (!fitsUstar(link, 100)) pax.push(['linkpath', link]);

  const header = ustarHeader({
    name: split?.name ?? truncate(path, 100),
    prefix: split?.prefix ?? '',
    mode: e.type === 'symlink' ? 0o777 : e.mode,
    uid: e.uid,
    gid: e.gid,
    size,
    mtime,
    typeflag: TYPEFLAG[e.type],
    linkname: fitsUstar(link, 100) ? link : truncate(link, 100),
  });
  if (pax.length === 0) return [header];
  const body = paxBody(pax);
  // The extended header's own name is fixed: readers replace it with the
  // path inside, and a constant keeps the bytes independent of the host.
  const paxHeader = ustarHeader({ name: 'PaxHeader', prefix: '', mode: 0o644, uid: 0, gid: 0, size: body.length, mtime, typeflag: 'x', linkname: '' });
  return [paxHeader, body, Buffer.alloc(padding(body.length)), header];
}

/** ASCII only and short enough: anything else goes into a PAX record (UTF-8 by definition there). */
function fitsUstar(s: string, max: number): boolean {
  return Buffer.byteLength(s) <= max && /^[\x20-\x7e]*$/.test(s);
}

/** Splits a path into ustar's prefix (155) + name (100) at a slash, or null when it cannot. */
function ustarPath(path: string): { prefix: string; name: string } | null {
  if (!/^[\x20-\x7e]*$/.test(path)) return null;
  if (path.length <= 100) return { prefix: '', name: path };
  // Search from the left so the name part is as long as allowed.
  for (let i = path.indexOf('/'); i !== -1; i = path.indexOf('/', i + 1)) {
    const prefix = path.slice(0, i);
    const name = path.slice(i + 1);
    if (prefix.length <= 155 && name.length <= 100 && name.length > 0) return { prefix, name };
  }
  return null;
}

function truncate(s: string, max: number): string {
  const b = Buffer.from(s);
  return b.length <= max ? s : b.subarray(0, max).toString('latin1').replace(/[^\x20-\x7e]/g, '_');
}

/** PAX records "<len> <key>=<value>\n", where <len> counts the whole record including itself. */
function paxBody(records: [string, string][]): Buffer {
  const parts = records.map(([k, v]) => {
    const rest = ` ${k}=${v}\n`;
    const restLen = Buffer.byteLength(rest);
    let len = restLen + 1;
    while (String(len).length + restLen !== len) len = String(len).length + restLen;
    return `${len}${rest}`;
  });
  return Buffer.from(parts.join(''));
}

interface UstarFields {
  name: string;
  prefix: string;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  mtime: number;
  typeflag: string;
  linkname: string;
}

function ustarHeader(f: UstarFields): Buffer {
  const h = Buffer.alloc(BLOCK);
  h.write(f.name, 0, 100, 'latin1');
  octal(h, 100, 8, f.mode);
  octal(h, 108, 8, f.uid);
  octal(h, 116, 8, f.gid);
  octal(h, 124, 12, f.size);
  octal(h, 136, 12, f.mtime);
  h.write(' '.repeat(8), 148, 8, 'latin1'); // checksum is computed over spaces here
  h.write(f.typeflag, 156, 1, 'latin1');
  h.write(f.linkname, 157, 100, 'latin1');
  h.write('ustar\x0000', 257, 8, 'latin1');
  // uname/gname stay empty: owners are numeric; devmajor/devminor are zero.
  octal(h, 329, 8, 0);
  octal(h, 337, 8, 0);
  h.write(f.prefix, 345, 155, 'latin1');
  let sum = 0;
  for (const byte of h) sum += byte;
  h.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 8, 'latin1');
  return h;
}

/** A zero-padded octal number ending in NUL, filling `width` bytes. */
function octal(h: Buffer, offset: number, width: number, value: number): void {
  if (!Number.isInteger(value) || value < 0 || value >= 8 ** (width - 1)) throw new Error(`${value} does not fit a ${width}-byte tar field`);
  h.write(`${value.toString(8).padStart(width - 1, '0')}\0`, offset, width, 'latin1');
}
