// One image layer: a FileTree written as tar, gzipped, into a blob file,
// hashing as the bytes pass (diff_id over the tar, digest over the gzip), so
// a 200 MB layer never sits in memory.
import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { Readable, Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { constants, createGzip, type ZlibOptions } from 'node:zlib';
import { tarChunks } from './tar.js';
import type { FileTree } from './tree.js';

/**
 * Fixed, explicit gzip settings: the same tar gives the same blob with the
 * same zlib (Node pins its bundled zlib per version, and .node-version pins
 * Node). The gzip header Node writes has no name and mtime 0.
 */
export const GZIP: ZlibOptions = { level: 6, memLevel: 8, windowBits: 15, strategy: constants.Z_DEFAULT_STRATEGY };

export interface LayerBlob {
  /** sha256 of the gzip blob: what the manifest refers to and the blob's file name. */
  digest: string;
  size: number;
  /** sha256 of the uncompressed tar: the config's rootfs.diff_ids. */
  diffId: string;
  uncompressedSize: number;
  path: string;
}

/** A pass-through stream that hashes and counts what flows through it. */
class Hashing extends Transform {
  private readonly hash = createHash('sha256');
  bytes = 0;
  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    this.hash.update(chunk);
    this.bytes += chunk.length;
    done(null, chunk);
  }
  digest(): string {
    return `sha256:${this.hash.digest('hex')}`;
  }
}

/** Writes `tree` as a gzipped tar layer into `blobsDir` (named by its digest), every entry stamped with `mtime`. */
export async function writeLayer(tree: FileTree, mtime: number, blobsDir: string): Promise<LayerBlob> {
  const tmp = join(blobsDir, `.layer-${randomBytes(6).toString('hex')}`);
  const tar = new Hashing();
  const gz = new Hashing();
  try {
    await pipeline(Readable.from(tarChunks(tree.entries(), mtime)), tar, createGzip(GZIP), gz, createWriteStream(tmp));
  } catch (err) {
    rmSync(tmp, { force: true });
    throw err;
  }
  const digest = gz.digest();
  const path = join(blobsDir, digest.slice('sha256:'.length));
  renameSync(tmp, path);
  return { digest, size: gz.bytes, diffId: tar.digest(), uncompressedSize: tar.bytes, path };
}
