import { describe, expect, it } from 'vitest';
import { resolveS3Config, s3OptionsFromEnv, s3OptionsFromPrefixedEnv } from './index.js';

describe('s3OptionsFromEnv', () => {
  it("turns a credentials Secret's AWS_* keys into explicit options that win over the process environment", () => {
    const o = s3OptionsFromEnv({ AWS_ENDPOINT_URL: 'http://minio:9000', AWS_REGION: 'eu-west-1', AWS_ACCESS_KEY_ID: 'k', AWS_SECRET_ACCESS_KEY: 's' });
    expect(o).toEqual({ endpoint: 'http://minio:9000', region: 'eu-west-1', accessKeyId: 'k', secretAccessKey: 's' });
    const resolved = resolveS3Config(o, { AWS_ACCESS_KEY_ID: 'operator-key', AWS_SECRET_ACCESS_KEY: 'operator-secret', AWS_ENDPOINT_URL: 'http://elsewhere' });
    expect(resolved).toMatchObject({ endpoint: 'http://minio:9000', region: 'eu-west-1', forcePathStyle: true, credentials: { accessKeyId: 'k', secretAccessKey: 's' } });
  });

  it('prefers the S3-specific endpoint and honours an explicit path style', () => {
    expect(s3OptionsFromEnv({ AWS_ENDPOINT_URL: 'http://a', AWS_ENDPOINT_URL_S3: 'http://b', AWS_S3_FORCE_PATH_STYLE: 'false' })).toEqual({ endpoint: 'http://b', forcePathStyle: false });
  });

  it('leaves credentials to the default chain when the Secret has none (workload identity)', () => {
    expect(s3OptionsFromEnv({ AWS_REGION: 'us-west-2' })).toEqual({ region: 'us-west-2' });
  });
});

describe('s3OptionsFromPrefixedEnv', () => {
  it("reads a second store's Secret passed with an envFrom prefix, beside the pod's own AWS_* variables", () => {
    const env = { AWS_ACCESS_KEY_ID: 'own', AWS_SECRET_ACCESS_KEY: 'own-s', FLUXORA_LABELS_AWS_ACCESS_KEY_ID: 'k', FLUXORA_LABELS_AWS_SECRET_ACCESS_KEY: 's', FLUXORA_LABELS_URI: 's3://x/' };
    expect(s3OptionsFromPrefixedEnv('FLUXORA_LABELS_', env)).toEqual({ accessKeyId: 'k', secretAccessKey: 's' });
  });

  it('is undefined without such variables, so the caller keeps its own settings', () => {
    expect(s3OptionsFromPrefixedEnv('FLUXORA_LABELS_', { AWS_ACCESS_KEY_ID: 'own', FLUXORA_LABELS_URI: 's3://x/' })).toBeUndefined();
  });
});
