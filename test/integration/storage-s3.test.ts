// The storage module against a real S3 server (MinIO), not a mock.
import { randomBytes } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { listObjects, objectExists, readObject, sha256Hex, StorageError, writeObject, type S3Options } from '../../src/storage/index.js';
import { createBucket, minio } from '../support/minio.js';

const code = async (p: Promise<unknown>) => {
  try {
    await p;
    return 'ok';
  } catch (e) {
    if (e instanceof StorageError) return e.code;
    throw e;
  }
};

describe('s3:// storage on MinIO', () => {
  let s3: S3Options;
  const bucket = `fluxora-${randomBytes(4).toString('hex')}`;

  beforeAll(async () => {
    const m = minio();
    s3 = { endpoint: m.endpoint, accessKeyId: m.accessKeyId, secretAccessKey: m.secretAccessKey };
    await createBucket(m, bucket);
  }, 900_000);

  it('writes, reads, lists and checks existence', async () => {
    const data = randomBytes(64 * 1024);
    await writeObject(`s3://${bucket}/churn/v1/model.onnx`, data, { s3 });
    await writeObject(`s3://${bucket}/churn/v1/metrics.json`, '{"auc":0.8}', { s3 });
    expect(Buffer.compare(await readObject(`s3://${bucket}/churn/v1/model.onnx`, { s3 }), data)).toBe(0);
    expect(await listObjects(`s3://${bucket}/churn/`, { s3 })).toEqual([`s3://${bucket}/churn/v1/metrics.json`, `s3://${bucket}/churn/v1/model.onnx`]);
    expect(await objectExists(`s3://${bucket}/churn/v1/model.onnx`, { s3 })).toBe(true);
    expect(await objectExists(`s3://${bucket}/churn/v9/model.onnx`, { s3 })).toBe(false);
    expect((await readObject(`s3://${bucket}/churn/v1/model.onnx`, { s3, sha256: sha256Hex(data) })).length).toBe(data.length);
  });

  it('reports checksum mismatch, missing keys and buckets, bad credentials and an unreachable endpoint', async () => {
    await writeObject(`s3://${bucket}/x.csv`, 'a,b\n1,2\n', { s3 });
    expect(await code(readObject(`s3://${bucket}/x.csv`, { s3, sha256: 'a'.repeat(64) }))).toBe('ChecksumMismatch');
    expect(await code(readObject(`s3://${bucket}/missing.csv`, { s3 }))).toBe('NotFound');
    expect(await code(readObject('s3://no-such-bucket-fluxora/x.csv', { s3 }))).toBe('NotFound');
    expect(await code(readObject(`s3://${bucket}/x.csv`, { s3: { ...s3, secretAccessKey: 'wrong-secret' } }))).toBe('AccessDenied');
    expect(await code(readObject(`s3://${bucket}/x.csv`, { s3: { ...s3, endpoint: 'http://127.0.0.1:9' } }))).toBe('Unreachable');
  });

  it('takes credentials from the AWS SDK environment, as pods get them from a Secret', async () => {
    const saved = { ...process.env };
    Object.assign(process.env, { AWS_ENDPOINT_URL: s3.endpoint, AWS_ACCESS_KEY_ID: s3.accessKeyId, AWS_SECRET_ACCESS_KEY: s3.secretAccessKey });
    try {
      await writeObject(`s3://${bucket}/env.txt`, 'from-env');
      expect((await readObject(`s3://${bucket}/env.txt`)).toString()).toBe('from-env');
    } finally {
      process.env = saved;
    }
  });
});
