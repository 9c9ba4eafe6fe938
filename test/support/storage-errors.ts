// Assertions on StorageError, shared by the storage unit tests and the MinIO
// integration test.
import { expect } from 'vitest';
import { StorageError, type StorageErrorCode } from '../../src/storage/index.js';

/** Asserts `p` rejects with a StorageError of `code` whose message contains `text`. */
export async function expectFailure(p: Promise<unknown>, code: StorageErrorCode, text = ''): Promise<void> {
  const e: unknown = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(StorageError);
  expect((e as StorageError).code).toBe(code);
  expect((e as StorageError).message).toContain(text);
}

/** The StorageError code a call fails with, or 'ok'; other errors propagate. */
export async function failureCode(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'ok';
  } catch (e) {
    if (e instanceof StorageError) return e.code;
    throw e;
  }
}
