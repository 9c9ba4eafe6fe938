// file:// and pvc:// through the public API, on a temporary directory.
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { listObjectDetails, listObjects, listPrefixes, objectExists, readObject, sha256Hex, StorageError, writeObject } from './index.js';
import { expectFailure, failureCode as code } from '../../test/support/storage-errors.js';

/** Asserts that a call fails with a StorageError of `code` whose message contains `text`. */
let dir: string;
const savedRoot = process.env.FLUXORA_PVC_ROOT;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fluxora-storage-'));
  process.env.FLUXORA_PVC_ROOT = join(dir, 'pvc');
});
afterAll(async () => {
  if (savedRoot === undefined) delete process.env.FLUXORA_PVC_ROOT;
  else process.env.FLUXORA_PVC_ROOT = savedRoot;
  await rm(dir, { recursive: true, force: true });
});

describe('file://', () => {
  it('writes (creating directories) and reads back bytes and strings', async () => {
    const bin = randomBytes(4096);
    await writeObject(`file://${dir}/a/b/model.onnx`, bin);
    await writeObject(`file://${dir}/a/b/metrics.json`, '{"auc":0.9}');
    expect(Buffer.compare(await readObject(`file://${dir}/a/b/model.onnx`), bin)).toBe(0);
    expect((await readObject(`file://${dir}/a/b/metrics.json`)).toString()).toBe('{"auc":0.9}');
    await writeObject(`file://${dir}/a/b/metrics.json`, '{"auc":0.95}'); // replaces
    expect((await readObject(`file://${dir}/a/b/metrics.json`)).toString()).toBe('{"auc":0.95}');
  });

  it('verifies sha256 (any case, optional sha256: prefix) and names expected and actual on a mismatch', async () => {
    const uri = `file://${dir}/checked.csv`;
    await writeObject(uri, 'a,b\n1,2\n');
    const sha = sha256Hex('a,b\n1,2\n');
    expect((await readObject(uri, { sha256: sha })).toString()).toBe('a,b\n1,2\n');
    expect((await readObject(uri, { sha256: `sha256:${sha.toUpperCase()}` })).length).toBe(8);
    const wrong = sha256Hex('something else');
    const err = await readObject(uri, { sha256: wrong }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StorageError);
    expect((err as StorageError).code).toBe('ChecksumMismatch');
    expect((err as StorageError).message).toContain(`expected ${wrong}, got ${sha}`);
    expect((err as StorageError).message).toContain(uri);
    expect(await code(readObject(uri, { sha256: 'not-a-digest' }))).toBe('InvalidUri');
  });

  it('refuses objects over maxBytes before reading them', async () => {
    const uri = `file://${dir}/big.bin`;
    await writeObject(uri, Buffer.alloc(1000));
    expect((await readObject(uri, { maxBytes: 1000 })).length).toBe(1000);
    await expectFailure(readObject(uri, { maxBytes: 999 }), 'TooLarge', '1000 bytes');
  });

  it('reports missing files, directories and prefixes as such', async () => {
    expect(await code(readObject(`file://${dir}/missing.csv`))).toBe('NotFound');
    expect(await code(readObject(`file://${dir}/a/b/model.onnx/x`))).toBe('NotFound'); // a file as a directory
    expect(await code(readObject(`file://${dir}/a`))).toBe('NotFound'); // a directory
    expect(await code(readObject(`file://${dir}/a/`))).toBe('InvalidUri'); // a prefix, not an object
    expect(await code(writeObject(`file://${dir}/a/`, 'x'))).toBe('InvalidUri');
    expect(await objectExists(`file://${dir}/a/b/model.onnx`)).toBe(true);
    expect(await objectExists(`file://${dir}/missing.csv`)).toBe(false);
    expect(await objectExists(`file://${dir}/a`)).toBe(false); // a directory is not an object
  });

  it("names the URI once, without the path again from Node's message", async () => {
    // A symlink loop: ELOOP, which Node reports as "ELOOP: ..., open '<path>'".
    await symlink(join(dir, 'loop-b'), join(dir, 'loop-a'));
    await symlink(join(dir, 'loop-a'), join(dir, 'loop-b'));
    const uri = `file://${dir}/loop-a`;
    const err = (await readObject(uri).catch((e: unknown) => e)) as StorageError;
    expect(err).toBeInstanceOf(StorageError);
    expect(err.message).toBe(`${uri}: ELOOP: too many symbolic links encountered, open`);
    expect(err.message.split(dir).length - 1).toBe(1);
  });

  it('lists files below a prefix recursively, as round-trippable URIs', async () => {
    await writeObject(`file://${dir}/list/x/2.csv`, '2');
    await writeObject(`file://${dir}/list/1.csv`, '1');
    await writeObject(`file://${dir}/list/with space%23.csv`, '3'); // a file named "with space#.csv"
    const listed = await listObjects(`file://${dir}/list`);
    expect(listed).toEqual([`file://${dir}/list/1.csv`, `file://${dir}/list/with%20space%23.csv`, `file://${dir}/list/x/2.csv`]);
    expect((await readObject(listed[1]!)).toString()).toBe('3');
    expect(await listObjects(`file://${dir}/list/`)).toEqual(listed);
    expect(await listObjects(`file://${dir}/nothing-here/`)).toEqual([]);
  });

  it('lists details (size, modification time) and the directories one level down', async () => {
    const before = Date.now() - 1000;
    await writeObject(`file://${dir}/parts/model=a/version=v1/x.jsonl`, 'abc');
    await writeObject(`file://${dir}/parts/model=a/version=v2/y.jsonl`, 'de');
    await writeObject(`file://${dir}/parts/model=a/top.txt`, 'f');
    const details = await listObjectDetails(`file://${dir}/parts/model=a/`);
    expect(details.map((d) => [d.uri, d.size])).toEqual([
      [`file://${dir}/parts/model=a/top.txt`, 1],
      [`file://${dir}/parts/model=a/version=v1/x.jsonl`, 3],
      [`file://${dir}/parts/model=a/version=v2/y.jsonl`, 2],
    ]);
    expect(details.every((d) => d.modified.getTime() >= before)).toBe(true);
    expect(await listPrefixes(`file://${dir}/parts/model=a/`)).toEqual([`file://${dir}/parts/model=a/version=v1/`, `file://${dir}/parts/model=a/version=v2/`]);
    expect(await listPrefixes(`file://${dir}/parts/none/`)).toEqual([]);
    await expect(listPrefixes(`file://${dir}/parts/model=a`)).rejects.toThrow(/ending in "\/"/);
  });
});

describe('atomic writes', () => {
  it('a concurrent reader sees the old or the new bytes, never a part', async () => {
    const uri = `file://${dir}/atomic/model.onnx`;
    const versions = [Buffer.alloc(4 << 20, 1), Buffer.alloc(4 << 20, 2)];
    const digests = new Set(versions.map((v) => sha256Hex(v)));
    await writeObject(uri, versions[0]!);
    let writing = true;
    const writer = (async () => {
      for (let i = 1; i <= 20; i++) await writeObject(uri, versions[i % 2]!);
      writing = false;
    })();
    let reads = 0;
    while (writing) {
      const data = await readObject(uri);
      expect(digests.has(sha256Hex(data))).toBe(true);
      reads++;
    }
    await writer;
    expect(reads).toBeGreaterThan(0);
    expect((await readdir(join(dir, 'atomic'))).sort()).toEqual(['model.onnx']); // no temporary file left
  });

  it('in-flight temporary files are invisible to listings', async () => {
    await writeObject(`file://${dir}/inflight/a.csv`, 'a');
    await writeFile(join(dir, 'inflight', '.b.csv.0123456789ab.fluxora-tmp'), 'partial');
    expect(await listObjects(`file://${dir}/inflight/`)).toEqual([`file://${dir}/inflight/a.csv`]);
  });

  it('a failed write leaves neither a target nor a temporary file', async () => {
    await writeFile(join(dir, 'blocker'), 'a file, not a directory');
    expect(await code(writeObject(`file://${dir}/blocker/x.onnx`, 'x'))).toBe('NotFound');
    await mkdir(join(dir, 'isdir', 'target.onnx'), { recursive: true });
    expect(await code(writeObject(`file://${dir}/isdir/target.onnx`, 'x'))).not.toBe('ok');
    expect((await readdir(join(dir, 'isdir'))).sort()).toEqual(['target.onnx']);
  });
});

describe('pvc://', () => {
  beforeEach(async () => {
    await mkdir(join(dir, 'pvc', 'models'), { recursive: true }); // what the operator's volume mount provides
  });

  it('resolves claims under FLUXORA_PVC_ROOT and reads, writes, lists and checks them', async () => {
    await writeObject('pvc://models/churn/v1/model.onnx', 'onnx');
    await writeObject('pvc://models/churn/v1/metrics.json', '{}');
    expect((await readdir(join(dir, 'pvc', 'models', 'churn', 'v1'))).sort()).toEqual(['metrics.json', 'model.onnx']);
    expect((await readObject('pvc://models/churn/v1/model.onnx', { sha256: sha256Hex('onnx') })).toString()).toBe('onnx');
    expect(await listObjects('pvc://models/churn/')).toEqual(['pvc://models/churn/v1/metrics.json', 'pvc://models/churn/v1/model.onnx']);
    expect(await listObjects('pvc://models/none/')).toEqual([]);
    expect(await objectExists('pvc://models/churn/v1/model.onnx')).toBe(true);
    expect(await objectExists('pvc://models/churn/v9/model.onnx')).toBe(false);
    expect(await code(readObject('pvc://models/churn/v9/model.onnx'))).toBe('NotFound');
  });

  it('never writes into a claim that is not mounted, and says so', async () => {
    await expectFailure(writeObject('pvc://unmounted/x.csv', 'x'), 'Unreachable', '"unmounted" is not mounted at');
    expect(await readdir(join(dir, 'pvc'))).not.toContain('unmounted');
    expect(await code(readObject('pvc://unmounted/x.csv'))).toBe('Unreachable');
    expect(await code(listObjects('pvc://unmounted/'))).toBe('Unreachable');
    expect(await code(objectExists('pvc://unmounted/x.csv'))).toBe('Unreachable');
  });
});
