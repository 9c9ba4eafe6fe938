// `npm run generate` writes crds/*.yaml and docs/api-reference.md from the zod
// schemas; `npm run check:generated` (--check) writes nothing and exits 1
// naming each stale file, so CI fails when someone edits a schema and forgets
// to regenerate.
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { renderCrdFiles } from './crd-files.js';
import { renderApiReferenceFile } from './reference-docs.js';
import { readOrUndefined, REPO_ROOT, staleFiles } from './stale.js';

function main(argv: string[]): number {
  const files = [...renderCrdFiles(), renderApiReferenceFile()];
  if (argv.includes('--check')) {
    const stale = staleFiles(files);
    for (const path of stale) process.stderr.write(`${path} is stale: run npm run generate\n`);
    return stale.length > 0 ? 1 : 0;
  }
  for (const f of files) {
    const path = join(REPO_ROOT, f.path);
    if (readOrUndefined(path) === f.content) continue;
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, f.content);
    process.stdout.write(`wrote ${f.path}\n`);
  }
  return 0;
}

process.exitCode = main(process.argv.slice(2));
