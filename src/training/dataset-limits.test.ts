// A data set larger than the table reader can take must be refused before it
// is read whole: a trainer pod would otherwise be OOM-killed holding up to
// 2 GiB instead of failing with a message. Each case runs loadNumericTable in
// a child process and compares its peak RSS before and after (sparse files,
// so the test writes nothing to disk).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { MAX_TABLE_BYTES } from '../table/text.js';

const dir = mkdtempSync(join(tmpdir(), 'fluxora-dataset-limits-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const CHILD = `
import { loadNumericTable } from ${JSON.stringify(pathToFileURL(join(import.meta.dirname, 'dataset.ts')).href)};
const before = process.resourceUsage().maxRSS;
let message = '';
try {
  await loadNumericTable(process.argv[2], ['x', 'y']);
} catch (e) {
  message = e.message;
}
process.stdout.write(JSON.stringify({ grownKiB: process.resourceUsage().maxRSS - before, message }));
`;

function load(uri: string): { grownKiB: number; message: string } {
  const script = join(dir, 'child.mts');
  writeFileSync(script, CHILD);
  const r = spawnSync(process.execPath, ['--import', 'tsx', script, uri], { encoding: 'utf8', timeout: 60_000 });
  expect(r.status, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as { grownKiB: number; message: string };
}

/** A sparse file of `size` bytes starting with `head`. */
function sparse(name: string, head: Buffer | string, size: number): string {
  const file = join(dir, name);
  writeFileSync(file, head);
  truncateSync(file, size);
  return pathToFileURL(file).href;
}

describe('loadNumericTable size limits', () => {
  it('refuses a plain file over the table limit without reading it', () => {
    const size = MAX_TABLE_BYTES + 1;
    const uri = sparse('big.csv', 'x,y\n1,2\n', size);
    const r = load(uri);
    expect(r.message).toBe(`${uri}: the file is ${size} bytes; data files of at most ${MAX_TABLE_BYTES} bytes can be read`);
    // Reading it would have grown the process by half a GiB.
    expect(r.grownKiB).toBeLessThan(64 * 1024);
  });

  it('refuses a .gz file too large to expand to at most the table limit without reading it', () => {
    const size = MAX_TABLE_BYTES + 200 * 1024;
    const uri = sparse('big.csv.gz', Buffer.from([0x1f, 0x8b, 8, 0]), size);
    const r = load(uri);
    expect(r.message).toBe(
      `${uri}: the compressed file is ${size} bytes, too large to decompress to at most ${MAX_TABLE_BYTES} bytes, the most a data set may have`,
    );
    expect(r.grownKiB).toBeLessThan(64 * 1024);
  });

  it('still reads a file just under the limit far enough to judge it', () => {
    // Not over the limit: read and parsed (the zero bytes of the sparse tail are refused as binary).
    const uri = sparse('almost.csv', 'x,y\n1,2\n', 1024 * 1024);
    const r = load(uri);
    expect(r.message).toMatch(/a NUL byte at offset 8/);
  });
});
