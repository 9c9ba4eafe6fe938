// Sample `kubectl get` output in the docs shows the columns kubectl prints for
// the command shown with it: the CRDs' printer columns, those of priority 1
// only with -o wide. A table with no command above it cannot be checked, and
// is refused: the reader cannot tell either.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { crdSources } from '../../src/api/crd-files.js';
import { API_GROUP } from '../../src/api/index.js';
import { documentationPages } from '../support/markdown.js';

const root = join(import.meta.dirname, '..', '..');

function documentation(): { file: string; text: string }[] {
  return documentationPages(root).map((file) => ({ file, text: readFileSync(join(root, file), 'utf8') }));
}

/** Every name kubectl accepts for a kind (plural, singular, short names, plural.group), to its printer columns. */
const kinds = new Map(
  crdSources.flatMap((src) => {
    const r = src.resource;
    return [r.plural, r.singular, ...r.shortNames, `${r.plural}.${API_GROUP}`, r.kind.toLowerCase()].map((n) => [n, src.printerColumns] as const);
  }),
);

/** The header kubectl prints: NAME, then each column's name upper-cased; priority-1 columns only with -o wide. */
function expectedHeader(resource: string, wide: boolean): string[] | undefined {
  const columns = kinds.get(resource);
  if (!columns) return undefined;
  return ['NAME', ...columns.filter((c) => wide || (c.priority ?? 0) === 0).map((c) => c.name.toUpperCase())];
}

describe('sample kubectl get output in the docs', () => {
  it('has the columns kubectl prints for the command shown with it', () => {
    const problems: string[] = [];
    let tables = 0;
    for (const { file, text } of documentation()) {
      for (const block of text.matchAll(/^```[^\n]*\n([\s\S]*?)^```/gm)) {
        let command: { resource: string; wide: boolean; line: string } | undefined;
        for (const line of block[1]!.split('\n')) {
          const get = /kubectl get ([a-z0-9.,-]+)(.*)$/.exec(line);
          if (get) {
            command = { resource: get[1]!, wide: /-o\s*wide\b/.test(get[2]!), line: line.trim() };
            continue;
          }
          if (!/^NAME {2,}\S/.test(line)) continue;
          tables++;
          const header = line.trim().split(/ {2,}/);
          if (!command) {
            problems.push(`${file}: a table with no kubectl get command above it: ${line.trim()}`);
            continue;
          }
          const want = expectedHeader(command.resource, command.wide);
          if (want && header.join(' | ') !== want.join(' | ')) {
            problems.push(`${file}: after "${command.line}" kubectl prints ${want.join(' | ')}, the docs show ${header.join(' | ')}`);
          }
        }
      }
    }
    expect(tables).toBeGreaterThan(0);
    expect(problems).toEqual([]);
  });
});
