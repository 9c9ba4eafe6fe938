// `fluxora train` exit codes, which the trainer Job's podFailurePolicy reads
// (src/training/exit-codes.ts): 3 for input a retry would read the same way,
// 1 only when a retry may help (the store is unreachable), 2 for bad flags.
// The real CLI in a child process, as a Job runs it.
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closedPort } from '../corpus/artifacts/harness.js';
import { EXIT_BAD_INPUT, EXIT_RETRYABLE, EXIT_USAGE, PERMANENT_EXIT_CODES } from '../../src/training/exit-codes.js';
import { documentedExitStatuses } from '../support/cli-help.js';

const run = promisify(execFile);
const root = join(import.meta.dirname, '..', '..');

async function train(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout } = await run(process.execPath, ['--import', 'tsx', join(root, 'src/cli/main.ts'), 'train', ...args], { cwd: root });
    return { code: 0, stdout, stderr: '' };
  } catch (e) {
    const err = e as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof err.code === 'number' ? err.code : -1, stdout: err.stdout ?? '', stderr: err.stderr ?? '' };
  }
}

/** The trainer's JSON log lines (pino, on stdout). */
const logLines = (stdout: string) => stdout.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>);

describe('fluxora train exit codes', () => {
  let dir: string;
  const common = (dataset: string) => [
    `--dataset=${dataset}`,
    `--output=${pathToFileURL(join(dir, 'out')).href}/`,
    '--config={"algorithm":"linear","target":"spend"}',
    '--features=[{"name":"tenure","type":"numeric"}]',
    '--model-name=churn',
  ];

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'fluxora-train-exit-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('only usage and bad input are permanent', () => {
    expect(PERMANENT_EXIT_CODES).toEqual([EXIT_USAGE, EXIT_BAD_INPUT]);
    expect(PERMANENT_EXIT_CODES).not.toContain(EXIT_RETRYABLE);
  });

  it('--help documents the codes the trainer returns, as the Job reads them', async () => {
    const { stdout } = await run(process.execPath, ['--import', 'tsx', join(root, 'src/cli/main.ts'), 'train', '--help'], { cwd: root });
    const codes = documentedExitStatuses(stdout);
    expect(codes.get(EXIT_BAD_INPUT)).toMatch(/bad input.*data set/);
    expect(codes.get(EXIT_RETRYABLE)).toMatch(/retry may help.*unreachable/);
    expect(codes.get(EXIT_USAGE)).toMatch(/flags/);
    expect(codes.get(0)).toMatch(/trained/);
  });

  it('exits 3 on a data set with a missing column', async () => {
    const file = join(dir, 'no-target.csv');
    await writeFile(file, `tenure\n${Array.from({ length: 20 }, (_, i) => i).join('\n')}\n`);
    const r = await train(common(pathToFileURL(file).href));
    expect(r.code).toBe(EXIT_BAD_INPUT);
    expect(r.stderr).toContain('spend');
    // The log line carries the error as pino serializes an Error: class, message and stack.
    const failed = logLines(r.stdout).find((l) => l.msg === 'training failed');
    expect(failed, r.stdout).toMatchObject({ level: 50, retryable: false, err: { type: 'TrainingError' } });
    const err = failed!.err as { message: string; stack: string };
    expect(err.message).toContain('spend');
    expect(err.stack).toMatch(/^TrainingError: .*spend[\s\S]*\n\s+at /);
  });

  it('exits 3 when the data set does not exist', async () => {
    const r = await train(common(pathToFileURL(join(dir, 'missing.csv')).href));
    expect(r.code).toBe(EXIT_BAD_INPUT);
    expect(r.stderr).toContain('missing.csv');
  });

  it('exits 1 when the store cannot be reached, so the Job retries', async () => {
    const r = await train(common(`http://127.0.0.1:${await closedPort()}/data.csv`));
    expect(r.code).toBe(EXIT_RETRYABLE);
  });

  it('exits 2 on a bad trainer configuration', async () => {
    const r = await train([...common(pathToFileURL(join(dir, 'x.csv')).href).slice(0, 2), '--config={"algorithm":"forest"}', '--model-name=churn']);
    expect(r.code).toBe(EXIT_USAGE);
  });
});
