// The store bench:serve writes the prediction log to: a real MinIO from
// hack/minio.sh (test/support/minio.ts), on FLUXORA_MINIO_PORT (default
// 19000), with a bucket the bench creates. A MinIO that was not running
// before is stopped at the end, as hack/test.sh does, so a benchmark leaves no
// daemon behind; one that was running (a developer's, the test suite's) is
// reused and left up. What each run wrote is counted, then deleted: a full
// run stores some hundred thousand records per round, and nobody reads them.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { DeleteObjectsCommand, S3Client } from '@aws-sdk/client-s3';
import { listObjects, readObject } from '../../src/storage/index.js';
import { createBucket, s3Options, startMinio, type MinioEndpoint } from '../../test/support/minio.js';

const SCRIPT = join(import.meta.dirname, '..', '..', 'hack', 'minio.sh');
export const LOG_BUCKET = 'fluxora-bench-prediction-log';

export interface LogStore {
  minio: MinioEndpoint;
  /** What `fluxora serve` needs to write there: the AWS SDK variables. */
  serverEnv: NodeJS.ProcessEnv;
  /** Stops MinIO if this bench started it. */
  stop(): void;
}

const port = () => process.env.FLUXORA_MINIO_PORT || '19000';

async function listening(endpoint: string): Promise<boolean> {
  try {
    return (await fetch(`${endpoint}/minio/health/live`, { signal: AbortSignal.timeout(2000) })).ok;
  } catch {
    return false;
  }
}

/**
 * Starts (or reuses) MinIO and creates the bucket. `pinCpu`: a MinIO this
 * bench started runs on that CPU (taskset), beside the load generator, so the
 * store's own work does not land on the CPU of the server measured, as it
 * would not in a cluster where the store is elsewhere.
 */
export async function startLogStore(pinCpu?: number): Promise<LogStore> {
  const wasUp = await listening(`http://127.0.0.1:${port()}`);
  const minio = await startMinio();
  if (!wasUp && pinCpu !== undefined) {
    const pidFile = join(process.env.FLUXORA_CACHE ?? join(homedir(), '.cache', 'fluxora'), 'minio', port(), 'pid');
    execFileSync('taskset', ['-a', '-pc', String(pinCpu), readFileSync(pidFile, 'utf8').trim()], { stdio: 'ignore' });
  }
  await createBucket(minio, LOG_BUCKET);
  return {
    minio,
    serverEnv: {
      AWS_ENDPOINT_URL: minio.endpoint,
      AWS_ACCESS_KEY_ID: minio.accessKeyId,
      AWS_SECRET_ACCESS_KEY: minio.secretAccessKey,
      AWS_REGION: 'us-east-1',
    },
    stop: () => {
      if (!wasUp) execFileSync('bash', [SCRIPT, 'down'], { stdio: 'ignore', env: { ...process.env, FLUXORA_MINIO_PORT: port() } });
    },
  };
}

export interface StoredLog {
  objects: number;
  records: number;
}

/** Objects under `prefixUri` and the records (JSON lines) they hold, read back through src/storage. */
export async function countStoredRecords(store: LogStore, prefixUri: string): Promise<StoredLog> {
  const o = { s3: s3Options(store.minio) };
  const uris = await listObjects(prefixUri, o);
  let records = 0;
  for (const uri of uris) {
    const text = gunzipSync(await readObject(uri, o));
    for (let i = text.indexOf(10); i >= 0; i = text.indexOf(10, i + 1)) records++;
  }
  return { objects: uris.length, records };
}

/** Deletes every object under `prefixUri` (s3://bucket/prefix/). */
export async function deleteStoredLog(store: LogStore, prefixUri: string): Promise<void> {
  const o = { s3: s3Options(store.minio) };
  const uris = await listObjects(prefixUri, o);
  const bucketPrefix = `s3://${LOG_BUCKET}/`;
  const s3 = new S3Client({
    endpoint: store.minio.endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId: store.minio.accessKeyId, secretAccessKey: store.minio.secretAccessKey },
  });
  try {
    for (let i = 0; i < uris.length; i += 1000) {
      const keys = uris.slice(i, i + 1000).map((u) => ({ Key: u.slice(bucketPrefix.length) }));
      await s3.send(new DeleteObjectsCommand({ Bucket: LOG_BUCKET, Delete: { Objects: keys, Quiet: true } }));
    }
  } finally {
    s3.destroy();
  }
}
