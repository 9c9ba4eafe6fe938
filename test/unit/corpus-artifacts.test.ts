// Bad model artifacts on local files and over HTTP (test/corpus/artifacts):
// the real `fluxora serve` exits 1 with one JSON log line that names the
// artifact, the reason and the problem, and no stack trace; while a slow
// artifact loads it answers liveness but reports not ready with the reason.
// The S3 cases run against MinIO in test/integration/corpus-artifacts-s3.test.ts.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixtureUri, http } from '../fixtures/models/serve-harness.js';
import { ARTIFACT_CASES, type ArtifactContext } from '../corpus/artifacts/cases.js';
import { closedPort, runServeUntilExit, startArtifactHttpServer, type ArtifactHttpServer } from '../corpus/artifacts/harness.js';
import { expectRefusedArtifact, limited } from '../corpus/artifacts/expect.js';

let ctx: ArtifactContext;
let httpServer: ArtifactHttpServer;

beforeAll(async () => {
  httpServer = await startArtifactHttpServer();
  ctx = { dir: await mkdtemp(join(tmpdir(), 'fluxora-corpus-artifacts-')), httpBase: httpServer.base, closedPort: await closedPort() };
});
afterAll(async () => {
  await httpServer?.close();
  if (ctx) await rm(ctx.dir, { recursive: true, force: true });
});

const local = ARTIFACT_CASES.filter((c) => c.store === 'local');

describe('bad artifacts: fluxora serve refuses them clearly', () => {
  it.concurrent.each(local.map((c) => [c.name, c] as const))('%s', { timeout: 120_000 }, async (_name, c) => {
    const setup = await c.setup(ctx);
    const run = await limited(() => runServeUntilExit(setup));
    expectRefusedArtifact(run, setup.uri, c);
  });

  it('while the artifact loads: live, not ready with the reason, inference 503; then exit 1', { timeout: 120_000 }, async () => {
    const uri = `${httpServer.base}/slow/404/model.onnx`;
    const seen: Record<string, unknown> = {};
    const run = await runServeUntilExit({ uri }, {
      onListening: async (port) => {
        try {
          seen.live = (await http(port, { path: '/v2/health/live' })).status;
          const ready = await http(port, { path: '/v2/health/ready' });
          seen.ready = { status: ready.status, body: ready.json() };
          const infer = await http(port, { path: '/v2/models/churn/infer', body: '{}' });
          seen.infer = { status: infer.status, body: infer.json() };
        } finally {
          httpServer.releaseSlow();
        }
      },
    });
    expect(seen).toEqual({
      live: 200,
      ready: { status: 503, body: { error: 'not ready: loading the model' } },
      infer: { status: 503, body: { error: 'model "churn" is not ready: loading the model' } },
    });
    expectRefusedArtifact(run, uri, { reason: 'NotFound', error: '{uri} does not exist (HTTP 404 Not Found)' });
  });

  it('the untouched fixture through the same runner gets ready (the failures are the artifacts\')', { timeout: 120_000 }, async () => {
    let ready: number | undefined;
    const run = await runServeUntilExit({ uri: fixtureUri('linear.onnx') }, {
      onListening: async (port, stop) => {
        const deadline = Date.now() + 30_000;
        while (Date.now() < deadline && (ready = (await http(port, { path: '/v2/health/ready' })).status) !== 200) {
          await new Promise((r) => setTimeout(r, 100));
        }
        stop();
      },
    });
    expect(ready).toBe(200);
    expect(run.code).toBe(0);
    expect(run.stderr).toBe('');
    expect(run.logs.map((l) => l.msg)).toContain('model loaded; ready');
  });
});
