// An image that is one static executable at /<name> and nothing else: the
// pause image, CoreDNS, kube-proxy-like tools built with CGO_ENABLED=0.
// There is no libc in such an image, so a dynamically linked binary would
// fail at start with a bare "no such file or directory"; refuse it here.
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { writeOciArchive, type BuiltImage } from './oci.js';
import { FileTree } from './tree.js';

/** "65532" means "65532:65532": without /etc/group in the image, a runtime would otherwise pick gid 0. */
export function userSpec(user: string): string {
  if (!/^\d+(:\d+)?$/.test(user)) throw new Error(`--user ${user}: give a numeric uid or uid:gid (the image has no /etc/passwd)`);
  return user.includes(':') ? user : `${user}:${user}`;
}

/** Throws unless `file` is an x86-64 ELF executable without a program interpreter (PT_INTERP), i.e. static. */
export function assertStaticAmd64(file: string): void {
  const b = readFileSync(file);
  const ok = b.length >= 64 && b.readUInt32BE(0) === 0x7f454c46 && b[4] === 2 && b[5] === 1; // ELF, 64-bit, little-endian
  if (!ok) throw new Error(`${file} is not a 64-bit little-endian ELF file`);
  if (b.readUInt16LE(18) !== 62) throw new Error(`${file} is not an x86-64 binary (e_machine ${b.readUInt16LE(18)})`);
  const phoff = Number(b.readBigUInt64LE(32));
  const phentsize = b.readUInt16LE(54);
  const phnum = b.readUInt16LE(56);
  for (let i = 0; i < phnum; i++) {
    const PT_INTERP = 3;
    if (b.readUInt32LE(phoff + i * phentsize) === PT_INTERP) throw new Error(`${file} is dynamically linked (it names a program interpreter); the image has no libc`);
  }
}

export async function packStaticBinary(o: { binary: string; ref: string; out: string; user: string }): Promise<BuiltImage> {
  assertStaticAmd64(o.binary);
  const name = basename(o.binary);
  return writeOciArchive(
    {
      ref: o.ref,
      config: { User: userSpec(o.user), Entrypoint: [`/${name}`] },
      layers: [{ tree: new FileTree().hostFile(name, o.binary, { mode: 0o755 }), mtime: 0, description: `static binary /${name}` }],
    },
    o.out,
  );
}

/** The line both CLIs print (and what scripts grep for). */
export function describe(image: BuiltImage): string {
  return `${image.ref} ${image.digest} ${image.archive} ${image.sizeBytes} bytes\n`;
}
