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

  it('has no prediction log unless a URI is given, and reads its settings with defaults', () => {
    const off = parseServeConfig([], env) as ServeConfig;
    expect(off.predictionLog).toBeUndefined();
    expect(off.podName.length).toBeGreaterThan(0);
    const on = parseServeConfig([], { ...env, FLUXORA_PREDICTION_LOG_URI: 's3://logs/predictions', FLUXORA_POD_NAME: 'churn-7d9f-abcde' }) as ServeConfig;
    expect(on.predictionLog).toEqual({ uri: 's3://logs/predictions', sampleRate: 1, flushIntervalSeconds: 10, maxBatchRecords: 1000, maxBufferedRecords: 10000 });
    expect(on.podName).toBe('churn-7d9f-abcde');
    const set = parseServeConfig(
      [
        '--prediction-log-uri=file:///tmp/log',
        '--prediction-log-sample-rate=0.25',
        '--prediction-log-flush-interval-seconds=2',
        '--prediction-log-max-batch-records=50',
        '--prediction-log-max-buffered-records=50',
      ],
      env,
    ) as ServeConfig;
    expect(set.predictionLog).toEqual({ uri: 'file:///tmp/log', sampleRate: 0.25, flushIntervalSeconds: 2, maxBatchRecords: 50, maxBufferedRecords: 50 });
  });

  it('refuses bad prediction log settings with a message naming the flag', () => {
    const log = ['--prediction-log-uri', 's3://logs/p'];
    expect(() => parseServeConfig(['--prediction-log-uri', 'https://host/p'], env)).toThrow(/--prediction-log-uri must be writable/);
    expect(() => parseServeConfig(['--prediction-log-uri', 's3://B/p'], env)).toThrow(/--prediction-log-uri: invalid storage URI/);
    expect(() => parseServeConfig([...log, '--prediction-log-sample-rate', '0'], env)).toThrow(/--prediction-log-sample-rate must be a number greater than 0/);
    expect(() => parseServeConfig([...log, '--prediction-log-sample-rate', '1.5'], env)).toThrow(/--prediction-log-sample-rate/);
    expect(() => parseServeConfig([...log, '--prediction-log-flush-interval-seconds', '0'], env)).toThrow(/--prediction-log-flush-interval-seconds must be an integer from 1/);
    expect(() => parseServeConfig([...log, '--prediction-log-max-batch-records', '100', '--prediction-log-max-buffered-records', '10'], env)).toThrow(
      /--prediction-log-max-buffered-records \(10\) must be at least --prediction-log-max-batch-records \(100\)/,
    );
    expect(() => parseServeConfig(['--pod-name', 'a/b'], env)).toThrow(/--pod-name/);
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
