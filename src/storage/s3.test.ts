// s3:// configuration and failure paths that need no S3 server (the rest runs against a real MinIO
// in test/integration/storage-s3.test.ts).
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readObject, resolveS3Config, writeObject } from './index.js';
import { expectFailure } from '../../test/support/storage-errors.js';

/** Asserts that a call fails with a StorageError of `code` whose message contains `text`. */
describe('resolveS3Config', () => {
  it('defaults to AWS itself in us-east-1 with the SDK credential chain', () => {
    expect(resolveS3Config({}, {})).toEqual({ endpoint: undefined, region: 'us-east-1', forcePathStyle: false, credentials: undefined });
  });

  it('reads the AWS SDK variables a credentials Secret provides, preferring the S3-specific endpoint', () => {
    const env = {
      AWS_ENDPOINT_URL: 'http://generic:9000',
      AWS_ENDPOINT_URL_S3: 'http://minio:9000',
      AWS_DEFAULT_REGION: 'eu-west-1',
      AWS_ACCESS_KEY_ID: 'AK',
      AWS_SECRET_ACCESS_KEY: 'SK',
      AWS_SESSION_TOKEN: 'TOK',
    };
    expect(resolveS3Config({}, env)).toEqual({
      endpoint: 'http://minio:9000',
      region: 'eu-west-1',
      forcePathStyle: true, // a custom endpoint: S3-compatible stores want path style
      credentials: { accessKeyId: 'AK', secretAccessKey: 'SK', sessionToken: 'TOK' },
    });
    expect(resolveS3Config({}, { AWS_ENDPOINT_URL: 'http://generic:9000', AWS_REGION: 'ap-south-1', AWS_DEFAULT_REGION: 'x' })).toMatchObject({
      endpoint: 'http://generic:9000',
      region: 'ap-south-1',
    });
  });

  it('lets options override the environment, credentials only as a pair', () => {
    const env = { AWS_ENDPOINT_URL: 'http://env:9000', AWS_ACCESS_KEY_ID: 'ENV', AWS_SECRET_ACCESS_KEY: 'ENVSECRET', AWS_SESSION_TOKEN: 'ENVTOK' };
    expect(resolveS3Config({ endpoint: 'http://opt:9000', region: 'r', accessKeyId: 'A', secretAccessKey: 'S', forcePathStyle: false }, env)).toEqual({
      endpoint: 'http://opt:9000',
      region: 'r',
      forcePathStyle: false,
      credentials: { accessKeyId: 'A', secretAccessKey: 'S' }, // no session token borrowed from the environment
    });
    // Half a pair in options never mixes with the other half from the environment.
    expect(resolveS3Config({ accessKeyId: 'A' }, env).credentials).toBeUndefined();
  });

  it('takes path style from AWS_S3_FORCE_PATH_STYLE when the options do not say', () => {
    expect(resolveS3Config({}, { AWS_S3_FORCE_PATH_STYLE: 'true' }).forcePathStyle).toBe(true);
    expect(resolveS3Config({}, { AWS_ENDPOINT_URL: 'http://x', AWS_S3_FORCE_PATH_STYLE: 'false' }).forcePathStyle).toBe(false);
    expect(resolveS3Config({ forcePathStyle: true }, { AWS_S3_FORCE_PATH_STYLE: 'false' }).forcePathStyle).toBe(true);
  });
});

describe('s3:// failures without a store', () => {
  let server: Server;
  let endpoint: string;
  let requests = 0;
  beforeAll(async () => {
    // Accepts connections and never answers: a hung store.
    server = createServer(() => void requests++);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });

  it('times out against a store that never answers', async () => {
    const s3 = { endpoint, accessKeyId: 'a', secretAccessKey: 'b' };
    await expectFailure(readObject('s3://bucket/key', { s3, timeoutMs: 300 }), 'Unreachable', 'within 300 ms');
    expect(requests).toBeGreaterThan(0);
  });

  it("throws the caller's abort reason as is", async () => {
    const ctl = new AbortController();
    const reason = new Error('shutting down');
    setTimeout(() => ctl.abort(reason), 100);
    await expect(writeObject('s3://bucket/key', 'x', { s3: { endpoint, accessKeyId: 'a', secretAccessKey: 'b' }, signal: ctl.signal })).rejects.toBe(reason);
  });

  it('asks for credentials when there are none, before sending anything', async () => {
    const saved = { ...process.env };
    for (const k of Object.keys(process.env)) if (k.startsWith('AWS_')) delete process.env[k];
    // Keep the SDK's default chain local: no instance metadata, no profile files.
    Object.assign(process.env, { AWS_EC2_METADATA_DISABLED: 'true', AWS_CONFIG_FILE: '/nonexistent', AWS_SHARED_CREDENTIALS_FILE: '/nonexistent' });
    const before = requests;
    try {
      await expectFailure(readObject('s3://bucket/no-credentials', { s3: { endpoint } }), 'AccessDenied', 'no S3 credentials found; set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY');
      expect(requests).toBe(before);
    } finally {
      process.env = saved;
    }
  });
});
