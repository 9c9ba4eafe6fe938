// The storage module every Fluxora component uses (operator, serve, drift-check, train): read and
// write objects by URI whatever the backend, verify checksums, never expose a partial write. Every
// failure is a StorageError whose code becomes a condition reason.
import { checkSha256, expectedSha256 } from './checksum.js';
import { StorageError } from './errors.js';
import { existsHttp, readHttp } from './http.js';
import { existsLocal, listLocal, listLocalDetails, listLocalPrefixes, readLocal, writeLocal } from './local.js';
import type { CommonOptions, ObjectDetails, ReadOptions, WriteOptions } from './options.js';
import { existsS3, listS3, listS3Details, listS3Prefixes, readS3, writeS3 } from './s3.js';
import { parseStorageUri, type StorageLocation } from './uri.js';

export { sha256Hex } from './checksum.js';
export { STORAGE_ERROR_CODES, StorageError, isStorageError, type StorageErrorCode } from './errors.js';
export type { CommonOptions, ObjectDetails, ReadOptions, S3Options, WriteOptions } from './options.js';
export { resolveS3Config, s3OptionsFromEnv, s3OptionsFromPrefixedEnv, type ResolvedS3Config } from './s3.js';
export { DEFAULT_PVC_ROOT, joinUri, parseStorageUri, type StorageLocation } from './uri.js';

/** Reads and writes need one object, not a prefix: say so instead of failing obscurely. */
function objectLocation(uri: string): StorageLocation {
  const loc = parseStorageUri(uri);
  const path = loc.scheme === 's3' ? loc.key : loc.scheme === 'http' ? undefined : loc.path;
  if (path !== undefined && (path === '' || path.endsWith('/'))) {
    throw new StorageError('InvalidUri', `invalid storage URI "${uri}": it names a prefix (a directory), not an object`);
  }
  return loc;
}

/** The whole object, checked against `sha256` and `maxBytes` when given. */
export async function readObject(uri: string, o: ReadOptions = {}): Promise<Buffer> {
  const loc = objectLocation(uri);
  const sha256 = o.sha256 === undefined ? undefined : expectedSha256(uri, o.sha256);
  if (o.maxBytes !== undefined && !(o.maxBytes >= 0)) throw new RangeError(`maxBytes must be a non-negative number, got ${o.maxBytes}`);
  let data: Buffer;
  switch (loc.scheme) {
    case 'file':
    case 'pvc':
      data = await readLocal(uri, loc, o.maxBytes);
      break;
    case 'http':
      data = await readHttp(uri, loc.url, o);
      break;
    case 's3':
      data = await readS3(uri, loc, o);
      break;
  }
  if (sha256 !== undefined) checkSha256(uri, data, sha256);
  return data;
}

/**
 * Writes (replaces) an object. file:// and pvc:// go through a temporary file and a rename, so a
 * concurrent reader sees the old bytes or the new ones, never a partial file; s3:// PutObject is
 * atomic by itself. http(s):// is read only (Unsupported).
 */
export async function writeObject(uri: string, data: Uint8Array | string, o: WriteOptions = {}): Promise<void> {
  const loc = objectLocation(uri);
  const body = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
  switch (loc.scheme) {
    case 'file':
    case 'pvc':
      return writeLocal(uri, loc, body);
    case 's3':
      return writeS3(uri, loc, body, o);
    case 'http':
      throw new StorageError('Unsupported', `${uri}: http(s) locations are read only; write to s3://, pvc:// or file://`);
  }
}

/** Whether the object exists. Only "not there" is false; denied access or an unreachable store still throw. */
export async function objectExists(uri: string, o: CommonOptions = {}): Promise<boolean> {
  const loc = objectLocation(uri);
  switch (loc.scheme) {
    case 'file':
    case 'pvc':
      return existsLocal(uri, loc);
    case 'http':
      return existsHttp(uri, loc.url, o);
    case 's3':
      return existsS3(uri, loc, o);
  }
}

/**
 * The objects under a prefix, as URIs of the same scheme, sorted; [] when there are none.
 * s3:// matches any key starting with the prefix (end it with "/" for a "directory");
 * file:// and pvc:// list the files below the directory the prefix names, recursively.
 * http(s):// cannot be listed (Unsupported).
 */
export async function listObjects(prefixUri: string, o: CommonOptions = {}): Promise<string[]> {
  const loc = parseStorageUri(prefixUri);
  switch (loc.scheme) {
    case 'file':
    case 'pvc':
      return listLocal(prefixUri, loc);
    case 's3':
      return listS3(prefixUri, loc, o);
    case 'http':
      throw new StorageError('Unsupported', `${prefixUri}: http(s) locations cannot be listed; use s3://, pvc:// or file://`);
  }
}

/** As listObjects, with each object's size and last-modified time. */
export async function listObjectDetails(prefixUri: string, o: CommonOptions = {}): Promise<ObjectDetails[]> {
  const loc = parseStorageUri(prefixUri);
  switch (loc.scheme) {
    case 'file':
    case 'pvc':
      return listLocalDetails(prefixUri, loc);
    case 's3':
      return listS3Details(prefixUri, loc, o);
    case 'http':
      throw new StorageError('Unsupported', `${prefixUri}: http(s) locations cannot be listed; use s3://, pvc:// or file://`);
  }
}

/**
 * The "directories" directly below a prefix that ends in "/", as URIs ending in "/", sorted; [] when
 * there are none. Walks Hive-style partitions (model=/version=/date=) without listing every object.
 */
export async function listPrefixes(prefixUri: string, o: CommonOptions = {}): Promise<string[]> {
  if (!prefixUri.endsWith('/')) throw new StorageError('InvalidUri', `invalid storage URI "${prefixUri}": listing sub-prefixes needs a prefix ending in "/"`);
  const loc = parseStorageUri(prefixUri);
  switch (loc.scheme) {
    case 'file':
    case 'pvc':
      return listLocalPrefixes(prefixUri, loc);
    case 's3':
      return listS3Prefixes(prefixUri, loc, o);
    case 'http':
      throw new StorageError('Unsupported', `${prefixUri}: http(s) locations cannot be listed; use s3://, pvc:// or file://`);
  }
}
