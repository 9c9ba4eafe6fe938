import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, readdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { joinUri, listObjects, objectExists, parseStorageUri, readObject, sha256Hex, StorageError, writeObject } from './index.js';

const code = async (p: Promise<unknown>) => {
  try {
    await p;
  } catch (e) {
    if (e instanceof StorageError) return e.code;
    throw e;
  }
  return 'ok';
};

describe('parseStorageUri', () => {
  it('parses every scheme', () => {
    expect(parseStorageUri('s3://models/churn/v1/model.onnx')).toEqual({ scheme: 's3', bucket: 'models', key: 'churn/v1/model.onnx' });
    expect(parseStorageUri('https://example.com/m.onnx')).toMatchObject({ scheme: 'http' });
    expect(parseStorageUri('file:///data/a%20b.csv')).toEqual({ scheme: 'file', path: '/data/a b.csv' });
    expect(parseStorageUri('pvc://models/churn/v1.onnx')).toEqual({ scheme: 'pvc', claim: 'models', path: '/churn/v1.onnx' });
  });
  it('refuses bad URIs with a message naming them', () => {
    for (const bad of ['models/churn.onnx', 'ftp://x/y', 's3://A_B/key', 'file://relative/path', 'pvc://claim/../../etc/passwd', 'pvc://Bad_Claim/x']) {
      expect(() => parseStorageUri(bad)).toThrow(StorageError);
      expect(() => parseStorageUri(bad)).toThrow(bad);
    }
  });
  it('joins prefixes', () => {
    expect(joinUri('s3://b/models/', '/churn/', 'v2', 'model.onnx')).toBe('s3://b/models/churn/v2/model.onnx');
  });
});

describe('file and pvc storage', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'fluxora-storage-'));
    process.env.FLUXORA_PVC_ROOT = join(dir, 'pvc');
  });

  it('writes atomically, reads back, verifies sha256 and size', async () => {
    const uri = `file://${dir}/a/b/model.onnx`;
    await writeObject(uri, 'hello');
    expect((await readObject(uri)).toString()).toBe('hello');
    expect((await readdir(join(dir, 'a', 'b'))).filter((f) => f.endsWith('.tmp'))).toEqual([]);
    expect((await readObject(uri, { sha256: sha256Hex('hello') })).toString()).toBe('hello');
    expect(await code(readObject(uri, { sha256: sha256Hex('other') }))).toBe('ChecksumMismatch');
    expect(await code(readObject(uri, { maxBytes: 3 }))).toBe('TooLarge');
    expect(await code(readObject(`file://${dir}/missing`))).toBe('NotFound');
    expect(await objectExists(uri)).toBe(true);
    expect(await objectExists(`file://${dir}/missing`)).toBe(false);
  });

  it('resolves pvc:// under the mount root and lists prefixes', async () => {
    await writeObject('pvc://models/churn/v1/model.onnx', 'x');
    await writeObject('pvc://models/churn/v1/metrics.json', '{}');
    expect((await readObject('pvc://models/churn/v1/model.onnx')).toString()).toBe('x');
    expect(await listObjects('pvc://models/churn/')).toEqual(['pvc://models/churn/v1/metrics.json', 'pvc://models/churn/v1/model.onnx']);
    expect(await listObjects('pvc://models/none/')).toEqual([]);
  });

  it('a failed write leaves neither the target nor a temporary file', async () => {
    await writeFile(join(dir, 'blocker'), 'file, not a directory');
    expect(await code(writeObject(`file://${dir}/blocker/x.onnx`, 'x'))).not.toBe('ok');
    expect((await readdir(dir)).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });
});

describe('http storage', () => {
  let server: Server;
  let base: string;
  beforeAll(async () => {
    server = createServer((req, res) => {
      if (req.url === '/m.onnx') res.end('model-bytes');
      else if (req.url === '/moved') res.writeHead(302, { Location: '/m.onnx' }).end();
      else if (req.url === '/secret') res.writeHead(403).end();
      else if (req.url === '/slow') setTimeout(() => res.end('late'), 2000);
      else res.writeHead(404).end();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => server.close());

  it('reads, follows redirects, and maps errors', async () => {
    expect((await readObject(`${base}/m.onnx`)).toString()).toBe('model-bytes');
    expect((await readObject(`${base}/moved`)).toString()).toBe('model-bytes');
    expect(await code(readObject(`${base}/nope`))).toBe('NotFound');
    expect(await code(readObject(`${base}/secret`))).toBe('AccessDenied');
    expect(await code(readObject(`${base}/slow`, { timeoutMs: 200 }))).toBe('Unreachable');
    expect(await code(readObject('http://127.0.0.1:9/x'))).toBe('Unreachable');
    expect(await code(writeObject(`${base}/m.onnx`, 'x'))).toBe('Unsupported');
    expect(await objectExists(`${base}/m.onnx`)).toBe(true);
    expect(await objectExists(`${base}/nope`)).toBe(false);
  });
});
