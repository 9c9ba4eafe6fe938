// The bad-data-file corpus (test/corpus/data/cases.yaml): each file is
// refused with a message naming the file (and the line and column when there
// is one), by the table reader in process, by the real `fluxora drift
// compute` process (exit 1, one line on stderr, no stack trace, nothing on
// stdout) and by the real `fluxora train` (exit 3, bad input, which its Job
// does not retry; one line on stderr; nothing written to its output prefix).
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { TableError } from '../../src/table/errors.js';
import { readTable } from '../../src/table/table.js';
import type { FeatureType } from '../../src/drift/types.js';
import { generateBadDataFiles, GENERATED } from '../corpus/data/generate.js';

interface DataCase {
  file: string;
  reference?: string;
  expect: string;
  train?: string;
  line?: number;
  column?: string;
  stage?: 'read' | 'compute';
}

const root = join(import.meta.dirname, '..', '..');
const CORPUS = join(root, 'test', 'corpus', 'data');
const cases = (parse(readFileSync(join(CORPUS, 'cases.yaml'), 'utf8')) as { cases: DataCase[] }).cases;

// The columns and types `fluxora drift compute` infers from either reference file.
const COLUMNS = ['tenure', 'spend', 'plan'];
const TYPES = new Map<string, FeatureType>([
  ['tenure', 'numeric'],
  ['spend', 'numeric'],
  ['plan', 'categorical'],
]);

let generatedDir: string;
let generated: Map<string, string>;
const pathOf = (file: string) => generated.get(file) ?? join(CORPUS, file);

beforeAll(async () => {
  generatedDir = await mkdtemp(join(tmpdir(), 'fluxora-corpus-data-'));
  generated = await generateBadDataFiles(generatedDir);
}, 60_000);
afterAll(async () => {
  if (generatedDir) await rm(generatedDir, { recursive: true, force: true });
});

const run = promisify(execFile);

// The CLI cases run concurrently, but never more than two processes at once (2-core machines).
let running = 0;
const waiting: (() => void)[] = [];
async function limited<T>(fn: () => Promise<T>): Promise<T> {
  while (running >= 2) await new Promise<void>((r) => waiting.push(r));
  running++;
  try {
    return await fn();
  } finally {
    running--;
    waiting.shift()?.();
  }
}

/** `fluxora <args>` as a user runs it; never rejects, so the exit code can be asserted. */
async function fluxora(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, ['--import', 'tsx', join(root, 'src/cli/main.ts'), ...args], {
      cwd: root,
      maxBuffer: 16 << 20,
    });
    return { code: 0, stdout, stderr };
  } catch (e) {
    const err = e as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof err.code === 'number' ? err.code : -1, stdout: err.stdout ?? '', stderr: err.stderr ?? '' };
  }
}

describe('bad data files', () => {
  it('the corpus lists every file exactly once', async () => {
    const committed = (await readdir(CORPUS)).filter((f) => /^\d\d-/.test(f));
    const listed = cases.map((c) => c.file);
    expect(new Set(listed).size).toBe(listed.length);
    expect([...listed].sort()).toEqual([...committed, ...Object.keys(GENERATED)].sort());
  });

  describe.each(cases.map((c) => [c.file, c] as const))('%s', (_file, c) => {
    const stage = c.stage ?? 'read';

    // A file that reads as a table (stage compute) is refused by drift compute alone; the others by the reader.
    const inProcess = stage === 'read' ? 'readTable refuses it, naming the file, line and column' : 'readTable reads it: the refusal is drift compute\'s';
    it(inProcess, async () => {
      const path = pathOf(c.file);
      const read = readTable(path, { columns: COLUMNS, types: TYPES });
      if (stage === 'compute') {
        await expect(read).resolves.toMatchObject({ rows: 0 });
        return;
      }
      const err: unknown = await read.then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err, 'readTable accepted the file').toBeInstanceOf(TableError);
      const t = err as TableError;
      expect(t.message).toBe(`${path}${c.expect}`);
      expect(t.file).toBe(path);
      expect(t.line).toBe(c.line);
      expect(t.column).toBe(c.column);
    });
  });

  // Concurrent (two processes at a time) so the catalogue does not take a minute.
  describe('fluxora drift compute', () => {
    it.concurrent.each(cases.map((c) => [c.file, c] as const))('%s: exit 1, one clear line, no report', { timeout: 120_000 }, async (_file, c) => {
      const reference = join(CORPUS, c.reference ?? 'reference.csv');
      const path = pathOf(c.file);
      const res = await limited(() => fluxora(['drift', 'compute', '--reference', reference, '--current', path]));
      expect(res).toEqual({ code: 1, stdout: '', stderr: `fluxora drift compute: ${path}${c.expect}\n` });
    });
  });

  // The trainer reads the same files through the storage module; a failed run must leave the output prefix untouched.
  describe('fluxora train', () => {
    it.concurrent.each(cases.map((c) => [c.file, c] as const))('%s: exit 3, one clear line, nothing written', { timeout: 120_000 }, async (_file, c) => {
      const uri = pathToFileURL(pathOf(c.file)).href;
      const output = join(generatedDir, 'train-output', c.file);
      const res = await limited(() =>
        fluxora([
          'train',
          `--dataset=${uri}`,
          `--output=${pathToFileURL(output).href}/`,
          '--config={"algorithm":"linear","target":"spend"}',
          '--features=[{"name":"tenure","type":"numeric"}]',
          '--model-name=churn',
        ]),
      );
      expect({ code: res.code, stderr: res.stderr }).toEqual({ code: 3, stderr: `fluxora train: ${uri}${c.train ?? c.expect}\n` });
      expect(existsSync(output), 'the output prefix was written to').toBe(false);
    });
  });

  it('the reference files themselves are good: a report, exit 0', { timeout: 60_000 }, async () => {
    const res = await fluxora(['drift', 'compute', '--reference', join(CORPUS, 'reference.csv'), '--current', join(CORPUS, 'reference.jsonl')]);
    expect(res.code).toBe(0);
    expect(JSON.parse(res.stdout)).toMatchObject({ features: [{ name: 'tenure' }, { name: 'spend' }, { name: 'plan' }] });
  });
});
