// s3:// backend for any S3-compatible store (AWS, MinIO, Ceph RGW, ...). Endpoint and credentials
// come from options or from the AWS SDK variables the operator sets from a credentials Secret.
import {
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
} from '@aws-sdk/client-s3';
import { readCapped, tooLarge } from './checksum.js';
import { StorageError, messageOf } from './errors.js';
import { abortReason, deadline, type CommonOptions, type ObjectDetails, type S3Options } from './options.js';
import type { StorageLocation } from './uri.js';

export type S3Location = Extract<StorageLocation, { scheme: 's3' }>;

/** The settings a client is built from, after options and environment are combined. */
export interface ResolvedS3Config {
  endpoint: string | undefined;
  region: string;
  forcePathStyle: boolean;
  /** undefined: the SDK's default chain (web identity, profiles, instance metadata). */
  credentials: { accessKeyId: string; secretAccessKey: string; sessionToken?: string } | undefined;
}

const nonEmpty = (v: string | undefined) => (v === undefined || v === '' ? undefined : v);

export function resolveS3Config(o: S3Options = {}, env: NodeJS.ProcessEnv = process.env): ResolvedS3Config {
  const endpoint = nonEmpty(o.endpoint) ?? nonEmpty(env.AWS_ENDPOINT_URL_S3) ?? nonEmpty(env.AWS_ENDPOINT_URL);
  const region = nonEmpty(o.region) ?? nonEmpty(env.AWS_REGION) ?? nonEmpty(env.AWS_DEFAULT_REGION) ?? 'us-east-1';
  const pathStyleEnv = nonEmpty(env.AWS_S3_FORCE_PATH_STYLE)?.toLowerCase();
  // A custom endpoint almost always means an S3-compatible store, and those want path style.
  const forcePathStyle = o.forcePathStyle ?? (pathStyleEnv !== undefined ? pathStyleEnv === 'true' : endpoint !== undefined);
  // Explicit keys win as a pair, so an explicit key is never signed with a secret from elsewhere.
  const fromOptions = o.accessKeyId !== undefined || o.secretAccessKey !== undefined;
  const accessKeyId = fromOptions ? o.accessKeyId : nonEmpty(env.AWS_ACCESS_KEY_ID);
  const secretAccessKey = fromOptions ? o.secretAccessKey : nonEmpty(env.AWS_SECRET_ACCESS_KEY);
  const sessionToken = fromOptions ? o.sessionToken : nonEmpty(env.AWS_SESSION_TOKEN);
  const credentials =
    accessKeyId !== undefined && secretAccessKey !== undefined ? { accessKeyId, secretAccessKey, ...(sessionToken ? { sessionToken } : {}) } : undefined;
  return { endpoint, region, forcePathStyle, credentials };
}

/**
 * S3 settings from AWS SDK environment variable names (e.g. the data of a
 * credentials Secret that pods receive through envFrom), as explicit options:
 * a process that reads on a pod's behalf uses the pod's settings, not its own.
 */
export function s3OptionsFromEnv(vars: Readonly<Record<string, string | undefined>>): S3Options {
  const endpoint = nonEmpty(vars.AWS_ENDPOINT_URL_S3) ?? nonEmpty(vars.AWS_ENDPOINT_URL);
  const region = nonEmpty(vars.AWS_REGION) ?? nonEmpty(vars.AWS_DEFAULT_REGION);
  const pathStyle = nonEmpty(vars.AWS_S3_FORCE_PATH_STYLE)?.toLowerCase();
  const accessKeyId = nonEmpty(vars.AWS_ACCESS_KEY_ID);
  const secretAccessKey = nonEmpty(vars.AWS_SECRET_ACCESS_KEY);
  const sessionToken = nonEmpty(vars.AWS_SESSION_TOKEN);
  return {
    ...(endpoint ? { endpoint } : {}),
    ...(region ? { region } : {}),
    ...(pathStyle !== undefined ? { forcePathStyle: pathStyle === 'true' } : {}),
    ...(accessKeyId !== undefined || secretAccessKey !== undefined ? { accessKeyId, secretAccessKey } : {}),
    ...(sessionToken ? { sessionToken } : {}),
  };
}

/**
 * S3 settings a pod received with an envFrom prefix (e.g. FLUXORA_PREDICTION_LOG_AWS_ACCESS_KEY_ID):
 * a second store's credentials beside the pod's own AWS_* variables, without replacing them.
 * undefined when there are none, so the caller falls back to the process's own settings.
 */
export function s3OptionsFromPrefixedEnv(prefix: string, env: Readonly<Record<string, string | undefined>> = process.env): S3Options | undefined {
  const vars: Record<string, string | undefined> = {};
  for (const [k, v] of Object.entries(env)) if (k.startsWith(`${prefix}AWS_`)) vars[k.slice(prefix.length)] = v;
  return Object.keys(vars).length > 0 ? s3OptionsFromEnv(vars) : undefined;
}

// One client per distinct configuration: clients hold connection pools worth reusing.
const clients = new Map<string, S3Client>();

function client(cfg: ResolvedS3Config): S3Client {
  const key = JSON.stringify(cfg);
  let c = clients.get(key);
  if (!c) {
    c = new S3Client({
      region: cfg.region,
      forcePathStyle: cfg.forcePathStyle,
      ...(cfg.endpoint ? { endpoint: cfg.endpoint } : {}),
      ...(cfg.credentials ? { credentials: cfg.credentials } : {}),
      // The SDK retries throttling, 5xx and connection errors with jittered back-off.
      maxAttempts: 3,
      // Fail fast on a dead endpoint; an idle (stalled) transfer fails too, a slow but moving one does not.
      requestHandler: { connectionTimeout: 10_000, socketTimeout: 60_000 },
      // Send/verify the newer CRC checksums only where required: several S3-compatible stores refuse them.
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
    });
    clients.set(key, c);
  }
  return c;
}

const CREDENTIAL_HINT = 'check the credentials Secret (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY)';

function s3Error(uri: string, loc: S3Location, cfg: ResolvedS3Config, e: unknown): StorageError {
  if (e instanceof StorageError) return e;
  const name = e instanceof Error ? e.name : '';
  const status = e instanceof S3ServiceException ? e.$metadata.httpStatusCode : undefined;
  const opts = { cause: e };
  switch (name) {
    case 'NoSuchBucket':
      return new StorageError('NotFound', `${uri}: bucket "${loc.bucket}" does not exist`, opts);
    case 'NoSuchKey':
    case 'NotFound':
      return new StorageError('NotFound', `${uri} does not exist`, opts);
    case 'CredentialsProviderError':
      return new StorageError('AccessDenied', `${uri}: no S3 credentials found; set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (a credentialsSecretRef)`, opts);
    case 'InvalidAccessKeyId':
    case 'SignatureDoesNotMatch':
    case 'ExpiredToken':
    case 'InvalidToken':
      return new StorageError('AccessDenied', `${uri}: the S3 store rejects the credentials (${name}); ${CREDENTIAL_HINT}`, opts);
    case 'AccessDenied':
    case 'AllAccessDisabled':
      return new StorageError('AccessDenied', `${uri}: access denied (${name}); ${CREDENTIAL_HINT} and the bucket policy`, opts);
    case 'EntityTooLarge':
      return new StorageError('TooLarge', `${uri}: the store refuses an object this large (${messageOf(e)})`, opts);
    case 'InvalidBucketName':
      return new StorageError('InvalidUri', `${uri}: invalid bucket name "${loc.bucket}"`, opts);
    case 'PermanentRedirect':
    case 'AuthorizationHeaderMalformed':
      return new StorageError('InvalidUri', `${uri}: bucket "${loc.bucket}" is not in region ${cfg.region} or not at this endpoint; set AWS_REGION or AWS_ENDPOINT_URL`, opts);
  }
  // HEAD responses have no body, hence no error name: only the status tells.
  if (status === 404) return new StorageError('NotFound', `${uri} does not exist`, opts);
  if (status === 401 || status === 403) return new StorageError('AccessDenied', `${uri}: access denied (HTTP ${status}); ${CREDENTIAL_HINT}`, opts);
  const where = cfg.endpoint ?? `AWS S3 (${cfg.region})`;
  const code = (e as NodeJS.ErrnoException).code;
  const detail = status !== undefined ? `HTTP ${status} ${name}` : (code ?? messageOf(e));
  return new StorageError('Unreachable', `${uri}: cannot reach the S3 store at ${where} (${detail})`, opts);
}

/** Runs one SDK call under a deadline, mapping every failure to a StorageError (or the caller's abort). */
async function call<T>(uri: string, loc: S3Location, o: CommonOptions, fn: (c: S3Client, signal: AbortSignal) => Promise<T>): Promise<T> {
  const cfg = resolveS3Config(o.s3);
  const d = deadline(o);
  try {
    return await fn(client(cfg), d.signal);
  } catch (e) {
    if (o.signal?.aborted) throw abortReason(o.signal);
    if (e instanceof StorageError) throw e;
    throw d.timedOut(uri, e) ?? s3Error(uri, loc, cfg, e);
  }
}

export function readS3(uri: string, loc: S3Location, o: CommonOptions & { maxBytes?: number }): Promise<Buffer> {
  return call(uri, loc, o, async (c, abortSignal) => {
    const out = await c.send(new GetObjectCommand({ Bucket: loc.bucket, Key: loc.key }), { abortSignal });
    if (!out.Body) return Buffer.alloc(0);
    const body = out.Body.transformToWebStream() as ReadableStream<Uint8Array>;
    if (o.maxBytes !== undefined && out.ContentLength !== undefined && out.ContentLength > o.maxBytes) {
      await body.cancel(); // refuse before downloading
      throw tooLarge(uri, o.maxBytes, out.ContentLength);
    }
    return readCapped(uri, body, o.maxBytes);
  });
}

export function writeS3(uri: string, loc: S3Location, body: Uint8Array, o: CommonOptions & { contentType?: string }): Promise<void> {
  return call(uri, loc, o, async (c, abortSignal) => {
    const put = new PutObjectCommand({ Bucket: loc.bucket, Key: loc.key, Body: body, ContentLength: body.byteLength, ContentType: o.contentType });
    await c.send(put, { abortSignal });
  });
}

export function existsS3(uri: string, loc: S3Location, o: CommonOptions): Promise<boolean> {
  return call(uri, loc, o, async (c, abortSignal) => {
    try {
      await c.send(new HeadObjectCommand({ Bucket: loc.bucket, Key: loc.key }), { abortSignal });
      return true;
    } catch (e) {
      // A missing bucket looks the same as a missing key here: HEAD carries no error body.
      if (e instanceof S3ServiceException && e.$metadata.httpStatusCode === 404) return false;
      throw e;
    }
  });
}

/** Every object whose key starts with the location's key, as s3:// URIs, sorted. Folder markers are skipped. */
export async function listS3(uri: string, loc: S3Location, o: CommonOptions): Promise<string[]> {
  return (await listS3Details(uri, loc, o)).map((d) => d.uri);
}

/** As listS3, with each object's size and last-modified time (what a reader needs to skip old objects unread). */
export function listS3Details(uri: string, loc: S3Location, o: CommonOptions): Promise<ObjectDetails[]> {
  return call(uri, loc, o, async (c, abortSignal) => {
    const found: ObjectDetails[] = [];
    let token: string | undefined;
    do {
      const page = await c.send(new ListObjectsV2Command({ Bucket: loc.bucket, Prefix: loc.key, ContinuationToken: token }), { abortSignal });
      for (const obj of page.Contents ?? []) {
        if (!obj.Key || obj.Key.endsWith('/')) continue;
        found.push({ uri: `s3://${loc.bucket}/${obj.Key}`, size: obj.Size ?? 0, modified: obj.LastModified ?? new Date(0) });
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    return found.sort((a, b) => (a.uri < b.uri ? -1 : a.uri > b.uri ? 1 : 0));
  });
}

/**
 * The "directories" one level below a prefix ending in "/" (S3 common prefixes with delimiter "/"),
 * as s3:// URIs ending in "/", sorted. Lets a reader walk Hive partitions without listing every object.
 */
export function listS3Prefixes(uri: string, loc: S3Location, o: CommonOptions): Promise<string[]> {
  return call(uri, loc, o, async (c, abortSignal) => {
    const prefixes: string[] = [];
    let token: string | undefined;
    do {
      const page = await c.send(new ListObjectsV2Command({ Bucket: loc.bucket, Prefix: loc.key, Delimiter: '/', ContinuationToken: token }), { abortSignal });
      for (const p of page.CommonPrefixes ?? []) if (p.Prefix) prefixes.push(`s3://${loc.bucket}/${p.Prefix}`);
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    return prefixes.sort();
  });
}
