// A real Open Inference Protocol gRPC client written by others: Triton's
// Python `tritonclient[grpc]`, unmodified, talks to the gRPC port of running
// `fluxora serve` processes (the CLI as child processes): health, metadata,
// raw and typed tensors (FP32 on the linear fixture, INT64 and BYTES on an
// identity model), and errors with their gRPC status and REST's messages.
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OnnxDataType } from '../../src/serving/onnx-proto.js';
import { FIXTURE_DIR, LINEAR } from '../fixtures/models/generate.js';
import { ensureServeVenv } from '../fixtures/models/python-venv.js';
import { fixtureUri, spawnServe, type ServeProcess } from '../fixtures/models/serve-harness.js';
import { identityModel } from '../fixtures/models/test-models.js';

const run = promisify(execFile);
let python: string;
let linear: ServeProcess;
let types: ServeProcess;
let dir: string;

const common = ['--host', '127.0.0.1', '--port', '0', '--admin-port', '0', '--grpc-port', '0'];

beforeAll(async () => {
  python = await ensureServeVenv((l) => process.stderr.write(`${l}\n`));
  dir = await mkdtemp(join(tmpdir(), 'fluxora-grpc-types-'));
  const typesModel = identityModel([
    { name: 'i64', elemType: OnnxDataType.INT64 },
    { name: 's', elemType: OnnxDataType.STRING },
  ]);
  await writeFile(join(dir, 'types.onnx'), typesModel);
  [linear, types] = await Promise.all([
    spawnServe(['--model-name', 'churn', '--model-version', 'v2', '--model-uri', fixtureUri('linear.onnx'), ...common]),
    spawnServe(['--model-name', 'types', '--model-uri', pathToFileURL(join(dir, 'types.onnx')).href, ...common]),
  ]);
}, 20 * 60_000);

afterAll(async () => {
  for (const p of [linear, types]) p?.child.kill('SIGTERM');
  await Promise.all([linear?.exited, types?.exited]);
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('tritonclient[grpc] against fluxora serve', () => {
  it('checks health, reads metadata, infers with raw and typed tensors and gets the errors', { timeout: 60_000 }, async () => {
    const { stdout } = await run(python, [
      join(FIXTURE_DIR, 'tritonclient_grpc_check.py'),
      `127.0.0.1:${linear.grpcPort}`,
      'churn',
      'v2',
      JSON.stringify(LINEAR.weights),
      JSON.stringify(LINEAR.bias),
      `127.0.0.1:${types.grpcPort}`,
      'types',
    ]);
    const seen = JSON.parse(stdout) as Record<string, unknown>;
    expect(seen.server).toMatchObject({ name: 'fluxora', extensions: ['binary_tensor_data'] });
    expect(seen.metadata).toEqual({
      name: 'churn',
      versions: ['v2'],
      platform: 'onnxruntime_onnx',
      inputs: [{ name: 'x', datatype: 'FP32', shape: [-1, 3] }],
      outputs: [{ name: 'y', datatype: 'FP32', shape: [-1, 1] }],
    });
    const raw = seen.raw as number[][];
    expect(raw.map((r) => r[0])).toEqual((seen.typed as number[][]).map((r) => r[0]));
    expect(raw[0]?.[0]).toBeCloseTo(4.1, 5);
    expect(seen.bad_raw).toEqual({ status: 'StatusCode.INVALID_ARGUMENT', message: 'input "x": shape [2,3] needs 6 elements (24 bytes of FP32), got 20 bytes' });
    expect(seen.bad_typed).toEqual({ status: 'StatusCode.INVALID_ARGUMENT', message: 'input "x": shape [2,3] needs 6 elements, got 5' });
    expect(seen.unknown_model).toEqual({ status: 'StatusCode.NOT_FOUND', message: 'unknown model "no-such-model"; this server serves "churn"' });
    expect(seen.unknown_version).toEqual({ status: 'StatusCode.NOT_FOUND', message: 'model "churn" has no version "v999"; this server serves version "v2"' });
    expect(seen.int64).toEqual(['9007199254740993', '-9223372036854775808', '5']);
    expect(seen.int64_typed).toEqual(seen.int64);
    expect(seen.bytes).toEqual(['ünï', '', 'plain']);
  });
});
