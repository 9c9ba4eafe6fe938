// The storage module against a real S3 server (MinIO built by hack/minio.sh), not a mock.
import { randomBytes } from 'node:crypto';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { beforeAll, describe, expect, it } from 'vitest';
import { listObjectDetails, listObjects, listPrefixes, objectExists, readObject, sha256Hex, writeObject, type S3Options } from '../../src/storage/index.js';
import { closedPort } from '../corpus/artifacts/harness.js';
import { createBucket, MINIO_START_TIMEOUT_MS, s3Options, startMinio, type MinioEndpoint } from '../support/minio.js';
import { expectFailure, failureCode as code } from '../support/storage-errors.js';

/** Asserts that a call fails with a StorageError of `code` whose message contains `text`. */
/** An empty object whose key ends in "/", written around our API, which refuses such keys. */
async function putFolderMarker(m: MinioEndpoint, bucket: string, key: string): Promise<void> {
  const client = new S3Client({ endpoint: m.endpoint, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: m.accessKeyId, secretAccessKey: m.secretAccessKey } });
  try {
    await client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: '' }));
  } finally {
    client.destroy();
  }
}

describe('s3:// storage on MinIO', () => {
  let m: MinioEndpoint;
  let s3: S3Options;
  const bucket = `fluxora-${randomBytes(4).toString('hex')}`;
  const uri = (key: string) => `s3://${bucket}/${key}`;

  beforeAll(async () => {
    m = await startMinio();
    s3 = s3Options(m);
    await createBucket(bucket);
  }, MINIO_START_TIMEOUT_MS);

  it('writes, reads back, overwrites and checks existence', async () => {
    const model = randomBytes(3 << 20); // larger than one socket read: the body really streams
    await writeObject(uri('churn/v1/model.onnx'), model, { s3, contentType: 'application/octet-stream' });
    expect(Buffer.compare(await readObject(uri('churn/v1/model.onnx'), { s3 }), model)).toBe(0);
    await writeObject(uri('churn/v1/metrics.json'), '{"auc":0.8}', { s3 });
    await writeObject(uri('churn/v1/metrics.json'), '{"auc":0.9}', { s3 });
    expect((await readObject(uri('churn/v1/metrics.json'), { s3 })).toString()).toBe('{"auc":0.9}');
    expect(await objectExists(uri('churn/v1/model.onnx'), { s3 })).toBe(true);
    expect(await objectExists(uri('churn/v9/model.onnx'), { s3 })).toBe(false);
    expect(await objectExists(uri('churn/v1'), { s3 })).toBe(false); // a prefix is not an object
  });

  it('lists by key prefix across pages, skipping folder markers', async () => {
    const keys = Array.from({ length: 1005 }, (_, i) => `many/${String(i).padStart(4, '0')}.csv`); // > 1000: a second page
    for (let i = 0; i < keys.length; i += 50) await Promise.all(keys.slice(i, i + 50).map((k) => writeObject(uri(k), k, { s3 })));
    await putFolderMarker(m, bucket, 'many/sub/'); // what consoles create for an "empty folder"
    const listed = await listObjects(uri('many/'), { s3 });
    expect(listed).toEqual(keys.map(uri));
    expect(await listObjects(uri('churn/'), { s3 })).toEqual([uri('churn/v1/metrics.json'), uri('churn/v1/model.onnx')]);
    expect(await listObjects(uri('nothing/'), { s3 })).toEqual([]);
  }, 120_000);

  it('lists details (size, last modified) and the common prefixes one level down', async () => {
    const before = Date.now() - 60_000;
    await writeObject(uri('parts/model=a/version=v1/x.jsonl'), 'abc', { s3 });
    await writeObject(uri('parts/model=a/version=v2/y.jsonl'), 'de', { s3 });
    await writeObject(uri('parts/model=a/top.txt'), 'f', { s3 });
    const details = await listObjectDetails(uri('parts/model=a/'), { s3 });
    expect(details.map((d) => [d.uri, d.size])).toEqual([
      [uri('parts/model=a/top.txt'), 1],
      [uri('parts/model=a/version=v1/x.jsonl'), 3],
      [uri('parts/model=a/version=v2/y.jsonl'), 2],
    ]);
    expect(details.every((d) => d.modified.getTime() >= before)).toBe(true);
    expect(await listPrefixes(uri('parts/model=a/'), { s3 })).toEqual([uri('parts/model=a/version=v1/'), uri('parts/model=a/version=v2/')]);
    expect(await listPrefixes(uri('parts/none/'), { s3 })).toEqual([]);
  });

  it('verifies sha256 and refuses oversized objects', async () => {
    const data = 'tenure,plan\n1,basic\n';
    await writeObject(uri('ref.csv'), data, { s3 });
    expect((await readObject(uri('ref.csv'), { s3, sha256: sha256Hex(data) })).toString()).toBe(data);
    const wrong = 'a'.repeat(64);
    await expectFailure(readObject(uri('ref.csv'), { s3, sha256: wrong }), 'ChecksumMismatch', `expected ${wrong}, got ${sha256Hex(data)}`);
    expect(await code(readObject(uri('ref.csv'), { s3, maxBytes: data.length - 1 }))).toBe('TooLarge');
    expect((await readObject(uri('ref.csv'), { s3, maxBytes: data.length })).toString()).toBe(data);
  });

  it('reports missing keys and buckets as NotFound, naming them', async () => {
    await expectFailure(readObject(uri('missing.csv'), { s3 }), 'NotFound', `${uri('missing.csv')} does not exist`);
    const noBucket = `s3://fluxora-missing-${randomBytes(4).toString('hex')}/x.csv`;
    await expectFailure(readObject(noBucket, { s3 }), 'NotFound', 'bucket "fluxora-missing-');
    expect(await code(writeObject(noBucket, 'x', { s3 }))).toBe('NotFound');
    expect(await code(listObjects(noBucket, { s3 }))).toBe('NotFound');
    expect(await objectExists(noBucket, { s3 })).toBe(false);
  });

  it('reports wrong credentials as AccessDenied, pointing at the Secret', async () => {
    await writeObject(uri('secret.csv'), 'x', { s3 });
    const wrongSecret = { ...s3, secretAccessKey: 'not-the-secret' };
    await expectFailure(readObject(uri('secret.csv'), { s3: wrongSecret }), 'AccessDenied', 'check the credentials Secret');
    expect(await code(readObject(uri('secret.csv'), { s3: { ...s3, accessKeyId: 'nobody' } }))).toBe('AccessDenied');
    expect(await code(writeObject(uri('secret.csv'), 'y', { s3: wrongSecret }))).toBe('AccessDenied');
    expect(await code(objectExists(uri('secret.csv'), { s3: wrongSecret }))).toBe('AccessDenied');
    expect(await code(listObjects(uri(''), { s3: wrongSecret }))).toBe('AccessDenied');
    expect((await readObject(uri('secret.csv'), { s3 })).toString()).toBe('x'); // the failed write changed nothing
  });

  it('reports an endpoint with nothing listening as Unreachable, naming it', async () => {
    const endpoint = `http://127.0.0.1:${await closedPort()}`;
    await expectFailure(readObject(uri('ref.csv'), { s3: { ...s3, endpoint } }), 'Unreachable', `cannot reach the S3 store at ${endpoint}`);
  });

  it('takes endpoint and credentials from the AWS SDK environment, as pods get them from a Secret', async () => {
    const saved = { ...process.env };
    for (const k of Object.keys(process.env)) if (k.startsWith('AWS_')) delete process.env[k];
    Object.assign(process.env, { AWS_ENDPOINT_URL_S3: m.endpoint, AWS_ACCESS_KEY_ID: m.accessKeyId, AWS_SECRET_ACCESS_KEY: m.secretAccessKey });
    try {
      await writeObject(uri('env.txt'), 'from-env');
      expect((await readObject(uri('env.txt'))).toString()).toBe('from-env');
      expect(await listObjects(uri('env'))).toEqual([uri('env.txt')]);
    } finally {
      process.env = saved;
    }
  });
});
