// The distroless-style base layer: glibc, libstdc++, CA certificates, time
// zones and /etc basics from Debian bookworm packages, no shell and no
// package manager. Maintainer scripts never ran, so what they would have
// generated (the CA bundle, users, sticky /tmp) is written here.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { controlOf, type Deb } from './debs.js';
import { FileTree } from './tree.js';

/** The packages distroless's cc image is made of (Node needs glibc, libgcc_s and libstdc++; onnxruntime too). */
export const BASE_PACKAGES = ['base-files', 'netbase', 'tzdata', 'ca-certificates', 'libc6', 'libgcc-s1', 'libstdc++6', 'gcc-12-base'];

export const NONROOT = { uid: 65532, gid: 65532, home: 'home/nonroot' } as const;
export const CA_BUNDLE = 'etc/ssl/certs/ca-certificates.crt';

/** Things an image without a shell or package manager must not contain, by file name. */
export const FORBIDDEN_NAMES = /^(sh|bash|dash|ash|zsh|busybox|apt|apt-get|apt-cache|apt-key|dpkg|dpkg-[a-z-]+)$/;

// Not needed at run time: docs (each package's copyright file stays, for its
// license), man pages, translations, lintian overrides, gdb pretty-printers,
// postinst templates and hooks, and update-ca-certificates (a shell script
// whose output, the bundle, is generated below).
const DROP = [
  /^usr\/share\/(man|info|locale|lintian|gcc|gdb|base-files|ca-certificates)(\/|$)/,
  /^usr\/share\/doc\/[^/]+\/(?!copyright$)/,
  /^usr\/sbin\/update-ca-certificates$/,
  /^etc\/(update-motd\.d|profile\.d|skel|ca-certificates|dpkg)(\/|$)/,
];

// Modes that matter, which the 0755/0644 normalization would otherwise flatten.
const SPECIAL_DIRS: [string, number][] = [
  ['tmp', 0o1777],
  ['var/tmp', 0o1777],
  ['var/lock', 0o1777],
  ['root', 0o700],
];

/** The base layer from the unpacked packages in `rootfs`. */
export function baseTree(rootfs: string, debs: Deb[]): FileTree {
  const tree = new FileTree().addHostDir(rootfs, '');
  const bundle = caBundle(join(rootfs, 'usr/share/ca-certificates/mozilla'));
  tree.prune((path) => DROP.some((re) => re.test(path)));
  for (const [dir, mode] of SPECIAL_DIRS) tree.dir(dir, { mode });

  tree.file(CA_BUNDLE, bundle);
  tree.file('etc/passwd', ['root:x:0:0:root:/root:/sbin/nologin', `nonroot:x:${NONROOT.uid}:${NONROOT.gid}:nonroot:/${NONROOT.home}:/sbin/nologin`, ''].join('\n'));
  tree.file('etc/group', ['root:x:0:', `nonroot:x:${NONROOT.gid}:`, ''].join('\n'));
  // /etc/hosts first (Kubernetes writes it), then DNS; glibc's default without this file asks DNS first.
  tree.file('etc/nsswitch.conf', ['passwd: files', 'group: files', 'shadow: files', 'hosts: files dns', 'networks: files', 'protocols: files', 'services: files', ''].join('\n'));
  tree.dir(NONROOT.home, { mode: 0o700, uid: NONROOT.uid, gid: NONROOT.gid });
  // What distroless leaves for vulnerability scanners: one control file per
  // package, so Trivy/Grype see the versions without a dpkg database.
  for (const d of debs) tree.file(`var/lib/dpkg/status.d/${d.name}`, controlOf(d));

  const forbidden = tree
    .entries()
    .filter((e) => e.type !== 'dir' && FORBIDDEN_NAMES.test(e.path.split('/').at(-1) ?? ''))
    .map((e) => e.path);
  if (forbidden.length > 0) throw new Error(`the base would contain a shell or package manager: ${forbidden.join(', ')}`);
  return tree;
}

/**
 * /etc/ssl/certs/ca-certificates.crt as update-ca-certificates writes it on
 * a default install: every Mozilla certificate, in name order, each ending
 * in a newline.
 */
function caBundle(mozillaDir: string): string {
  const names = readdirSync(mozillaDir)
    .filter((n) => n.endsWith('.crt'))
    .sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
  if (names.length < 100) throw new Error(`${mozillaDir} has ${names.length} certificates; ca-certificates looks broken`);
  return names
    .map((n) => {
      const pem = readFileSync(join(mozillaDir, n), 'utf8');
      return pem.endsWith('\n') ? pem : `${pem}\n`;
    })
    .join('');
}
