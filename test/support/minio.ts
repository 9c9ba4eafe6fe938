// A real MinIO for storage tests (hack/minio.sh builds, caches and starts it on loopback).
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { root } from './cluster.js';

export interface MinioEndpoint {
  endpoint: string;
  accessKeyId: string;
  secretAccessKey: string;
}

let cached: MinioEndpoint | undefined;

export function minio(): MinioEndpoint {
  cached ??= {
    endpoint: execFileSync('bash', [join(root, 'hack/minio.sh'), 'up'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }).trim().split('\n').at(-1)!,
    accessKeyId: process.env.MINIO_ROOT_USER ?? 'fluxora-test',
    secretAccessKey: process.env.MINIO_ROOT_PASSWORD ?? 'fluxora-test-secret',
  };
  return cached;
}

export async function createBucket(m: MinioEndpoint, bucket: string): Promise<void> {
  const s3 = new S3Client({ endpoint: m.endpoint, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: m.accessKeyId, secretAccessKey: m.secretAccessKey } });
  try {
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  } catch (e) {
    if ((e as Error).name !== 'BucketAlreadyOwnedByYou') throw e;
  } finally {
    s3.destroy();
  }
}
