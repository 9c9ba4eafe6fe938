// A real Open Inference Protocol client written by others: Triton's Python
// `tritonclient[http]` talks to a running `fluxora serve` (the CLI as a child
// process) with binary and JSON tensors. The venv is created by the test
// itself on first run (cached under ~/.cache/fluxora), so a fresh CI machine
// needs nothing but python3 and PyPI.
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FIXTURE_DIR, LINEAR } from '../fixtures/models/generate.js';
import { ensureServeVenv } from '../fixtures/models/python-venv.js';
import { fixtureUri, spawnServe, type ServeProcess } from '../fixtures/models/serve-harness.js';

const run = promisify(execFile);
let python: string;
let proc: ServeProcess;

beforeAll(async () => {
  python = await ensureServeVenv((l) => process.stderr.write(`${l}\n`));
  proc = await spawnServe([
    '--model-name', 'churn',
    '--model-version', 'v2',
    '--model-uri', fixtureUri('linear.onnx'),
    '--host', '127.0.0.1',
    '--port', '0',
    '--admin-port', '0',
  ]);
}, 20 * 60_000);

afterAll(async () => {
  proc?.child.kill('SIGTERM');
  await proc?.exited;
});

describe('tritonclient[http] against fluxora serve', () => {
  it('reads metadata and infers with binary and JSON tensors', { timeout: 60_000 }, async () => {
    const { stdout } = await run(python, [
      join(FIXTURE_DIR, 'tritonclient_check.py'),
      `127.0.0.1:${proc.port}`,
      'churn',
      'v2',
      JSON.stringify(LINEAR.weights),
      JSON.stringify(LINEAR.bias),
    ]);
    const seen = JSON.parse(stdout) as Record<string, unknown>;
    expect(seen.server).toMatchObject({ name: 'fluxora', extensions: ['binary_tensor_data'] });
    expect(seen.metadata).toMatchObject({ name: 'churn', versions: ['v2'] });
    const y = seen.binary as number[][];
    expect(y.map((r) => r[0])).toEqual((seen.json as number[][]).map((r) => r[0]));
    expect(y[0]?.[0]).toBeCloseTo(4.1, 5);
    expect(seen.error).toMatch(/needs 6 elements, got 5/);
    expect(seen.unknown_model).toMatch(/unknown model "no-such-model"/);
  });
});
