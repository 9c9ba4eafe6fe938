// `fluxora drift compute` as a process: what a CI job sees (stdout JSON, stderr
// messages, exit codes).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FeatureCheckSchema, DRIFT_METHODS } from '../api/drift-monitor.js';
import { parseDriftComputeOptions } from '../cli/drift-compute.js';
import { UsageError } from '../cli/usage.js';
import type { DriftReport } from './types.js';

const ROOT = new URL('../../', import.meta.url).pathname;
let dir = '';

function run(...args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync('npx', ['tsx', 'src/cli/main.ts', 'drift', 'compute', ...args], {
    cwd: ROOT,
    encoding: 'utf8',
    timeout: 60_000,
  });
  // npm may warn about its own configuration; that is not the command's output.
  const stderr = r.stderr
    .split('\n')
    .filter((l) => !l.startsWith('npm warn'))
    .join('\n')
    .trim();
  return { code: r.status, stdout: r.stdout, stderr };
}

const file = (name: string): string => join(dir, name);

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'fluxora-drift-cli-'));
  const ref = ['age,plan,note'];
  const cur = [];
  for (let i = 0; i < 200; i++) {
    ref.push(`${20 + (i % 40)},${i % 3 === 0 ? 'pro' : 'basic'},"said ""hi"", then left"`);
    cur.push(JSON.stringify({ age: 35 + (i % 40), plan: i % 2 === 0 ? 'pro' : 'basic', note: 'x' }));
  }
  writeFileSync(file('ref.csv'), ref.join('\r\n') + '\r\n');
  writeFileSync(file('cur.jsonl'), cur.join('\n') + '\n');
  writeFileSync(file('bad-number.csv'), 'age,plan,note\n30,pro,a\n"thirty",basic,b\n');
  writeFileSync(file('no-plan.csv'), 'age,note\n30,a\n');
  writeFileSync(file('empty-age.csv'), 'age,plan,note\n,pro,a\nNA,basic,b\n');
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('fluxora drift compute', { timeout: 60_000 }, () => {
  it('prints one JSON report for a CSV reference and a JSON Lines current, exit 0', () => {
    const r = run('--reference', file('ref.csv'), '--current', `file://${file('cur.jsonl')}`, '--features', 'age,plan');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout) as DriftReport;
    expect(report.features.map((f) => [f.name, f.type, f.method])).toEqual([
      ['age', 'numeric', 'ks'],
      ['plan', 'categorical', 'zscore'],
    ]);
    const age = report.features[0]!;
    expect(age.drifted).toBe(true);
    expect(age.pValue).toBeLessThan(0.05);
    expect(age.referenceCount).toBe(200);
    expect(report.driftedCount).toBe(2);
    expect(report.datasetDrift).toBe(true);
  });

  it('applies --method, --threshold, --types and --dataset-drift-share to every feature', () => {
    const r = run(
      ...['--reference', file('ref.csv'), '--current', file('cur.jsonl'), '--features', 'age,plan'],
      ...['--method', 'psi', '--threshold', '1', '--types', 'age=categorical', '--dataset-drift-share', '0.3'],
    );
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout) as DriftReport;
    expect(report.features.map((f) => [f.type, f.method, f.threshold, f.drifted])).toEqual([
      ['categorical', 'psi', 1, true],
      ['categorical', 'psi', 1, false],
    ]);
    expect(report.datasetDriftShare).toBe(0.3);
    expect(report.datasetDrift).toBe(true);
  });

  it('exit 1 with the file, line and column for a non-numeric value in a numeric feature', () => {
    const r = run('--reference', file('ref.csv'), '--current', file('bad-number.csv'), '--features', 'age');
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain(`${file('bad-number.csv')}:3: column "age": "thirty" is not a number`);
  });

  it('exit 1 on a missing column, an unreadable file and an empty sample', () => {
    const missing = run('--reference', file('ref.csv'), '--current', file('no-plan.csv'));
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('missing column "plan"');
    const unreadable = run('--reference', file('nope.csv'), '--current', file('cur.jsonl'));
    expect(unreadable.code).toBe(1);
    expect(unreadable.stderr).toContain('nope.csv: cannot read (no such file)');
    const empty = run('--reference', file('ref.csv'), '--current', file('empty-age.csv'), '--features', 'age');
    expect(empty.code).toBe(1);
    expect(empty.stderr).toContain('feature "age": the current data has no values');
  });

  it('exit 2 on usage errors', () => {
    const noRef = run('--current', file('cur.jsonl'));
    expect(noRef.code).toBe(2);
    expect(noRef.stderr).toContain('--reference is required');
    const badMethod = run('--reference', file('ref.csv'), '--current', file('cur.jsonl'), '--method', 'median');
    expect(badMethod.code).toBe(2);
    expect(badMethod.stderr).toContain('--method: "median" is not one of');
    const unknownFlag = run('--reference', file('ref.csv'), '--current', file('cur.jsonl'), '--bins', '7');
    expect(unknownFlag.code).toBe(2);
  });
});

describe('fluxora drift compute thresholds follow the DriftMonitor CRD', () => {
  const refused = (method: string, threshold: number) =>
    !FeatureCheckSchema.safeParse({ name: 'f', method, threshold }).success;
  const accepted = (argv: string[]) => {
    try {
      parseDriftComputeOptions(argv);
      return true;
    } catch (e) {
      if (e instanceof UsageError) return false;
      throw e;
    }
  };

  it.each(['auto', ...DRIFT_METHODS])('--method %s: the same thresholds as spec.features[].threshold', (method) => {
    for (const threshold of [0, 0.05, 0.5, 1, 1.01, 5, 1000, 1000.5]) {
      const argv = ['--reference', 'r.csv', '--current', 'c.csv', '--method', method, '--threshold', String(threshold)];
      expect(accepted(argv), `--method ${method} --threshold ${threshold}`).toBe(!refused(method, threshold));
    }
  });

  it('exit 2 with the CRD\'s message for a p-value threshold above 1', () => {
    const r = run('--reference', file('ref.csv'), '--current', file('cur.jsonl'), '--features', 'age', '--method', 'ks', '--threshold', '5');
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr.split('\n')[0]).toBe(
      'fluxora drift compute: --threshold 5: threshold must be between 0 and 1 for methods ks and chisquare (a p-value) and jensenshannon (a distance bounded by 1)',
    );
  });

  it('--dataset-drift-share: the range of spec.datasetDriftShare', () => {
    const argv = (share: string) => ['--reference', 'r.csv', '--current', 'c.csv', '--dataset-drift-share', share];
    expect(accepted(argv('0'))).toBe(true);
    expect(accepted(argv('1'))).toBe(true);
    expect(accepted(argv('1.5'))).toBe(false);
  });
});
