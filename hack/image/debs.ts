// Debian packages for the image's base: the candidate version apt knows,
// fetched once with `apt-get download` into a cache keyed by name, version
// and architecture, checked against the SHA256 in apt's (signed) package
// lists, and unpacked with `dpkg-deb -x`, which runs no maintainer script.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { run, tryRun } from './exec.js';

export interface Deb {
  name: string;
  version: string;
  arch: string;
  sha256: string;
  /** The .deb in the cache. */
  file: string;
}

type Candidate = Omit<Deb, 'file'>;

/** Fetches `names` (cached when possible) and returns them in the order given. */
export function fetchDebs(names: string[], cacheDir: string): Deb[] {
  mkdirSync(cacheDir, { recursive: true });
  let candidates = resolve(names);
  let missing = candidates.filter((c) => !isCached(c, cacheDir));
  if (missing.length > 0 && !download(missing, cacheDir)) {
    // The lists name versions the mirror no longer has (a point release
    // replaced them): refresh them, which may move the candidates, and retry.
    update();
    candidates = resolve(names);
    missing = candidates.filter((c) => !isCached(c, cacheDir));
    if (!download(missing, cacheDir)) throw new Error(`apt-get download failed for ${missing.map((c) => c.name).join(' ')}`);
  }
  return candidates.map((c) => ({ ...c, file: cachePath(c, cacheDir) }));
}

/** Unpacks the packages' files into `dir`, running no maintainer script (there is nothing to run them with). */
export function extractDebs(debs: Deb[], dir: string): void {
  mkdirSync(dir, { recursive: true });
  for (const d of debs) run('dpkg-deb', ['-x', d.file, dir]);
}

/** The package's control fields, as dpkg-deb prints them. */
export function controlOf(deb: Deb): string {
  return run('dpkg-deb', ['-f', deb.file]);
}

/** Candidate versions from apt's lists; refreshes the lists once when they do not know a package (a fresh machine has none). */
function resolve(names: string[]): Candidate[] {
  const arch = run('dpkg', ['--print-architecture']).trim();
  if (arch !== 'amd64') throw new Error(`the image is linux/amd64 and is assembled from this host's apt (${arch})`);
  let shown = tryRun('apt-cache', ['show', '--no-all-versions', ...names]);
  if (!shown.ok) {
    update();
    shown = { ok: true, stdout: run('apt-cache', ['show', '--no-all-versions', ...names]) };
  }
  const records = shown.stdout.split(/\n\n+/).map(fields);
  return names.map((name) => {
    const r = records.find((f) => f.get('Package') === name);
    const version = r?.get('Version');
    const sha256 = r?.get('SHA256');
    const pkgArch = r?.get('Architecture');
    if (!version || !sha256 || !pkgArch) throw new Error(`apt-cache show ${name}: no candidate with Version, Architecture and SHA256`);
    return { name, version, arch: pkgArch, sha256 };
  });
}

function fields(record: string): Map<string, string> {
  const m = new Map<string, string>();
  for (const line of record.split('\n')) {
    const match = /^([\w-]+):\s*(.*)$/.exec(line);
    if (match?.[1] && match[2] !== undefined) m.set(match[1], match[2]);
  }
  return m;
}

function update(): void {
  process.stderr.write('[image] apt-get update\n');
  run('apt-get', ['update', '-qq']);
}

function cachePath(c: Candidate, cacheDir: string): string {
  // As apt names them: an epoch's ":" is escaped.
  return join(cacheDir, `${c.name}_${c.version.replaceAll(':', '%3a')}_${c.arch}.deb`);
}

function sha256Of(file: string): string {
  return createHash('sha256').update(readFileSync(file)).digest('hex');
}

function isCached(c: Candidate, cacheDir: string): boolean {
  const file = cachePath(c, cacheDir);
  return existsSync(file) && sha256Of(file) === c.sha256;
}

/** Downloads the exact versions into a scratch dir, verifies them and moves them into the cache; false when apt fails. */
function download(cands: Candidate[], cacheDir: string): boolean {
  const scratch = mkdtempSync(join(cacheDir, '.download-'));
  try {
    process.stderr.write(`[image] apt-get download ${cands.map((c) => `${c.name}=${c.version}`).join(' ')}\n`);
    const r = tryRun('apt-get', ['download', '-qq', ...cands.map((c) => `${c.name}=${c.version}`)], { cwd: scratch });
    if (!r.ok) return false;
    const files = readdirSync(scratch);
    for (const c of cands) {
      const name = files.find((f) => f.startsWith(`${c.name}_`) && f.endsWith('.deb'));
      if (!name) throw new Error(`apt-get download left no .deb for ${c.name}`);
      const got = sha256Of(join(scratch, name));
      if (got !== c.sha256) throw new Error(`${name}: sha256 ${got} is not the ${c.sha256} apt's lists give`);
      renameSync(join(scratch, name), cachePath(c, cacheDir));
    }
    return true;
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}
