// The layer writer (hack/image/tree.ts, tar.ts, layer.ts) on the cases the
// Fluxora image meets only by chance: paths past ustar's limits, non-ASCII
// names, long link targets, hard links, owners and modes. Read back with
// GNU tar, an independent implementation.
import { linkSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeLayer } from '../../hack/image/layer.js';
import { FileTree, normalizedFileMode } from '../../hack/image/tree.js';
import { listLayer, sh, sha256File } from '../support/oci-archive.js';

const long = (n: number, seg = 'segment') => Array.from({ length: Math.ceil(n / (seg.length + 1)) }, (_, i) => `${seg}${i}`).join('/');

describe('deterministic layer writer', () => {
  let work: string;
  let host: string;
  let tree: () => FileTree;

  beforeAll(() => {
    work = mkdtempSync(join(tmpdir(), 'fluxora-tar-test-'));
    host = join(work, 'host');
    mkdirSync(join(host, 'sub'), { recursive: true });
    writeFileSync(join(host, 'sub', 'script.sh'), '#!/bin/false\n', { mode: 0o750 });
    writeFileSync(join(host, 'data.bin'), Buffer.alloc(70_000, 7), { mode: 0o600 });
    linkSync(join(host, 'data.bin'), join(host, 'sub', 'same.bin'));
    symlinkSync('sub/script.sh', join(host, 'link'));
    tree = () =>
      new FileTree()
        .addHostDir(host, 'opt/host')
        .file(`${long(150)}/file.txt`, 'ustar prefix + name')
        .file(`${long(300)}/deep.txt`, 'needs a PAX path')
        .file('unicode/é-ü-✓.txt', 'utf-8 name')
        .symlink('far', `/${long(150)}/file.txt`)
        .dir('home/nonroot', { mode: 0o700, uid: 65532, gid: 65532 })
        .dir('tmp', { mode: 0o1777 });
  });
  afterAll(() => {
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('writes a tar GNU tar reads back entry for entry, sorted, with one mtime, normalized modes and owners', async () => {
    mkdirSync(join(work, 'blobs1'));
    const layer = await writeLayer(tree(), 1_700_000_000, join(work, 'blobs1'));
    const entries = listLayer(layer.path);
    const paths = entries.map((e) => e.path);
    expect(paths).toEqual([...paths].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b))));
    expect(new Set(entries.map((e) => e.mtime))).toEqual(new Set(['2023-11-14 22:13:20']));
    const by = new Map(entries.map((e) => [e.path, e]));
    expect(by.get(`${long(150)}/file.txt`)).toMatchObject({ type: 'file', size: 19 });
    expect(by.get(`${long(300)}/deep.txt`)).toMatchObject({ type: 'file', size: 16 });
    expect(by.get('unicode/é-ü-✓.txt')).toMatchObject({ type: 'file', mode: 0o644 });
    expect(by.get('far')).toMatchObject({ type: 'symlink', target: `/${long(150)}/file.txt` });
    expect(by.get('opt/host/link')).toMatchObject({ type: 'symlink', target: 'sub/script.sh' });
    // Host modes keep only "executable or not"; host owners never leak.
    expect(by.get('opt/host/sub/script.sh')).toMatchObject({ type: 'file', mode: 0o755, uid: 0, gid: 0 });
    expect(by.get('opt/host/data.bin')).toMatchObject({ type: 'file', mode: 0o644, size: 70_000 });
    // The first path in order carries the bytes; the other is a hard link to it, with the same mode.
    expect(by.get('opt/host/sub/same.bin')).toMatchObject({ type: 'hardlink', target: 'opt/host/data.bin', mode: 0o644 });
    expect(by.get('home/nonroot')).toMatchObject({ type: 'dir', mode: 0o700, uid: 65532, gid: 65532 });
    expect(by.get('tmp')).toMatchObject({ type: 'dir', mode: 0o1777 });
    // Parents nobody described are created as root-owned 0755 directories.
    expect(by.get('unicode')).toMatchObject({ type: 'dir', mode: 0o755, uid: 0 });

    const out = join(work, 'out');
    mkdirSync(out);
    sh('tar', ['-xzf', layer.path, '-C', out, '--numeric-owner']);
    expect(readFileSync(join(out, long(300), 'deep.txt'), 'utf8')).toBe('needs a PAX path');
    expect(readFileSync(join(out, 'opt/host/data.bin')).equals(Buffer.alloc(70_000, 7))).toBe(true);
    expect(statSync(join(out, 'opt/host/sub/same.bin')).ino).toBe(statSync(join(out, 'opt/host/data.bin')).ino);
  });

  it('reports the digest of the gzip blob and the diff_id of the tar inside, and gives the same bytes every time', async () => {
    mkdirSync(join(work, 'blobs2'));
    mkdirSync(join(work, 'blobs3'));
    const a = await writeLayer(tree(), 0, join(work, 'blobs2'));
    const b = await writeLayer(tree(), 0, join(work, 'blobs3'));
    expect(a.digest).toBe(await sha256File(a.path));
    expect(a.diffId).toBe(await sha256File(a.path, true));
    expect(a.size).toBe(statSync(a.path).size);
    expect(a.path.endsWith(a.digest.slice(7))).toBe(true);
    expect(b.digest).toBe(a.digest);
    // The tar is a whole number of 512-byte blocks and ends with two zero blocks.
    expect(a.uncompressedSize % 512).toBe(0);
    const c = await writeLayer(tree(), 1, join(work, 'blobs3'));
    expect(c.diffId).not.toBe(a.diffId); // the mtime is part of the bytes
  });
});

describe('file modes from the host', () => {
  it('keep only whether the owner may execute: group and other bits (umask, a chmod of the cache) do not reach the image', () => {
    expect(normalizedFileMode(0o644)).toBe(0o644);
    expect(normalizedFileMode(0o600)).toBe(0o644);
    expect(normalizedFileMode(0o645)).toBe(0o644);
    expect(normalizedFileMode(0o655)).toBe(0o644);
    expect(normalizedFileMode(0o755)).toBe(0o755);
    expect(normalizedFileMode(0o700)).toBe(0o755);
  });
});
