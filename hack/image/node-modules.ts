// Production node_modules for the image, installed apart from the
// developer's tree (which holds devDependencies and may be mid-change):
// `npm ci --omit=dev` from package.json + package-lock.json + .npmrc, then
// the prune script the Dockerfile runs too. --prefer-offline takes tarballs
// from npm's cache when it has them. --ignore-scripts: the only production
// package with an install script is onnxruntime-node, whose script .npmrc
// already skips, so this keeps the tree a function of the lockfile.
//
// The result is cached by everything that shapes it and reused until one of
// those changes. Several checkouts (branches, worktrees) share the cache and
// may build at the same time, so a staging is only removed once nobody has
// used it for a day, never because another build wants a different one.
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { run } from './exec.js';

export const PRUNE_SCRIPT = 'hack/image/prune-node-modules.mjs';
const INPUTS = ['package.json', 'package-lock.json', '.npmrc'];

/**
 * Returns a directory holding production `node_modules` for the project at
 * `root`. `fresh` installs into `scratch` instead of reusing or filling the
 * cache (for proving that a rebuild from nothing gives the same bytes).
 */
export function productionNodeModules(o: { root: string; cacheDir: string; keep: string; fresh?: { scratch: string } }): string {
  const npmVersion = run('npm', ['--version']).trim();
  const key = createHash('sha256');
  for (const f of [...INPUTS, PRUNE_SCRIPT]) key.update(`${f}\0`).update(readFileSync(join(o.root, f))).update('\0');
  key.update(`npm ${npmVersion}\0node ${process.version}\0keep ${o.keep}`);
  const id = key.digest('hex').slice(0, 16);

  if (o.fresh) {
    install(o.root, o.fresh.scratch, o.keep);
    return join(o.fresh.scratch, 'node_modules');
  }
  const stagingRoot = join(o.cacheDir, 'staging');
  const dir = join(stagingRoot, id);
  const marker = join(dir, '.complete');
  removeUnused(stagingRoot, id);
  if (existsSync(marker)) {
    const now = new Date();
    utimesSync(marker, now, now); // "in use": see removeUnused
    return join(dir, 'node_modules');
  }

  mkdirSync(stagingRoot, { recursive: true });
  const tmp = `${dir}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  install(o.root, tmp, o.keep);
  writeFileSync(join(tmp, '.complete'), '');
  // Another build of the same inputs may have finished first: its tree is as good as ours.
  if (existsSync(marker)) rmSync(tmp, { recursive: true, force: true });
  else renameSync(tmp, dir);
  return join(dir, 'node_modules');
}

const DAY_MS = 24 * 3600 * 1000;

/** Removes stagings (~170 MB each) no build has used for a day, and leftovers of interrupted installs. */
function removeUnused(stagingRoot: string, current: string): void {
  if (!existsSync(stagingRoot)) return;
  for (const name of readdirSync(stagingRoot)) {
    if (name === current) continue;
    const path = join(stagingRoot, name);
    const stamp = existsSync(join(path, '.complete')) ? join(path, '.complete') : path;
    if (Date.now() - statSync(stamp).mtimeMs > DAY_MS) rmSync(path, { recursive: true, force: true });
  }
}

function install(root: string, dir: string, keep: string): void {
  mkdirSync(dir, { recursive: true });
  for (const f of INPUTS) copyFileSync(join(root, f), join(dir, f));
  process.stderr.write(`[image] npm ci --omit=dev in ${dir}\n`);
  run('npm', ['ci', '--omit=dev', '--ignore-scripts', '--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error'], { cwd: dir, env: { ...process.env, NODE_ENV: 'production' } });
  run(process.execPath, [join(root, PRUNE_SCRIPT), join(dir, 'node_modules'), '--keep', keep]);
}
