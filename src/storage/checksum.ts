// Integrity and size checks shared by every backend.
import { createHash } from 'node:crypto';
import { StorageError } from './errors.js';

export const sha256Hex = (data: Uint8Array | string): string => createHash('sha256').update(data).digest('hex');

/**
 * The expected digest in canonical form (lowercase hex). Checked before any I/O so a typo in a
 * spec is reported as such instead of as a mismatch after a long download.
 */
export function expectedSha256(uri: string, sha256: string): string {
  const hex = sha256.trim().toLowerCase().replace(/^sha256:/, '');
  if (!/^[0-9a-f]{64}$/.test(hex)) {
    throw new StorageError('InvalidUri', `sha256 "${sha256}" for ${uri} is not 64 hexadecimal digits`);
  }
  return hex;
}

export function checkSha256(uri: string, data: Uint8Array, expected: string): void {
  const actual = sha256Hex(data);
  if (actual !== expected) {
    throw new StorageError('ChecksumMismatch', `${uri}: sha256 mismatch: expected ${expected}, got ${actual}; the object changed or the pinned sha256 is wrong`);
  }
}

/** `size` when known (a stat, a Content-Length), else the object just ran past the limit. */
export const tooLarge = (uri: string, maxBytes: number, size?: number) =>
  new StorageError(
    'TooLarge',
    size === undefined ? `${uri} is larger than the limit of ${maxBytes} bytes` : `${uri} is ${size} bytes, more than the limit of ${maxBytes} bytes`,
    { size },
  );

/**
 * Reads a stream into one buffer, failing with TooLarge as soon as it passes `maxBytes` so an
 * oversized (or endless) body is never held in memory whole.
 */
export async function readCapped(uri: string, stream: ReadableStream<Uint8Array>, maxBytes = Infinity): Promise<Buffer> {
  const reader = stream.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      total += value.byteLength;
      if (total > maxBytes) {
        await reader.cancel().catch(() => undefined); // the error we throw matters, not the cancel's
        throw tooLarge(uri, maxBytes);
      }
      chunks.push(value);
    }
  } finally {
    reader.releaseLock();
  }
  return Buffer.concat(chunks, total);
}
