// The contents of one layer, described before any byte is written: paths,
// types, normalized modes and owners, and where each file's bytes come from.
// Host metadata that varies between machines or runs (mtimes, owners,
// umask-dependent modes, inode order of readdir) never reaches the layer:
// modes are 0755/0644 (0777 for symlinks) unless set explicitly, owners are
// root unless set explicitly, entries are sorted by their UTF-8 bytes.
import { lstatSync, readdirSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import type { FileSource, TarEntry } from './tar.js';

interface Owner {
  uid: number;
  gid: number;
}
type Node =
  | ({ type: 'dir'; mode: number } & Owner)
  | ({ type: 'file'; mode: number; size: number; source: FileSource; inode?: string } & Owner)
  | ({ type: 'symlink'; target: string } & Owner);

const ROOT: Owner = { uid: 0, gid: 0 };

/** Normalizes "/a//b/" to "a/b"; refuses "." and ".." segments, which would escape or alias. */
export function archivePath(p: string): string {
  const parts = p.split('/').filter((s) => s !== '');
  if (parts.some((s) => s === '.' || s === '..')) throw new Error(`unsupported path ${JSON.stringify(p)}`);
  return parts.join('/');
}

/**
 * Host files keep one bit of their mode: executable by their owner or not.
 * Group and other bits follow the umask or a chmod of a cache directory, not
 * the package, so they must not change the image.
 */
export function normalizedFileMode(hostMode: number): number {
  return hostMode & 0o100 ? 0o755 : 0o644;
}

export class FileTree {
  private readonly nodes = new Map<string, Node>();

  dir(path: string, o: { mode?: number } & Partial<Owner> = {}): this {
    return this.set(path, { type: 'dir', mode: o.mode ?? 0o755, uid: o.uid ?? 0, gid: o.gid ?? 0 });
  }

  file(path: string, data: Buffer | string, o: { mode?: number } & Partial<Owner> = {}): this {
    const buf = typeof data === 'string' ? Buffer.from(data) : data;
    return this.set(path, { type: 'file', mode: o.mode ?? 0o644, size: buf.length, source: { data: buf }, uid: o.uid ?? 0, gid: o.gid ?? 0 });
  }

  /** A host file, read when the layer is written (not now: layers are large). */
  hostFile(path: string, hostPath: string, o: { mode?: number } & Partial<Owner> = {}): this {
    const st = lstatSync(hostPath);
    if (!st.isFile()) throw new Error(`${hostPath} is not a regular file`);
    return this.set(path, {
      type: 'file',
      mode: o.mode ?? normalizedFileMode(st.mode),
      size: st.size,
      source: { hostPath },
      uid: o.uid ?? 0,
      gid: o.gid ?? 0,
    });
  }

  symlink(path: string, target: string): this {
    return this.set(path, { type: 'symlink', target, ...ROOT });
  }

  /**
   * Adds everything under `hostDir` at `prefix` (which is created too).
   * Hard-linked host files stay hard links in the layer (one copy of the bytes).
   */
  addHostDir(hostDir: string, prefix: string): this {
    if (archivePath(prefix) !== '') this.dir(prefix);
    for (const ent of readdirSync(hostDir, { withFileTypes: true })) {
      const host = join(hostDir, ent.name);
      const path = `${archivePath(prefix)}/${ent.name}`;
      if (ent.isDirectory()) this.addHostDir(host, path);
      else if (ent.isSymbolicLink()) this.symlink(path, readlinkSync(host));
      else if (ent.isFile()) {
        const st = lstatSync(host);
        const inode = st.nlink > 1 ? { inode: `${st.dev}:${st.ino}` } : {};
        this.set(path, { type: 'file', mode: normalizedFileMode(st.mode), size: st.size, source: { hostPath: host }, ...ROOT, ...inode });
      } else throw new Error(`${host}: sockets, fifos and devices have no place in an image`);
    }
    return this;
  }

  /** Removes `path` and everything below it. */
  remove(path: string): this {
    const p = archivePath(path);
    for (const key of [...this.nodes.keys()]) if (key === p || key.startsWith(`${p}/`)) this.nodes.delete(key);
    return this;
  }

  /** Removes every entry (and its subtree) for which `drop` says so. */
  prune(drop: (path: string, type: Node['type']) => boolean): this {
    for (const [key, node] of [...this.nodes]) if (this.nodes.has(key) && drop(key, node.type)) this.remove(key);
    return this;
  }

  /** The layer's entries in byte order of their paths: parents before children, the same order on every host. */
  entries(): TarEntry[] {
    const sorted = [...this.nodes].sort(([a], [b]) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
    const firstOfInode = new Map<string, { path: string; mode: number } & Owner>();
    return sorted.map(([path, n]): TarEntry => {
      if (n.type === 'dir') return { type: 'dir', path, mode: n.mode, uid: n.uid, gid: n.gid };
      if (n.type === 'symlink') return { type: 'symlink', path, target: n.target, uid: n.uid, gid: n.gid };
      const first = n.inode === undefined ? undefined : firstOfInode.get(n.inode);
      if (first) return { type: 'hardlink', path, target: first.path, mode: first.mode, uid: first.uid, gid: first.gid };
      if (n.inode !== undefined) firstOfInode.set(n.inode, { path, mode: n.mode, uid: n.uid, gid: n.gid });
      return { type: 'file', path, mode: n.mode, uid: n.uid, gid: n.gid, size: n.size, source: n.source };
    });
  }

  private set(path: string, node: Node): this {
    const p = archivePath(path);
    if (p === '') throw new Error('the root directory is implicit');
    // Parents a caller did not describe are plain root-owned 0755 directories.
    const parts = p.split('/');
    for (let i = 1; i < parts.length; i++) {
      const parent = parts.slice(0, i).join('/');
      const existing = this.nodes.get(parent);
      if (!existing) this.nodes.set(parent, { type: 'dir', mode: 0o755, ...ROOT });
      else if (existing.type !== 'dir') throw new Error(`${p}: parent ${parent} is a ${existing.type}`);
    }
    const existing = this.nodes.get(p);
    if (existing?.type === 'dir' && node.type !== 'dir') this.remove(p);
    this.nodes.set(p, node);
    return this;
  }
}
