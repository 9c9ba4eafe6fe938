// Options every storage call takes, and the deadline they imply.
import { StorageError, messageOf } from './errors.js';

/** How to reach an S3-compatible store. Every field falls back to the AWS SDK environment variables. */
export interface S3Options {
  /** e.g. http://minio.storage.svc:9000; else AWS_ENDPOINT_URL_S3, then AWS_ENDPOINT_URL, then AWS itself. */
  endpoint?: string;
  /** Else AWS_REGION, AWS_DEFAULT_REGION, then us-east-1. */
  region?: string;
  /** Else AWS_ACCESS_KEY_ID (with AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN), else the SDK's default chain. */
  accessKeyId?: string;
  secretAccessKey?: string;
  sessionToken?: string;
  /**
   * Bucket in the path (http://host/bucket/key) rather than the host name. Else AWS_S3_FORCE_PATH_STYLE
   * (true/false); by default on when a custom endpoint is set, as MinIO and most S3-compatible stores want.
   */
  forcePathStyle?: boolean;
}

export interface CommonOptions {
  s3?: S3Options;
  /** Cancels the call; the signal's reason is thrown as is (not wrapped in a StorageError). */
  signal?: AbortSignal;
  /**
   * Time limit for a network request, connect to last byte: each http(s) attempt (up to 3), each s3
   * call (the SDK's own retries included). Default 300 s, room for a large model on a slow link.
   */
  timeoutMs?: number;
}

export interface ReadOptions extends CommonOptions {
  /** Expected sha256 (hex); a different object fails with ChecksumMismatch. */
  sha256?: string;
  /** Refuse objects larger than this many bytes (TooLarge), checked before and while reading. */
  maxBytes?: number;
}

export interface WriteOptions extends CommonOptions {
  /** Content-Type stored with s3 objects. */
  contentType?: string;
}

export const DEFAULT_TIMEOUT_MS = 300_000;

/** Typed as unknown on purpose: a caller may abort with anything, and it is rethrown untouched. */
export const abortReason = (signal: AbortSignal): unknown => signal.reason as unknown;

export interface Deadline {
  signal: AbortSignal;
  /** The failure as a timeout (Unreachable) when the time limit is what ended the call, else undefined. */
  timedOut(uri: string, e: unknown): StorageError | undefined;
}

/** One attempt's signal: the caller's signal combined with the time limit. */
export function deadline(o: CommonOptions): Deadline {
  const ms = o.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const timeout = AbortSignal.timeout(ms);
  return {
    signal: o.signal ? AbortSignal.any([o.signal, timeout]) : timeout,
    timedOut: (uri, e) =>
      timeout.aborted ? new StorageError('Unreachable', `${uri}: no complete answer within ${ms} ms (${messageOf(e)})`, { cause: e }) : undefined,
  };
}

/** An object found by a listing. */
export interface ObjectDetails {
  uri: string;
  size: number;
  /** When the object was last written (S3 LastModified, a file's mtime). */
  modified: Date;
}
