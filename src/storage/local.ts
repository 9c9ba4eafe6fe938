// file:// and pvc:// backends: both are local paths, a claim being a directory the operator
// mounted under the pvc root.
import { randomBytes } from 'node:crypto';
import { mkdir, open, readdir, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { tooLarge } from './checksum.js';
import { StorageError, messageOf } from './errors.js';
import type { ObjectDetails } from './options.js';
import { DEFAULT_PVC_ROOT, joinUri, type StorageLocation } from './uri.js';

export type LocalLocation = Extract<StorageLocation, { scheme: 'file' | 'pvc' }>;

/** In-flight writes end with this; listings skip them so a reader never picks up a partial file. */
export const TEMP_SUFFIX = '.fluxora-tmp';

export const pvcRoot = (): string => process.env.FLUXORA_PVC_ROOT || DEFAULT_PVC_ROOT;

const claimDir = (claim: string) => join(pvcRoot(), claim);

export function localPath(loc: LocalLocation): string {
  return loc.scheme === 'file' ? loc.path : join(claimDir(loc.claim), loc.path);
}

/**
 * A claim that is not mounted must not look like an empty one, and a write must never create the
 * mount directory: the bytes would land on the container's ephemeral disk and vanish with the pod.
 */
async function assertClaimMounted(uri: string, loc: LocalLocation): Promise<void> {
  if (loc.scheme !== 'pvc') return;
  const dir = claimDir(loc.claim);
  const mounted = await stat(dir).then(
    (s) => s.isDirectory(),
    () => false,
  );
  if (!mounted) {
    throw new StorageError(
      'Unreachable',
      `${uri}: PersistentVolumeClaim "${loc.claim}" is not mounted at ${dir} (the operator mounts claims under ${pvcRoot()}; FLUXORA_PVC_ROOT overrides it)`,
    );
  }
}

/**
 * Node's fs message without the path it ends with ("EACCES: permission
 * denied, open '/data/x.csv'" -> "EACCES: permission denied, open"): the
 * message leads with the URI already.
 */
function fsReason(e: unknown): string {
  const { path, dest } = e as NodeJS.ErrnoException & { dest?: string };
  let why = messageOf(e);
  if (dest !== undefined) why = why.replace(` -> '${dest}'`, '');
  if (path !== undefined) why = why.replace(` '${path}'`, '');
  return why;
}

function fsError(uri: string, e: unknown): StorageError {
  if (e instanceof StorageError) return e;
  const code = (e as NodeJS.ErrnoException).code;
  const why = fsReason(e);
  switch (code) {
    case 'ENOENT':
      return new StorageError('NotFound', `${uri} does not exist`, { cause: e });
    case 'ENOTDIR':
    case 'EEXIST': // mkdir -p meeting a file
      return new StorageError('NotFound', `${uri}: a parent of the path is a file, not a directory`, { cause: e });
    case 'EISDIR':
      return new StorageError('NotFound', `${uri} is a directory, not a file`, { cause: e });
    case 'EACCES':
    case 'EPERM':
    case 'EROFS':
      return new StorageError('AccessDenied', `${uri}: permission denied (${why})`, { cause: e });
    case 'ENOSPC':
    case 'EDQUOT':
    case 'EFBIG':
      return new StorageError('TooLarge', `${uri}: no space left on the volume (${why})`, { cause: e });
    default:
      return new StorageError('Unreachable', `${uri}: ${why}`, { cause: e });
  }
}

/** Maps an fs failure, naming an unmounted claim rather than a missing file when that is the cause. */
async function failure(uri: string, loc: LocalLocation, e: unknown): Promise<StorageError> {
  if ((e as NodeJS.ErrnoException).code === 'ENOENT') await assertClaimMounted(uri, loc);
  return fsError(uri, e);
}

export async function readLocal(uri: string, loc: LocalLocation, maxBytes?: number): Promise<Buffer> {
  try {
    const fh = await open(localPath(loc), 'r');
    try {
      // Size from the open handle, so the limit applies to the very file that is read.
      const { size } = await fh.stat();
      if (maxBytes !== undefined && size > maxBytes) throw tooLarge(uri, maxBytes, size);
      const data = await fh.readFile();
      if (maxBytes !== undefined && data.length > maxBytes) throw tooLarge(uri, maxBytes, data.length); // grew while read
      return data;
    } finally {
      await fh.close();
    }
  } catch (e) {
    throw await failure(uri, loc, e);
  }
}

/**
 * Writes to a temporary file in the target directory, flushes it, then renames it over the target:
 * rename is atomic within a file system, so readers see the old file or the new one, never a part.
 */
export async function writeLocal(uri: string, loc: LocalLocation, body: Uint8Array): Promise<void> {
  await assertClaimMounted(uri, loc);
  const path = localPath(loc);
  const dir = dirname(path);
  // Same directory (so same file system); dot-prefixed and bounded in length (NAME_MAX is 255).
  const tmp = join(dir, `.${basename(path).slice(0, 100)}.${randomBytes(6).toString('hex')}${TEMP_SUFFIX}`);
  try {
    await mkdir(dir, { recursive: true });
    const fh = await open(tmp, 'wx', 0o644);
    try {
      await fh.writeFile(body);
      await fh.datasync(); // the data must be on disk before the rename makes it visible
    } finally {
      await fh.close();
    }
    await rename(tmp, path);
  } catch (e) {
    await rm(tmp, { force: true }).catch(() => undefined); // best effort: the original error matters
    throw fsError(uri, e);
  }
  // Persist the rename itself; a failure here does not undo the write, so it is not an error.
  await open(dir, 'r')
    .then(async (d) => {
      await d.sync().finally(() => d.close());
    })
    .catch(() => undefined);
}

export async function existsLocal(uri: string, loc: LocalLocation): Promise<boolean> {
  try {
    return (await stat(localPath(loc))).isFile();
  } catch (e) {
    const err = await failure(uri, loc, e);
    if (err.code === 'NotFound') return false;
    throw err;
  }
}

/** Every file below the directory the prefix names (recursively), as URIs of the same scheme, sorted. */
export async function listLocal(prefixUri: string, loc: LocalLocation): Promise<string[]> {
  return (await listLocalDetails(prefixUri, loc)).map((d) => d.uri);
}

/** As listLocal, with each file's size and modification time. */
export async function listLocalDetails(prefixUri: string, loc: LocalLocation): Promise<ObjectDetails[]> {
  const root = localPath(loc);
  const found: { rel: string; size: number; modified: Date }[] = [];
  const walk = async (dir: string, prefix: string): Promise<void> => {
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      const name = prefix + entry.name;
      if (entry.isDirectory()) await walk(join(dir, entry.name), `${name}/`);
      else if (entry.isFile() && !entry.name.endsWith(TEMP_SUFFIX)) {
        const st = await stat(join(dir, entry.name));
        found.push({ rel: name, size: st.size, modified: st.mtime });
      }
    }
  };
  try {
    await walk(root, '');
  } catch (e) {
    const err = await failure(prefixUri, loc, e);
    if (err.code === 'NotFound') return []; // an absent prefix is an empty one, as on S3
    throw err;
  }
  found.sort((a, b) => (a.rel < b.rel ? -1 : a.rel > b.rel ? 1 : 0));
  return found.map((f) => ({ uri: localUri(prefixUri, loc, root, f.rel), size: f.size, modified: f.modified }));
}

/** The directories directly below the one the prefix names, as URIs ending in "/", sorted. */
export async function listLocalPrefixes(prefixUri: string, loc: LocalLocation): Promise<string[]> {
  const root = localPath(loc);
  let names: string[];
  try {
    names = (await readdir(root, { withFileTypes: true })).filter((e) => e.isDirectory()).map((e) => e.name);
  } catch (e) {
    const err = await failure(prefixUri, loc, e);
    if (err.code === 'NotFound') return [];
    throw err;
  }
  return names.sort().map((n) => `${localUri(prefixUri, loc, root, n)}/`);
}

// file:// paths are percent-encoded (a space, "#" or "%" must survive a round trip); pvc paths are literal.
const localUri = (prefixUri: string, loc: LocalLocation, root: string, rel: string) =>
  loc.scheme === 'file' ? pathToFileURL(join(root, rel)).href : joinUri(prefixUri, rel);
