// One error type for every storage backend, with a code the operator turns
// into a condition reason and a message a user can act on.
export type StorageErrorCode =
  | 'InvalidUri'
  | 'NotFound'
  | 'AccessDenied'
  | 'ChecksumMismatch'
  | 'TooLarge'
  | 'Unreachable'
  | 'Unsupported';

export class StorageError extends Error {
  constructor(
    readonly code: StorageErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'StorageError';
  }
}
