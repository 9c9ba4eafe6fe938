import { createServer, type Server } from 'node:http';
import { createServer as createNetServer, type Server as NetServer } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { MirrorClient } from './mirror-client.js';

const servers: (Server | NetServer)[] = [];
afterEach(() => {
  for (const s of servers.splice(0)) {
    if ('closeAllConnections' in s) s.closeAllConnections();
    s.close();
  }
});

async function listen<T extends Server | NetServer>(s: T): Promise<URL> {
  servers.push(s);
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  return new URL(`http://127.0.0.1:${(s.address() as { port: number }).port}/v2/models/m/infer`);
}

describe('the mirror client', () => {
  it('reads Content-Length, chunked and connection-closed answers, reusing a kept-alive connection', async () => {
    const sockets = new Set<unknown>();
    const url = await listen(
      createServer((req, res) => {
        sockets.add(req.socket);
        let body = '';
        req.on('data', (c: Buffer) => (body += c.toString()));
        req.on('end', () => {
          const mode = (JSON.parse(body) as { mode: string }).mode;
          if (mode === 'length') res.writeHead(200, { 'Content-Length': 5 }).end('hello');
          else if (mode === 'chunked') {
            res.writeHead(201);
            res.write('chu');
            setTimeout(() => res.end('nked'), 5);
          } else res.writeHead(503, { Connection: 'close', 'Content-Length': 4 }).end('gone');
        });
      }),
    );
    const client = new MirrorClient(url, 1024);
    const post = async (mode: string) => {
      const a = await client.post(JSON.stringify({ mode })).answer;
      return [a.status, a.body.toString()];
    };
    expect(await post('length')).toEqual([200, 'hello']);
    expect(await post('chunked')).toEqual([201, 'chunked']);
    expect(await post('length')).toEqual([200, 'hello']);
    expect(sockets.size).toBe(1);
    expect(await post('close')).toEqual([503, 'gone']);
    expect(await post('length')).toEqual([200, 'hello']);
    expect(sockets.size).toBe(2);
    client.close();
  });

  it('reads a body that ends with the connection, and refuses a garbled or oversized answer', async () => {
    let reply = '';
    const url = await listen(
      createNetServer((socket) => {
        socket.once('data', () => socket.end(reply));
        socket.on('error', () => undefined);
      }),
    );
    const client = new MirrorClient(url, 16);
    reply = 'HTTP/1.0 200 OK\r\nContent-Type: application/json\r\n\r\n{"a":1}';
    const a = await client.post('{}').answer;
    expect([a.status, a.body.toString()]).toEqual([200, '{"a":1}']);
    reply = 'SPDY/3 200 OK\r\n\r\n';
    await expect(client.post('{}').answer).rejects.toThrow(/did not answer HTTP/);
    reply = `HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n${'x'.repeat(100)}`;
    await expect(client.post('{}').answer).rejects.toThrow(/larger than 16 bytes/);
    reply = 'HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc';
    await expect(client.post('{}').answer).rejects.toThrow(/mid-answer|closed/);
  });

  it('fails at once on a refused connection, and abort ends a request the candidate never answers', async () => {
    const silent = await listen(createNetServer(() => undefined));
    const client = new MirrorClient(silent, 1024);
    const { answer, abort } = client.post('{}');
    setTimeout(abort, 50);
    await expect(answer).rejects.toThrow();
    const dead = new URL(silent.href);
    (servers.pop() as NetServer).close();
    await new Promise((r) => setTimeout(r, 20));
    await expect(new MirrorClient(dead, 1024).post('{}').answer).rejects.toThrow(/ECONNREFUSED|closed/);
  });
});
