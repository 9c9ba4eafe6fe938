// Compares generated files with what is on disk: the basis of
// `npm run check:generated` and of the unit test that keeps crds/ current.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CRD_DIR, type GeneratedFile } from './crd-files.js';

/** The repository root (this file lives in src/api). */
export const REPO_ROOT = join(import.meta.dirname, '..', '..');

export function readOrUndefined(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

function listOrEmpty(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

/** Paths (relative to the repository root) whose content differs from `files`, plus generated CRD files no kind produces any more. */
export function staleFiles(files: readonly GeneratedFile[], repoRoot = REPO_ROOT): string[] {
  const stale = files.filter((f) => readOrUndefined(join(repoRoot, f.path)) !== f.content).map((f) => f.path);
  const expected = new Set(files.map((f) => f.path));
  for (const name of listOrEmpty(join(repoRoot, CRD_DIR))) {
    const path = `${CRD_DIR}/${name}`;
    if (/^fluxora\.io_.*\.yaml$/.test(name) && !expected.has(path)) stale.push(path);
  }
  return stale;
}
