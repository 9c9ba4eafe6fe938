import { describe, expect, it } from 'vitest';
import { parseServeConfig, type ServeConfig } from './config.js';

const env = { FLUXORA_MODEL_NAME: 'churn', FLUXORA_MODEL_URI: 'file:///m.onnx' };

describe('parseServeConfig', () => {
  it('reads the FLUXORA_* variables the operator sets, with defaults', () => {
    const c = parseServeConfig([], {
      ...env,
      FLUXORA_MODEL_VERSION: 'v3',
      FLUXORA_MODEL_SHA256: 'a'.repeat(64),
      FLUXORA_FEATURES: '[{"name":"tenure","type":"numeric"},{"name":"plan","type":"categorical"}]',
      FLUXORA_PORT: '8080',
      FLUXORA_ADMIN_PORT: '8081',
      FLUXORA_GRPC_PORT: '9085',
      FLUXORA_MAX_BATCH_SIZE: '16',
      FLUXORA_MAX_BATCH_DELAY_MS: '0',
      FLUXORA_SAMPLING_RATE: '0.5',
      FLUXORA_SAMPLE_BUFFER_SIZE: '500',
      FLUXORA_SAMPLES_TOKEN: 's3cret',
    }) as ServeConfig;
    expect(c).toMatchObject({
      modelName: 'churn',
      modelVersion: 'v3',
      modelSha256: 'a'.repeat(64),
      features: [
        { name: 'tenure', type: 'numeric' },
        { name: 'plan', type: 'categorical' },
      ],
      port: 8080,
      adminPort: 8081,
      grpcPort: 9085,
      maxBatchSize: 16,
      maxBatchDelayMs: 0,
      samplingRate: 0.5,
      sampleBufferSize: 500,
      samplesToken: 's3cret',
      maxBodyBytes: 16 * 1024 * 1024,
      intraOpThreads: 1,
      allowNonFinite: false,
    });
  });

  it('serves gRPC on 8085 unless told otherwise', () => {
    expect((parseServeConfig([], env) as ServeConfig).grpcPort).toBe(8085);
    expect((parseServeConfig(['--grpc-port', '0'], { ...env, FLUXORA_GRPC_PORT: '9000' }) as ServeConfig).grpcPort).toBe(0);
    expect(() => parseServeConfig(['--grpc-port', 'x'], env)).toThrow(/--grpc-port must be an integer from 0 to 65535/);
  });

  it('picks the worker count from the CPU limit unless told a number', () => {
    expect((parseServeConfig([], env) as ServeConfig).workers).toBe(0);
    expect((parseServeConfig([], { ...env, FLUXORA_WORKERS: '4' }) as ServeConfig).workers).toBe(4);
    expect((parseServeConfig(['--workers', '1'], { ...env, FLUXORA_WORKERS: '4' }) as ServeConfig).workers).toBe(1);
    expect(() => parseServeConfig(['--workers=-1'], env)).toThrow(/--workers must be an integer from 0 to 256/);
    expect(() => parseServeConfig(['--workers', '300'], env)).toThrow(/--workers must be an integer from 0 to 256/);
  });

  it('lets flags override the environment', () => {
    const c = parseServeConfig(['--port', '9000', '--model-name', 'other', '--allow-nan', 'true', '--max-body-bytes', '2048'], env) as ServeConfig;
    expect([c.port, c.modelName, c.allowNonFinite, c.maxBodyBytes, c.samplesToken]).toEqual([9000, 'other', true, 2048, undefined]);
  });

  it('refuses bad settings with a message', () => {
    expect(() => parseServeConfig([], {})).toThrow('--model-name (or $FLUXORA_MODEL_NAME) is required');
    expect(() => parseServeConfig(['--port', '70000'], env)).toThrow(/--port must be an integer from 0 to 65535/);
    expect(() => parseServeConfig(['--sampling-rate', '2'], env)).toThrow(/--sampling-rate/);
    expect(() => parseServeConfig(['--features', '{'], env)).toThrow(/--features must be JSON/);
    expect(() => parseServeConfig(['--features', '[{"name":"a","type":"text"}]'], env)).toThrow(/numeric or categorical/);
    expect(() => parseServeConfig(['--model-sha256', 'xyz'], env)).toThrow(/64 hexadecimal/);
    expect(() => parseServeConfig(['--bogus'], env)).toThrow(/bogus/);
    expect(parseServeConfig(['--help'], env)).toBe('help');
  });
});
