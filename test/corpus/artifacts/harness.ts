// Running `fluxora serve` on a bad artifact until it gives up, and the real
// endpoints the artifact cases point it at: a local HTTP server with known
// answers and a port nothing listens on. serve-harness.ts's spawnServe
// waits for a server that gets ready; these runs are expected to end, so
// this one waits for the exit and keeps everything the process said.
import { spawn } from 'node:child_process';
import { createServer, STATUS_CODES, type Server } from 'node:http';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { FEATURES, REPO_ROOT } from '../../fixtures/models/serve-harness.js';
import { LOGIN_PAGE, type ArtifactSetup } from './cases.js';
import { freePort } from '../../support/ports.js';

/** A loopback port that nothing listens on (a refused connection). */
export const closedPort = freePort;

export interface ServeRun {
  code: number | null;
  /** stdout lines that parsed as JSON (pino's log lines). */
  logs: Record<string, unknown>[];
  /** stdout lines that did not. */
  otherStdout: string[];
  stderr: string;
}

export interface RunOptions {
  /** Called with the public port once the server listens (the artifact may still be loading); `stop` sends SIGTERM. */
  onListening?: (port: number, stop: () => void) => Promise<void>;
  timeoutMs?: number;
}

/** `fluxora serve` for an artifact, through the real CLI entrypoint, until it exits. */
export function runServeUntilExit(a: ArtifactSetup, o: RunOptions = {}): Promise<ServeRun> {
  const args = [
    '--model-name=churn',
    `--model-uri=${a.uri}`,
    `--features=${JSON.stringify(a.features ?? FEATURES)}`,
    '--host=127.0.0.1',
    '--port=0',
    '--admin-port=0',
    '--grpc-port=0',
    ...(a.sha256 ? [`--model-sha256=${a.sha256}`] : []),
  ];
  // Only what the case sets: no AWS_* from the developer's shell may leak into an S3 case.
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('AWS_')));
  const child = spawn(process.execPath, ['--import', 'tsx', join(REPO_ROOT, 'src/cli/main.ts'), 'serve', ...args], {
    cwd: REPO_ROOT,
    env: { ...env, FLUXORA_LOG_LEVEL: 'info', FLUXORA_WORKERS: '1', ...a.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const run: ServeRun = { code: null, logs: [], otherStdout: [], stderr: '' };
  child.stderr.on('data', (c: Buffer) => (run.stderr += c.toString()));
  let hook: Promise<void> = Promise.resolve();
  createInterface({ input: child.stdout }).on('line', (line) => {
    let rec: Record<string, unknown>;
    try {
      rec = JSON.parse(line) as Record<string, unknown>;
    } catch {
      run.otherStdout.push(line);
      return;
    }
    run.logs.push(rec);
    if (rec.msg === 'listening' && o.onListening) hook = o.onListening(rec.port as number, () => child.kill('SIGTERM'));
  });
  const timeoutMs = o.timeoutMs ?? 60_000;
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`fluxora serve did not exit within ${timeoutMs} ms on ${a.uri}; logs: ${JSON.stringify(run.logs)}`));
    }, timeoutMs);
    child.once('close', (code) => {
      clearTimeout(timer);
      run.code = code;
      hook.then(() => resolve(run), reject);
    });
  });
}

export interface ArtifactHttpServer {
  base: string;
  /** Holds the next request to /slow/<code> until released, so a test can look at the server meanwhile. */
  releaseSlow(): void;
  close(): Promise<void>;
}

/**
 * A real HTTP server with fixed answers: /status/<code>/... answers that
 * status, /slow/<code> the same once released, /html a login page with 200.
 */
export async function startArtifactHttpServer(): Promise<ArtifactHttpServer> {
  let release: () => void = () => undefined;
  let released = new Promise<void>((r) => (release = r));
  const server: Server = createServer((req, res) => {
    const url = req.url ?? '/';
    const status = /^\/(?:status|slow)\/(\d{3})(?:\/|$)/.exec(url);
    const answer = (code: number) => {
      res.writeHead(code, { 'content-type': 'text/plain' });
      res.end(`${code} ${STATUS_CODES[code] ?? ''}\n`);
    };
    if (url === '/html') {
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end(LOGIN_PAGE);
    } else if (status && url.startsWith('/slow/')) {
      void released.then(() => answer(Number(status[1])));
    } else if (status) {
      answer(Number(status[1]));
    } else {
      answer(404);
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : 0;
  return {
    base: `http://127.0.0.1:${port}`,
    releaseSlow: () => {
      release();
      released = new Promise<void>((r) => (release = r));
    },
    close: () => {
      release();
      server.closeAllConnections();
      return new Promise<void>((r) => server.close(() => r()));
    },
  };
}

