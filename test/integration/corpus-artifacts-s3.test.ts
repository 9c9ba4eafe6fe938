// The S3 cases of the bad-artifact corpus (test/corpus/artifacts/cases.ts)
// against a real MinIO: wrong credentials, unknown access key, missing key
// or bucket, a truncated upload. `fluxora serve` exits 1 with one JSON line
// naming the URI, the reason and the problem; a good object in the same
// bucket with the right credentials still loads.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { http } from '../fixtures/models/serve-harness.js';
import { ARTIFACT_CASES, fixtureBytes, type ArtifactContext } from '../corpus/artifacts/cases.js';
import { AWS_SDK_NODE_WARNING, expectRefusedArtifact, limited } from '../corpus/artifacts/expect.js';
import { closedPort, runServeUntilExit } from '../corpus/artifacts/harness.js';
import { createBucket, startMinio, type MinioEndpoint } from '../support/minio.js';

const BUCKET = 'fluxora-corpus-artifacts';

let ctx: ArtifactContext;
let minio: MinioEndpoint;
let s3: S3Client;

beforeAll(async () => {
  minio = await startMinio();
  await createBucket(minio, BUCKET);
  s3 = new S3Client({
    endpoint: minio.endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId: minio.accessKeyId, secretAccessKey: minio.secretAccessKey },
  });
  ctx = {
    dir: await mkdtemp(join(tmpdir(), 'fluxora-corpus-s3-')),
    // No case here uses HTTP; an address that refuses connections keeps a mistake loud.
    httpBase: `http://127.0.0.1:${await closedPort()}`,
    closedPort: await closedPort(),
    s3: {
      bucket: BUCKET,
      put: async (key, bytes) => {
        await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: bytes }));
        return `s3://${BUCKET}/${key}`;
      },
      // What a serving pod gets from a correct credentials Secret.
      env: {
        AWS_ACCESS_KEY_ID: minio.accessKeyId,
        AWS_SECRET_ACCESS_KEY: minio.secretAccessKey,
        AWS_ENDPOINT_URL: minio.endpoint,
        AWS_REGION: 'us-east-1',
      },
    },
  };
});
afterAll(async () => {
  s3?.destroy();
  if (ctx) await rm(ctx.dir, { recursive: true, force: true });
});

const onS3 = ARTIFACT_CASES.filter((c) => c.store === 's3');

describe('bad artifacts on S3 (MinIO)', () => {
  it('the catalogue has S3 cases', () => {
    expect(onS3.length).toBeGreaterThanOrEqual(5);
  });

  it.concurrent.each(onS3.map((c) => [c.name, c] as const))('%s', { timeout: 120_000 }, async (_name, c) => {
    const setup = await c.setup(ctx);
    const run = await limited(() => runServeUntilExit(setup));
    expectRefusedArtifact(run, setup.uri, c);
  });

  it('the same bucket, a good object and the right credentials: ready', { timeout: 120_000 }, async () => {
    const uri = await ctx.s3!.put('good/model.onnx', await fixtureBytes());
    let ready: number | undefined;
    const run = await runServeUntilExit({ uri, env: ctx.s3!.env }, {
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
    expect(run.stderr.replace(AWS_SDK_NODE_WARNING, '')).toBe('');
  });
});
