// http(s):// against a real local server on 127.0.0.1.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { listObjects, objectExists, readObject, sha256Hex, writeObject } from './index.js';
import { expectFailure, failureCode as code } from '../../test/support/storage-errors.js';

/** Asserts that a call fails with a StorageError of `code` whose message contains `text`. */
let server: Server;
let base: string;
let hits: Record<string, number> = {};

beforeAll(async () => {
  server = createServer((req, res) => {
    const path = req.url ?? '/';
    hits[path] = (hits[path] ?? 0) + 1;
    const n = hits[path];
    switch (path) {
      case '/m.onnx':
        return res.end('model-bytes');
      case '/moved':
        return res.writeHead(302, { Location: '/moved-again' }).end();
      case '/moved-again':
        return res.writeHead(301, { Location: `${base}/m.onnx` }).end();
      case '/gone':
        return res.writeHead(410).end();
      case '/secret':
        return res.writeHead(403).end('no');
      case '/bad':
        return res.writeHead(400).end();
      case '/flaky': // fails twice, then recovers: what a restarting pod looks like
        return n <= 2 ? res.writeHead(503).end() : res.end('recovered');
      case '/down':
        return res.writeHead(503).end();
      case '/slow': // headers never come in time
        return void setTimeout(() => res.end('late'), 3_000).unref();
      case '/stall': // headers and some body, then nothing
        res.writeHead(200, { 'Content-Length': '100' }).write('x'.repeat(10));
        return void setTimeout(() => res.end('x'.repeat(90)), 3_000).unref();
      case '/big':
        return res.writeHead(200, { 'Content-Length': '1000' }).end(Buffer.alloc(1000));
      case '/big-chunked': // no Content-Length: the limit must hold while streaming
        res.writeHead(200);
        for (let i = 0; i < 10; i++) res.write(Buffer.alloc(100));
        return res.end();
      case '/get-only':
        return req.method === 'HEAD' ? res.writeHead(405).end() : res.end('ok');
      default:
        return res.writeHead(404).end();
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});
beforeEach(() => {
  hits = {};
});

describe('reading over http', () => {
  it('reads, follows redirects and verifies sha256', async () => {
    expect((await readObject(`${base}/m.onnx`)).toString()).toBe('model-bytes');
    expect((await readObject(`${base}/moved`)).toString()).toBe('model-bytes');
    expect((await readObject(`${base}/m.onnx`, { sha256: sha256Hex('model-bytes') })).toString()).toBe('model-bytes');
    expect(await code(readObject(`${base}/m.onnx`, { sha256: sha256Hex('other') }))).toBe('ChecksumMismatch');
  });

  it('maps statuses to codes, without retrying what will not change', async () => {
    expect(await code(readObject(`${base}/nope`))).toBe('NotFound');
    expect(await code(readObject(`${base}/gone`))).toBe('NotFound');
    expect(await code(readObject(`${base}/secret`))).toBe('AccessDenied');
    expect(await code(readObject(`${base}/bad`))).toBe('InvalidUri');
    expect(hits).toEqual({ '/nope': 1, '/gone': 1, '/secret': 1, '/bad': 1 });
    await expectFailure(readObject(`${base}/nope`), 'NotFound', `${base}/nope does not exist (HTTP 404 Not Found)`);
  });

  it('retries transient failures with back-off, then gives up as Unreachable', async () => {
    expect((await readObject(`${base}/flaky`)).toString()).toBe('recovered');
    expect(hits['/flaky']).toBe(3);
    expect(await code(readObject(`${base}/down`))).toBe('Unreachable');
    expect(hits['/down']).toBe(3);
  });

  it('times out on a server that does not answer, or stops sending, and says so', async () => {
    // The server answers after 3 s: getting Unreachable at all proves the 150 ms limit held.
    await expectFailure(readObject(`${base}/slow`, { timeoutMs: 150 }), 'Unreachable', 'within 150 ms');
    expect(hits['/slow']).toBe(3);
    await expectFailure(readObject(`${base}/stall`, { timeoutMs: 150 }), 'Unreachable', 'within 150 ms');
  });

  it('reports a refused connection as Unreachable', async () => {
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((r) => closed.close(r));
    await expectFailure(readObject(`http://127.0.0.1:${port}/m.onnx`), 'Unreachable', 'cannot reach the server (ECONNREFUSED)');
  });

  it('enforces maxBytes from Content-Length and while streaming', async () => {
    expect((await readObject(`${base}/big`, { maxBytes: 1000 })).length).toBe(1000);
    expect(await code(readObject(`${base}/big`, { maxBytes: 999 }))).toBe('TooLarge');
    expect((await readObject(`${base}/big-chunked`, { maxBytes: 1000 })).length).toBe(1000);
    expect(await code(readObject(`${base}/big-chunked`, { maxBytes: 250 }))).toBe('TooLarge');
  });

  it("throws the caller's abort reason as is, without retrying", async () => {
    const ctl = new AbortController();
    const reason = new Error('operator shutting down');
    setTimeout(() => ctl.abort(reason), 50);
    await expect(readObject(`${base}/slow`, { signal: ctl.signal })).rejects.toBe(reason);
    expect(hits['/slow']).toBe(1);
  });
});

describe('other operations over http', () => {
  it('checks existence with HEAD, falling back to GET', async () => {
    expect(await objectExists(`${base}/m.onnx`)).toBe(true);
    expect(await objectExists(`${base}/nope`)).toBe(false);
    expect(await objectExists(`${base}/get-only`)).toBe(true);
    expect(await code(objectExists(`${base}/secret`))).toBe('AccessDenied');
  });

  it('refuses writes and listings as Unsupported', async () => {
    expect(await code(writeObject(`${base}/m.onnx`, 'x'))).toBe('Unsupported');
    expect(await code(listObjects(`${base}/`))).toBe('Unsupported');
    expect(hits).toEqual({});
  });
});
