// One error type for every storage backend. The operator turns `code` into a
// status condition reason, so the set is closed and each code says what a
// user should do next; `message` names the URI and the fix.
export const STORAGE_ERROR_CODES = [
  /** The URI (or an option such as sha256) is malformed: fix the spec. */
  'InvalidUri',
  /** The object, bucket or claim path does not exist. */
  'NotFound',
  /** Credentials are missing or wrong, or the object is not readable/writable by them. */
  'AccessDenied',
  /** The bytes read are not the ones the spec pins with sha256. */
  'ChecksumMismatch',
  /** The object is larger than the caller allows, or the volume is full. */
  'TooLarge',
  /** Network failure, timeout, server error or unmounted claim: usually transient, worth a retry. */
  'Unreachable',
  /** The operation makes no sense for the scheme (writing over http, listing http). */
  'Unsupported',
] as const;

export type StorageErrorCode = (typeof STORAGE_ERROR_CODES)[number];

export class StorageError extends Error {
  /** TooLarge: the object's size in bytes, when the backend told it (a stat, a Content-Length). */
  readonly size: number | undefined;

  constructor(
    readonly code: StorageErrorCode,
    message: string,
    options?: { cause?: unknown; size?: number },
  ) {
    super(message, options);
    this.name = 'StorageError';
    this.size = options?.size;
  }
}

/** True when `e` is a StorageError (with one of `codes`, when given). */
export function isStorageError(e: unknown, ...codes: StorageErrorCode[]): e is StorageError {
  return e instanceof StorageError && (codes.length === 0 || codes.includes(e.code));
}

/** The message of anything thrown, for wrapping foreign errors into a StorageError. */
export const messageOf = (e: unknown): string => (e instanceof Error ? e.message : String(e));
