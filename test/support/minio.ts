// A real MinIO for tests that need S3. hack/minio.sh builds it once (cached outside the repo),
// starts it on loopback, and reuses a running one, so calling it from every test file is cheap;
// it stays up after the run for the next one (`hack/minio.sh down` stops it).
import { execFileSync, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import type { S3Options } from '../../src/storage/index.js';

export interface MinioEndpoint {
  endpoint: string;
  accessKeyId: string;
  secretAccessKey: string;
}

const script = fileURLToPath(new URL('../../hack/minio.sh', import.meta.url));

// A cold build takes minutes on 2 cores; a running server answers in well under a second.
export const MINIO_START_TIMEOUT_MS = 30 * 60_000;

/** The endpoint `hack/minio.sh up` prints last, if it printed one. */
const endpointOf = (out: string): string | undefined => /^http:\/\/127\.0\.0\.1:\d+$/.exec(out.trim().split('\n').at(-1) ?? '')?.[0];

function up(): Promise<string> {
  return new Promise((resolve, reject) => {
    // stderr passes through: build progress and MinIO's log tail on failure belong in the test output.
    const child = spawn('bash', [script, 'up'], { stdio: ['ignore', 'pipe', 'inherit'], timeout: MINIO_START_TIMEOUT_MS });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (s: string) => (out += s));
    child.on('error', reject);
    child.on('close', (code, signal) => {
      const endpoint = code === 0 ? endpointOf(out) : undefined;
      if (endpoint) resolve(endpoint);
      else reject(new Error(`hack/minio.sh up failed (${signal ?? `exit ${code}`}): ${out.trim()}`));
    });
  });
}

const withCredentials = (endpoint: string): MinioEndpoint => ({
  endpoint,
  // The same defaults as hack/minio.sh, which reads the same variables.
  accessKeyId: process.env.MINIO_ROOT_USER ?? 'fluxora-test',
  secretAccessKey: process.env.MINIO_ROOT_PASSWORD ?? 'fluxora-test-secret',
});

let started: Promise<MinioEndpoint> | undefined;
let known: MinioEndpoint | undefined;

/**
 * Starts (or reuses) the test MinIO; one `hack/minio.sh up` per test worker. Prefer this to
 * minio(): the worker stays responsive during a first-time build.
 */
export function startMinio(): Promise<MinioEndpoint> {
  if (known) return Promise.resolve(known);
  started ??= up().then((endpoint) => (known = withCredentials(endpoint)));
  started.catch(() => (started = undefined)); // a failed start may be retried by the next caller
  return started;
}

/** Synchronous startMinio(), for callers written against it; blocks the worker while MinIO builds. */
export function minio(): MinioEndpoint {
  if (known) return known;
  const out = execFileSync('bash', [script, 'up'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], timeout: MINIO_START_TIMEOUT_MS });
  const endpoint = endpointOf(out);
  if (!endpoint) throw new Error(`hack/minio.sh up printed no endpoint: ${out.trim()}`);
  return (known = withCredentials(endpoint));
}

/** Storage options that address the test MinIO explicitly (no environment needed). */
export const s3Options = (m: MinioEndpoint): S3Options => ({ endpoint: m.endpoint, accessKeyId: m.accessKeyId, secretAccessKey: m.secretAccessKey, forcePathStyle: true });

/** Creates a bucket on the test MinIO (started if need be); an existing one of ours is fine. */
export function createBucket(name: string): Promise<void>;
/** The same on a given MinIO (the form the first callers use). */
export function createBucket(m: MinioEndpoint, name: string): Promise<void>;
export async function createBucket(a: string | MinioEndpoint, b?: string): Promise<void> {
  const m = typeof a === 'string' ? await startMinio() : a;
  const name = typeof a === 'string' ? a : b!;
  const s3 = new S3Client({
    endpoint: m.endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId: m.accessKeyId, secretAccessKey: m.secretAccessKey },
  });
  try {
    await s3.send(new CreateBucketCommand({ Bucket: name }));
  } catch (e) {
    if ((e as Error).name !== 'BucketAlreadyOwnedByYou') throw e;
  } finally {
    s3.destroy();
  }
}
