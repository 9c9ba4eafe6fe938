// Reading back an OCI image-layout archive the way a runtime would, with
// tools independent of the writer under test: GNU tar unpacks the archive
// and its layers, node:crypto and node:zlib check every digest.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream, mkdirSync, readFileSync, readlinkSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import type { ImageConfig, Index, Manifest } from '../../hack/image/oci.js';

export interface OciImage {
  dir: string;
  index: Index;
  manifest: Manifest;
  config: ImageConfig;
  /** Paths of the layer blobs, in manifest order. */
  layers: string[];
}

export interface LayerEntry {
  type: 'dir' | 'file' | 'symlink' | 'hardlink';
  mode: number;
  uid: number;
  gid: number;
  size: number;
  mtime: string;
  path: string;
  target?: string;
}

/** Runs a command; a non-zero exit throws with its output. */
export function sh(cmd: string, args: string[], o: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): string {
  const r = spawnSync(cmd, args, { cwd: o.cwd, env: o.env ?? process.env, encoding: 'utf8', maxBuffer: 512 * 1024 * 1024 });
  if (r.error) throw r.error;
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.status ?? r.signal}:\n${r.stderr}${r.stdout}`);
  return r.stdout;
}

export function blob(dir: string, digest: string): string {
  return join(dir, 'blobs', 'sha256', digest.replace(/^sha256:/, ''));
}

/** Unpacks the archive into `dir` and reads its index, (only) manifest and config. */
export function readOciArchive(archive: string, dir: string): OciImage {
  mkdirSync(dir, { recursive: true });
  sh('tar', ['-xf', archive, '-C', dir]);
  const index = JSON.parse(readFileSync(join(dir, 'index.json'), 'utf8')) as Index;
  const desc = index.manifests[0];
  if (!desc || index.manifests.length !== 1) throw new Error(`${archive}: expected one manifest, found ${index.manifests.length}`);
  const manifest = JSON.parse(readFileSync(blob(dir, desc.digest), 'utf8')) as Manifest;
  const config = JSON.parse(readFileSync(blob(dir, manifest.config.digest), 'utf8')) as ImageConfig;
  return { dir, index, manifest, config, layers: manifest.layers.map((l) => blob(dir, l.digest)) };
}

export async function sha256File(path: string, gunzip = false): Promise<string> {
  const hash = createHash('sha256');
  const input = createReadStream(path);
  await (gunzip ? pipeline(input, createGunzip(), hash) : pipeline(input, hash));
  return `sha256:${hash.digest('hex')}`;
}

const TYPES: Record<string, LayerEntry['type']> = { d: 'dir', '-': 'file', l: 'symlink', h: 'hardlink' };

/** A gzip layer's entries as GNU tar lists them (numeric owners, full times). */
export function listLayer(layer: string): LayerEntry[] {
  const out = sh('tar', ['-tvzf', layer, '--numeric-owner', '--full-time', '--quoting-style=literal']);
  return out
    .split('\n')
    .filter((l) => l !== '')
    .map((line) => {
      const m = /^([-dlh])([rwxsStT-]{9})\s+(\d+)\/(\d+)\s+(\d+)\s+(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d)\s(.*)$/.exec(line);
      if (!m) throw new Error(`cannot read tar listing line: ${line}`);
      const type = TYPES[m[1]!]!;
      let path = m[7]!;
      let target: string | undefined;
      const sep = type === 'symlink' ? ' -> ' : type === 'hardlink' ? ' link to ' : null;
      if (sep) [path, target] = [path.slice(0, path.indexOf(sep)), path.slice(path.indexOf(sep) + sep.length)];
      return { type, mode: permBits(m[2]!), uid: Number(m[3]), gid: Number(m[4]), size: Number(m[5]), mtime: m[6]!, path: path.replace(/\/$/, ''), ...(target ? { target } : {}) };
    });
}

/** "rwxrwxrwt" -> 0o1777. */
function permBits(s: string): number {
  let mode = 0;
  for (let i = 0; i < 9; i++) {
    const c = s[i]!;
    if (c !== '-' && c !== 'S' && c !== 'T') mode |= 1 << (8 - i);
  }
  if (/[sS]/.test(s[2]!)) mode |= 0o4000;
  if (/[sS]/.test(s[5]!)) mode |= 0o2000;
  if (/[tT]/.test(s[8]!)) mode |= 0o1000;
  return mode;
}

/** Applies the layers in order onto `rootfs` (as a runtime's snapshotter would; our layers have no whiteouts). */
export function unpackLayers(layers: string[], rootfs: string): void {
  mkdirSync(rootfs, { recursive: true });
  for (const l of layers) sh('tar', ['-xzf', l, '-C', rootfs, '--numeric-owner']);
}

/**
 * Runs the image's /nodejs/bin/node on this host, against the image's own
 * glibc: through the image's dynamic loader (its PT_INTERP path, resolved
 * inside the rootfs) with the image's library directories.
 */
export function nodeInRootfs(rootfs: string, args: string[], cwd: string) {
  const { loader, libs } = imageLoader(rootfs);
  return spawnSync(loader, ['--library-path', libs, join(rootfs, 'nodejs/bin/node'), ...args], {
    cwd,
    encoding: 'utf8',
    // The image's environment, not the test runner's (no NODE_OPTIONS, loaders or PATH from the host).
    env: { NODE_ENV: 'production', HOME: join(rootfs, 'home/nonroot') },
    timeout: 60_000,
  });
}

/** The image's dynamic loader (its /lib64 PT_INTERP link resolved inside the rootfs) and library directories. */
function imageLoader(rootfs: string): { loader: string; libs: string } {
  const link = readlinkSync(join(rootfs, 'lib64/ld-linux-x86-64.so.2'));
  const loader = isAbsolute(link) ? join(rootfs, link) : join(rootfs, 'lib64', link);
  return { loader, libs: [join(rootfs, 'lib/x86_64-linux-gnu'), join(rootfs, 'usr/lib/x86_64-linux-gnu')].join(':') };
}

/**
 * Where the image's loader finds each shared library `file` needs
 * (`ld.so --list`). The loader falls back to the host's directories for what
 * the image lacks, so running a binary proves less than this list does.
 */
export function resolvedLibraries(rootfs: string, file: string): Map<string, string> {
  const { loader, libs } = imageLoader(rootfs);
  const out = sh(loader, ['--library-path', libs, '--list', file], { env: {} });
  const found = new Map<string, string>();
  for (const m of out.matchAll(/^\s*(\S+) => (.+?)(?: \(0x[0-9a-f]+\))?$/gm)) found.set(m[1]!, m[2]!);
  return found;
}
