// The operator's two small HTTP listeners, as controller-runtime lays them
// out: metrics on one address (scraped by Prometheus) and health probes on
// another (hit by the kubelet), so a slow scrape never fails a probe.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';

export type Check = () => string | undefined; // undefined = healthy, else the reason

export interface Listener {
  server: http.Server;
  port: number;
  close(): Promise<void>;
}

/** Parses ":8080", "127.0.0.1:8080" or "0" (disabled) into host/port. */
export function parseBindAddress(addr: string): { host?: string; port: number } | undefined {
  if (addr === '0' || addr === '') return undefined;
  const i = addr.lastIndexOf(':');
  const host = i > 0 ? addr.slice(0, i) : undefined;
  const port = Number(addr.slice(i + 1));
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`bad bind address "${addr}"`);
  return { host, port };
}

function listen(server: http.Server, bind: { host?: string; port: number }): Promise<Listener> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(bind.port, bind.host, () => {
      server.off('error', reject);
      resolve({
        server,
        port: (server.address() as AddressInfo).port,
        close: () => new Promise<void>((r) => server.close(() => r())),
      });
    });
  });
}

export function serveMetrics(bind: { host?: string; port: number }, registry: Registry): Promise<Listener> {
  const server = http.createServer((req, res) => {
    if (req.method !== 'GET' || req.url?.split('?')[0] !== '/metrics') {
      res.writeHead(404).end();
      return;
    }
    registry.metrics().then(
      (body) => res.writeHead(200, { 'Content-Type': registry.contentType }).end(body),
      (err: Error) => res.writeHead(500).end(err.message),
    );
  });
  return listen(server, bind);
}

export function serveProbes(bind: { host?: string; port: number }, checks: { healthz: Check[]; readyz: Check[] }): Promise<Listener> {
  const server = http.createServer((req, res) => {
    const path = req.url?.split('?')[0];
    const list = path === '/healthz' ? checks.healthz : path === '/readyz' ? checks.readyz : undefined;
    if (!list) {
      res.writeHead(404).end();
      return;
    }
    const failures = list.map((c) => c()).filter((r): r is string => r !== undefined);
    if (failures.length) res.writeHead(503, { 'Content-Type': 'text/plain' }).end(failures.join('\n') + '\n');
    else res.writeHead(200, { 'Content-Type': 'text/plain' }).end('ok\n');
  });
  return listen(server, bind);
}
