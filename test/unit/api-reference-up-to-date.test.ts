// docs/api-reference.md must be exactly what the generator renders from the
// CRDs now; editing a schema without `npm run generate` fails here, like the
// CRDs themselves (crds-up-to-date.test.ts).
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildCrd } from '../../src/api/crd.js';
import { crdSources } from '../../src/api/crd-files.js';
import { API_REFERENCE_HEADER, API_REFERENCE_PATH, cell, code, renderApiReference, renderApiReferenceFile } from '../../src/api/reference-docs.js';
import { readOrUndefined, REPO_ROOT } from '../../src/api/stale.js';
import type { JSONSchemaProps } from '../../src/api/structural.js';

describe('generated API reference', () => {
  const page = renderApiReference();

  it('is up to date with src/api', () => {
    const onDisk = readOrUndefined(join(REPO_ROOT, API_REFERENCE_PATH));
    expect(onDisk === page, `${API_REFERENCE_PATH} is stale — run npm run generate`).toBe(true);
  });

  it('starts with the generated header and renders deterministically', () => {
    expect(renderApiReferenceFile().path).toBe(API_REFERENCE_PATH);
    expect(page.startsWith(API_REFERENCE_HEADER)).toBe(true);
    expect(renderApiReference()).toBe(page);
  });

  it('has a row for every field of every CRD, with its default and every CEL message', () => {
    for (const src of crdSources) {
      const crd = buildCrd(src);
      const kind = crd.spec.names.kind;
      expect(page).toContain(`## ${kind}\n`);
      const root = crd.spec.versions[0]!.schema.openAPIV3Schema;
      const visit = (n: JSONSchemaProps, path: string) => {
        expect(page, `${kind} ${path}`).toContain(`| ${cell(code(path))} |`);
        if (n.default !== undefined) {
          const d = typeof n.default === 'string' ? n.default : JSON.stringify(n.default);
          expect(page, `${kind} ${path} default`).toContain(`| ${cell(code(path))} | ${cell(code(typeOfRow(n)))}`);
          expect(page).toContain(cell(code(d)));
        }
        for (const r of n['x-kubernetes-validations'] ?? []) expect(page, `${kind} ${path} rule`).toContain(cell(r.message));
        for (const r of n.items?.['x-kubernetes-validations'] ?? []) expect(page).toContain(cell(r.message));
        for (const [k, c] of Object.entries(n.properties ?? {})) visit(c, `${path}.${k}`);
        for (const [k, c] of Object.entries(n.items?.properties ?? {})) visit(c, `${path}[].${k}`);
      };
      visit(root.properties!.spec!, 'spec');
      visit(root.properties!.status!, 'status');
      for (const col of crd.spec.versions[0]!.additionalPrinterColumns) expect(page).toContain(cell(code(col.jsonPath)));
      for (const r of root['x-kubernetes-validations'] ?? []) expect(page).toContain(cell(r.message));
    }
  });

  it('escapes what would break a table cell or be read as HTML', () => {
    expect(cell('a | b\nc <name>')).toBe('a \\| b c &lt;name&gt;');
    expect(cell('`x|<y>` <z>')).toBe('`x\\|<y>` &lt;z&gt;');
    expect(code('a`b')).toBe('``a`b``');
  });
});

/** The first word of a row's type cell, enough to find the row. */
function typeOfRow(n: JSONSchemaProps): string {
  if (n['x-kubernetes-int-or-string']) return 'int-or-string';
  if (n.type === 'array' && n.items) return `[]${typeOfRow(n.items)}`;
  if (n.format) return `${n.type} (${n.format})`;
  return n.type ?? 'any';
}
