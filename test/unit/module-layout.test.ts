// Module boundaries inside src/. Table reading (CSV, JSON Lines, their text
// decoding and errors) lives in src/table/ and depends on no feature module:
// the drift engine, the trainer and the prediction log all read data files
// through it, and none of them reaches into another's internals for it.
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

const SRC = join(import.meta.dirname, '..', '..', 'src');

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sources(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
  );
}

/** Top-level src/ modules a file imports from (relative imports only), e.g. "drift". */
function importedModules(file: string): Set<string> {
  const out = new Set<string>();
  for (const m of readFileSync(file, 'utf8').matchAll(/^\s*(?:import|export)\b[^'";]*?from\s+'(\.[^']+)'/gm)) {
    const target = relative(SRC, join(file, '..', m[1]!));
    out.add(target.split('/')[0]!);
  }
  return out;
}

const moduleOf = (file: string) => relative(SRC, file).split('/')[0]!;

describe('module layout', () => {
  const files = sources(SRC);

  it('src/table depends on no other module of src/', () => {
    const table = files.filter((f) => moduleOf(f) === 'table');
    expect(table.length).toBeGreaterThan(0);
    const outside = table.flatMap((f) => [...importedModules(f)].filter((m) => m !== 'table').map((m) => `${relative(SRC, f)} -> ${m}`));
    expect(outside).toEqual([]);
  });

  it('the trainer reads tables through src/table, not through the drift engine', () => {
    const training = files.filter((f) => moduleOf(f) === 'training');
    const viaDrift = training.filter((f) => importedModules(f).has('drift')).map((f) => relative(SRC, f));
    expect(viaDrift).toEqual([]);
  });

  it('the table reader\'s files live in src/table, not in src/drift', () => {
    // The files that moved to src/table must not come back under src/drift.
    const drift = files.filter((f) => moduleOf(f) === 'drift').map((f) => relative(SRC, f));
    expect(drift.filter((f) => /\/(csv|table|table-text)(\.test)?\.ts$/.test(f))).toEqual([]);
  });
});
