// The storage module every Fluxora component uses (operator, serve,
// drift-check, train): read and write objects by URI, verify checksums, never
// expose a partial write.
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readFile, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import {
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
} from '@aws-sdk/client-s3';
import { StorageError } from './errors.js';
import { DEFAULT_PVC_ROOT, parseStorageUri, type StorageLocation } from './uri.js';

export { StorageError, type StorageErrorCode } from './errors.js';
export { joinUri, parseStorageUri, type StorageLocation } from './uri.js';

export interface S3Options {
  endpoint?: string;
  region?: string;
  accessKeyId?: string;
  secretAccessKey?: string;
  /** Path-style addressing (bucket in the path): what MinIO and most S3-compatible stores want. */
  forcePathStyle?: boolean;
}

export interface StorageOptions {
  sha256?: string;
  /** Refuse objects larger than this (bytes). */
  maxBytes?: number;
  s3?: S3Options;
  signal?: AbortSignal;
  timeoutMs?: number;
}

export const sha256Hex = (data: Uint8Array | string): string => createHash('sha256').update(data).digest('hex');

const pvcRoot = () => process.env.FLUXORA_PVC_ROOT ?? DEFAULT_PVC_ROOT;

type RemoteLocation = Exclude<StorageLocation, { scheme: 'file' | 'pvc' }>;

/** The local path of file:// and pvc:// locations; undefined (and `loc` is remote) otherwise. */
function localPath(loc: StorageLocation): string | undefined {
  if (loc.scheme === 'file') return loc.path;
  if (loc.scheme === 'pvc') return join(pvcRoot(), loc.claim, loc.path);
  return undefined;
}

const remote = (loc: StorageLocation) => loc as RemoteLocation;

const clients = new Map<string, S3Client>();

/** S3 client from options, else the AWS SDK environment (AWS_ENDPOINT_URL(_S3), AWS_ACCESS_KEY_ID, ...). */
function s3Client(o: S3Options = {}): S3Client {
  const endpoint = o.endpoint ?? process.env.AWS_ENDPOINT_URL_S3 ?? process.env.AWS_ENDPOINT_URL;
  const region = o.region ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? 'us-east-1';
  const accessKeyId = o.accessKeyId ?? process.env.AWS_ACCESS_KEY_ID;
  const secretAccessKey = o.secretAccessKey ?? process.env.AWS_SECRET_ACCESS_KEY;
  // A custom endpoint almost always means an S3-compatible store wanting path style.
  const forcePathStyle = o.forcePathStyle ?? (endpoint !== undefined || process.env.AWS_S3_FORCE_PATH_STYLE === 'true');
  const key = JSON.stringify([endpoint, region, accessKeyId, secretAccessKey, forcePathStyle]);
  let c = clients.get(key);
  if (!c) {
    c = new S3Client({
      region,
      forcePathStyle,
      maxAttempts: 3,
      ...(endpoint ? { endpoint } : {}),
      ...(accessKeyId && secretAccessKey ? { credentials: { accessKeyId, secretAccessKey } } : {}),
    });
    clients.set(key, c);
  }
  return c;
}

function s3Error(uri: string, e: unknown): StorageError {
  if (e instanceof StorageError) return e;
  const name = e instanceof S3ServiceException ? e.name : (e as Error).name;
  const status = e instanceof S3ServiceException ? e.$metadata.httpStatusCode : undefined;
  if (name === 'NoSuchKey' || name === 'NotFound' || status === 404) return new StorageError('NotFound', `${uri} does not exist`, { cause: e });
  if (name === 'NoSuchBucket') return new StorageError('NotFound', `${uri}: the bucket does not exist`, { cause: e });
  if (name === 'AccessDenied' || name === 'InvalidAccessKeyId' || name === 'SignatureDoesNotMatch' || status === 403) {
    return new StorageError('AccessDenied', `${uri}: access denied (${name}); check the credentials Secret`, { cause: e });
  }
  return new StorageError('Unreachable', `${uri}: ${(e as Error).message}`, { cause: e });
}

function fsError(uri: string, e: unknown): StorageError {
  const code = (e as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return new StorageError('NotFound', `${uri} does not exist`, { cause: e });
  if (code === 'EACCES' || code === 'EPERM') return new StorageError('AccessDenied', `${uri}: permission denied`, { cause: e });
  return new StorageError('Unreachable', `${uri}: ${(e as Error).message}`, { cause: e });
}

function verify(uri: string, data: Buffer, o: StorageOptions): Buffer {
  if (o.maxBytes !== undefined && data.length > o.maxBytes) {
    throw new StorageError('TooLarge', `${uri} is ${data.length} bytes, more than the limit of ${o.maxBytes}`);
  }
  if (o.sha256) {
    const actual = sha256Hex(data);
    if (actual !== o.sha256.toLowerCase()) {
      throw new StorageError('ChecksumMismatch', `${uri}: sha256 is ${actual}, expected ${o.sha256.toLowerCase()}`);
    }
  }
  return data;
}

async function readHttp(uri: string, url: URL, o: StorageOptions): Promise<Buffer> {
  const timeout = AbortSignal.timeout(o.timeoutMs ?? 60_000);
  const signal = o.signal ? AbortSignal.any([o.signal, timeout]) : timeout;
  let res: Response;
  try {
    res = await fetch(url, { redirect: 'follow', signal });
  } catch (e) {
    throw new StorageError('Unreachable', `${uri}: ${(e as Error).message}`, { cause: e });
  }
  if (res.status === 404) throw new StorageError('NotFound', `${uri} does not exist (HTTP 404)`);
  if (res.status === 401 || res.status === 403) throw new StorageError('AccessDenied', `${uri}: HTTP ${res.status}`);
  if (!res.ok) throw new StorageError('Unreachable', `${uri}: HTTP ${res.status}`);
  const declared = Number(res.headers.get('content-length') ?? NaN);
  if (o.maxBytes !== undefined && declared > o.maxBytes) {
    await res.body?.cancel();
    throw new StorageError('TooLarge', `${uri} is ${declared} bytes, more than the limit of ${o.maxBytes}`);
  }
  return Buffer.from(await res.arrayBuffer());
}

export async function readObject(uri: string, o: StorageOptions = {}): Promise<Buffer> {
  const loc = parseStorageUri(uri);
  const path = localPath(loc);
  if (path !== undefined) {
    try {
      if (o.maxBytes !== undefined) {
        const st = await stat(path);
        if (st.size > o.maxBytes) throw new StorageError('TooLarge', `${uri} is ${st.size} bytes, more than the limit of ${o.maxBytes}`);
      }
      return verify(uri, await readFile(path), o);
    } catch (e) {
      throw e instanceof StorageError ? e : fsError(uri, e);
    }
  }
  if (loc.scheme === 'http') return verify(uri, await readHttp(uri, loc.url, o), o);
  if (loc.scheme !== 's3') throw new StorageError('Unsupported', `${uri}: unsupported`);
  try {
    const out = await s3Client(o.s3).send(new GetObjectCommand({ Bucket: loc.bucket, Key: loc.key }), { abortSignal: o.signal });
    if (o.maxBytes !== undefined && (out.ContentLength ?? 0) > o.maxBytes) {
      throw new StorageError('TooLarge', `${uri} is ${out.ContentLength} bytes, more than the limit of ${o.maxBytes}`);
    }
    return verify(uri, Buffer.from(await out.Body!.transformToByteArray()), o);
  } catch (e) {
    throw s3Error(uri, e);
  }
}

/** Writes an object. Local files are written to a temporary name and renamed, so readers never see a partial file. */
export async function writeObject(uri: string, data: Buffer | string, o: StorageOptions = {}): Promise<void> {
  const loc = parseStorageUri(uri);
  const body = typeof data === 'string' ? Buffer.from(data) : data;
  const path = localPath(loc);
  if (path !== undefined) {
    const tmp = join(dirname(path), `.${randomBytes(6).toString('hex')}.tmp`);
    try {
      await mkdir(dirname(path), { recursive: true });
      await writeFile(tmp, body);
      await rename(tmp, path);
    } catch (e) {
      await rm(tmp, { force: true }).catch(() => undefined); // nothing to clean if the directory never existed
      throw fsError(uri, e);
    }
    return;
  }
  const r = remote(loc);
  if (r.scheme === 'http') throw new StorageError('Unsupported', `${uri}: http(s) storage is read-only`);
  try {
    await s3Client(o.s3).send(new PutObjectCommand({ Bucket: r.bucket, Key: r.key, Body: body }), { abortSignal: o.signal });
  } catch (e) {
    throw s3Error(uri, e);
  }
}

export async function objectExists(uri: string, o: StorageOptions = {}): Promise<boolean> {
  const loc = parseStorageUri(uri);
  const path = localPath(loc);
  try {
    if (path !== undefined) {
      await stat(path);
      return true;
    }
    const r = remote(loc);
    if (r.scheme === 'http') {
      const res = await fetch(r.url, { method: 'HEAD', redirect: 'follow', signal: AbortSignal.timeout(o.timeoutMs ?? 30_000) });
      if (res.status === 404) return false;
      if (!res.ok) throw new StorageError(res.status === 403 ? 'AccessDenied' : 'Unreachable', `${uri}: HTTP ${res.status}`);
      return true;
    }
    await s3Client(o.s3).send(new HeadObjectCommand({ Bucket: r.bucket, Key: r.key }));
    return true;
  } catch (e) {
    const err = path !== undefined ? fsError(uri, e) : loc.scheme === 's3' ? s3Error(uri, e) : (e as Error);
    if (err instanceof StorageError && err.code === 'NotFound') return false;
    throw err;
  }
}

/** Lists object URIs under a prefix (s3, file, pvc). */
export async function listObjects(prefixUri: string, o: StorageOptions = {}): Promise<string[]> {
  const loc = parseStorageUri(prefixUri);
  const path = localPath(loc);
  if (path !== undefined) {
    try {
      const entries = await readdir(path, { recursive: true, withFileTypes: true });
      return entries
        .filter((e) => e.isFile())
        .map((e) => join(e.parentPath, e.name).slice(path.length).replace(/^\/+/, ''))
        .sort()
        .map((rel) => `${prefixUri.replace(/\/+$/, '')}/${rel}`);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw fsError(prefixUri, e);
    }
  }
  if (loc.scheme !== 's3') throw new StorageError('Unsupported', `${prefixUri}: listing needs s3://, file:// or pvc://`);
  const out: string[] = [];
  let token: string | undefined;
  try {
    do {
      const page = await s3Client(o.s3).send(new ListObjectsV2Command({ Bucket: loc.bucket, Prefix: loc.key, ContinuationToken: token }));
      for (const c of page.Contents ?? []) if (c.Key) out.push(`s3://${loc.bucket}/${c.Key}`);
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
  } catch (e) {
    throw s3Error(prefixUri, e);
  }
  return out.sort();
}
