// Graceful shutdown of the real CLI process: on SIGTERM it stops accepting
// connections (gRPC: and sends GOAWAY), finishes every request and gRPC call
// already sent (even one whose body is still arriving), and exits 0. Each
// case runs with one process and with a pod of two workers (--workers 2),
// whose primary drains both.
import { spawn } from 'node:child_process';
import { Agent, createServer } from 'node:http';
import { connect, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { decodeMessage, encodeMessage } from '../../src/serving/grpc-proto.js';
import { frame, RawGrpcSession, status } from '../fixtures/models/grpc-client.js';
import { fixtureUri, http, inferBody, REPO_ROOT, spawnServe, type ServeProcess } from '../fixtures/models/serve-harness.js';

const ARGS = ['--model-name', 'churn', '--model-uri', fixtureUri('linear.onnx'), '--host', '127.0.0.1', '--port', '0', '--admin-port', '0', '--grpc-port', '0'];

let proc: ServeProcess | undefined;
afterEach(() => {
  if (proc && proc.child.exitCode === null) proc.child.kill('SIGKILL');
  proc = undefined;
});

const connectRefused = (port: number) =>
  new Promise<string>((resolve) => {
    const s = connect(port, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      resolve('connected');
    });
    s.once('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? e.message));
  });

function readResponse(s: Socket): Promise<string> {
  return new Promise((resolve) => {
    let out = '';
    s.on('data', (d: Buffer) => {
      out += d.toString();
      if (/\r\n\r\n[\s\S]*\}$/.test(out)) resolve(out);
    });
    s.on('close', () => resolve(out));
  });
}

/** What each worker of a pod answered before it stopped (none for one process), from its "drained; stopped" line. */
const answeredByWorker = (p: ServeProcess) => p.logs.filter((l) => l.worker !== undefined && /stopped$/.test(l.msg as string)).map((l) => l.answered as number);

describe.each([1, 2])('fluxora serve shutdown, --workers %i', (workers) => {
  const args = [...ARGS, '--workers', String(workers)];
  /** The pod has this many workers, and each answered some of what the test sent. */
  const expectEveryWorkerBusy = (p: ServeProcess) => {
    expect(p.logs.find((l) => l.msg === 'listening')?.workers).toBe(workers);
    const answered = answeredByWorker(p);
    expect(answered).toHaveLength(workers === 1 ? 0 : workers);
    for (const n of answered) expect(n).toBeGreaterThan(0);
  };

  it('drains in-flight requests on SIGTERM, refuses new connections, and exits 0', { timeout: 60_000 }, async () => {
    proc = await spawnServe([...args, '--max-batch-delay-ms', '50']);
    const { port } = proc;
    const agent = new Agent({ keepAlive: true, maxSockets: 64 });
    // Open 64 kept-alive connections first, so the requests below go over established sockets.
    await Promise.all(Array.from({ length: 64 }, () => http(port, { path: '/v2/health/ready', agent })));

    // A request whose body is only half sent when the signal comes.
    const body = inferBody([[1, 2, 3]], { id: 'slow' });
    const slow = connect(port, '127.0.0.1');
    await new Promise((r) => slow.once('connect', r));
    const slowResponse = readResponse(slow);
    slow.write(`POST /v2/models/churn/infer HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body.slice(0, 20)}`);

    const inflight = Array.from({ length: 64 }, (_, i) => http(port, { path: '/v2/models/churn/infer', body: inferBody([[i, i, i]], { id: String(i) }), agent }));
    proc.child.kill('SIGTERM');

    const results = await Promise.all(inflight);
    expect(results.map((r) => r.status)).toEqual(Array(64).fill(200));
    agent.destroy();

    // Still draining (the slow request is open): new connections are refused, the process lives.
    await new Promise((r) => setTimeout(r, 300));
    expect(await connectRefused(port)).toBe('ECONNREFUSED');
    expect(proc.child.exitCode).toBeNull();

    slow.write(body.slice(20));
    const raw = await slowResponse;
    expect(raw).toMatch(/^HTTP\/1\.1 200 /);
    expect(raw).toMatch(/connection: close/i);
    expect(raw).toContain('"id":"slow"');

    expect(await proc.exited).toBe(0);
    const msgs = proc.logs.map((l) => l.msg);
    expect(msgs).toContain('shutting down: draining in-flight requests');
    expect(msgs).toContain('drained; stopped');
    expectEveryWorkerBusy(proc);
  });

  it('drains gRPC calls in flight on SIGTERM: GOAWAY, no new connections, every started call answered, exit 0', { timeout: 60_000 }, async () => {
    proc = await spawnServe(args);
    const { grpcPort } = proc;
    const sessions = [new RawGrpcSession(grpcPort), new RawGrpcSession(grpcPort)];
    let goaways = 0;
    for (const s of sessions) s.session.once('goaway', () => goaways++);
    const request = (i: number) =>
      frame(encodeMessage('ModelInferRequest', { model_name: 'churn', id: `slow-${i}`, inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 3], contents: { fp32_contents: [i, i, i] } }] }));
    // Calls whose message is only half sent when the signal comes.
    const slow = Array.from({ length: 8 }, (_, i) => {
      const { stream, result } = (sessions[i % 2] as RawGrpcSession).open('ModelInfer');
      stream.write(request(i).subarray(0, 12));
      return { stream, result, rest: request(i).subarray(12) };
    });
    // HTTP/2 frames are read in order: once these answer, the server has started every call above.
    for (const s of sessions) expect((await s.call('ServerLive', Buffer.alloc(0))).code).toBe(status.OK);
    proc.child.kill('SIGTERM');

    // At once: no new connections, and GOAWAY on the open ones (their clients retry elsewhere what was not started).
    await new Promise((r) => setTimeout(r, 300));
    expect(await connectRefused(grpcPort)).toBe('ECONNREFUSED');
    expect(goaways).toBe(2);
    expect(proc.child.exitCode).toBeNull();

    for (const c of slow) c.stream.end(c.rest);
    const results = await Promise.all(slow.map((c) => c.result));
    expect(results.map((r) => r.code)).toEqual(Array(8).fill(status.OK));
    expect(results.map((r) => decodeMessage<{ id: string }>('ModelInferResponse', r.message as Buffer).id)).toEqual(slow.map((_, i) => `slow-${i}`));
    for (const s of sessions) s.close();

    expect(await proc.exited).toBe(0);
    expect(proc.logs.map((l) => l.msg)).toContain('drained; stopped');
    expectEveryWorkerBusy(proc);
  });

  it('cancels a gRPC call still unfinished at the drain timeout, and exits 1', { timeout: 60_000 }, async () => {
    proc = await spawnServe([...args, '--drain-timeout-seconds', '1']);
    const session = new RawGrpcSession(proc.grpcPort);
    const { stream, result } = session.open('ModelInfer');
    stream.write(Buffer.from([0, 0, 0, 0, 100]));
    expect((await session.call('ServerLive', Buffer.alloc(0))).code).toBe(status.OK);
    const t0 = Date.now();
    proc.child.kill('SIGTERM');
    expect(await proc.exited).toBe(1);
    expect(Date.now() - t0).toBeLessThan(5_000);
    expect((await result).code).not.toBe(status.OK);
    expect(proc.logs.map((l) => l.msg)).toContain('drain timed out; stopped');
    session.close();
  });

  it('exits 1 with a clear log and termination message when the artifact cannot be loaded', { timeout: 30_000 }, async () => {
    const { spawn } = await import('node:child_process');
    const fs = await import('node:fs');
    const os = await import('node:os');
    const path = await import('node:path');
    const { REPO_ROOT } = await import('../fixtures/models/serve-harness.js');
    // The kubelet creates the file at terminationMessagePath before the container starts.
    const terminationLog = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'fluxora-termination-')), 'termination-log');
    fs.writeFileSync(terminationLog, '');
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'serve', ...ARGS.slice(0, 2), '--model-uri', 'file:///nonexistent/model.onnx', '--port', '0', '--admin-port', '0', '--grpc-port', '0', '--workers', String(workers)], {
      cwd: REPO_ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, FLUXORA_TERMINATION_LOG: terminationLog },
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    const code = await new Promise((r) => child.once('exit', r));
    expect(code).toBe(1);
    expect(out).toMatch(/cannot load the model/);
    expect(out).toMatch(/does not exist/);
    // What the operator reports in the Model's status: the storage reason, then the message.
    expect(fs.readFileSync(terminationLog, 'utf8')).toMatch(/^NotFound: file:\/\/\/nonexistent\/model\.onnx.*does not exist/);
    expect(out.match(/cannot load the model/g)).toHaveLength(1);
    expect(out).not.toMatch(/"model loaded; ready"/);
  });

  it('aborts a stalled download on SIGTERM and exits at once, not after the storage timeout', { timeout: 60_000 }, async () => {
    // An artifact server that accepts the request and never answers.
    const stalled = createServer(() => undefined);
    await new Promise<void>((r) => stalled.listen(0, '127.0.0.1', r));
    const port = (stalled.address() as { port: number }).port;
    try {
      const child = spawn(process.execPath, ['--import', 'tsx', join(REPO_ROOT, 'src/cli/main.ts'), 'serve', ...ARGS.slice(0, 2), '--model-uri', `http://127.0.0.1:${port}/model.onnx`, ...args.slice(4)], {
        cwd: REPO_ROOT,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let out = '';
      child.stdout.on('data', (c: Buffer) => (out += c.toString()));
      const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
      const deadline = Date.now() + 30_000;
      while (!out.includes('"listening"') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      await new Promise((r) => setTimeout(r, 500)); // the download is under way
      const t0 = Date.now();
      child.kill('SIGTERM');
      const code = await exited;
      expect(Date.now() - t0).toBeLessThan(5_000);
      expect(code).toBe(0);
      expect(out).toContain('drained; stopped');
    } finally {
      stalled.closeAllConnections();
      stalled.close();
    }
  });

  it('at SIGTERM, a kept-alive connection used a moment ago still carries the next request', { timeout: 60_000 }, async () => {
    proc = await spawnServe(args);
    const body = inferBody([[1, 2, 3]]);
    const req = `POST /v2/models/churn/infer HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`;
    const s = connect(proc.port, '127.0.0.1');
    await new Promise((r) => s.once('connect', r));
    const first = readResponse(s);
    s.write(req);
    expect(await first).toMatch(/^HTTP\/1\.1 200/);
    s.removeAllListeners('data');
    s.removeAllListeners('close');
    proc.child.kill('SIGTERM');
    // A client's next request on its idle connection, sent after the server has
    // drained what was in flight but before it would call the connection abandoned.
    await new Promise((r) => setTimeout(r, 300));
    const second = readResponse(s);
    s.write(req);
    const answer = await second;
    expect(answer).toMatch(/^HTTP\/1\.1 200/);
    expect(answer).toMatch(/connection: close/i);
    expect(await proc.exited).toBe(0);
  });
});

describe('fluxora serve flags', () => {
  it('exits 2 on bad flags', { timeout: 30_000 }, async () => {
    const { spawnSync } = await import('node:child_process');
    const { REPO_ROOT } = await import('../fixtures/models/serve-harness.js');
    const r = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'serve', '--port', 'x'], { cwd: REPO_ROOT, encoding: 'utf8', env: { ...process.env, FLUXORA_MODEL_NAME: 'm', FLUXORA_MODEL_URI: 'file:///m' } });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/--port must be an integer/);
  });
});

describe('fluxora serve preStop drain', () => {
  it('the preStop drain keeps serving but tells every client to reconnect', { timeout: 60_000 }, async () => {
    proc = await spawnServe(ARGS);
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const before = await http(proc.port, { path: '/v2/models/churn/infer', body: inferBody([[1, 2, 3]]), agent });
    expect(before.status).toBe(200);
    expect(before.headers.connection).toBe('keep-alive');
    const drain = await http(proc.adminPort, { path: '/drain?seconds=0' });
    expect(drain.status).toBe(200);
    const after = await http(proc.port, { path: '/v2/models/churn/infer', body: inferBody([[1, 2, 3]]), agent });
    expect(after.status).toBe(200);
    expect(after.headers.connection).toBe('close');
    // Still ready: the kubelet's endpoint removal, not the server, takes the pod out of rotation.
    expect((await http(proc.port, { path: '/v2/health/ready' })).status).toBe(200);
    expect((await http(proc.adminPort, { path: '/drain?seconds=99' })).status).toBe(400);
    agent.destroy();
  });
});
