// The small images the node setup imports next to Fluxora's: the pod
// sandbox (pause) and one-static-binary images such as CoreDNS, built by
// the same OCI writer (hack/image/pause.ts, hack/image/binary-image.ts).
import { spawn, spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { once } from 'node:events';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listLayer, readOciArchive, sh, sha256File, unpackLayers, type OciImage } from '../support/oci-archive.js';

const root = resolve(import.meta.dirname, '..', '..');
const tsx = join(root, 'node_modules/.bin/tsx');

describe('pause and static-binary images', () => {
  let work: string;
  let pause: OciImage;
  let pauseBinary: string;

  beforeAll(() => {
    work = mkdtempSync(join(tmpdir(), 'fluxora-small-images-'));
    sh(tsx, [join(root, 'hack/image/pause.ts'), '--out', join(work, 'pause.oci.tar')]);
    pause = readOciArchive(join(work, 'pause.oci.tar'), join(work, 'pause-layout'));
    unpackLayers(pause.layers, join(work, 'pause-rootfs'));
    pauseBinary = join(work, 'pause-rootfs', 'pause');
  });
  afterAll(() => {
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('pause: named localhost/fluxora-pause:1, runs /pause as 65535, one layer holding only /pause', () => {
    expect(pause.index.manifests[0]?.annotations).toEqual({ 'io.containerd.image.name': 'localhost/fluxora-pause:1', 'org.opencontainers.image.ref.name': '1' });
    expect(pause.config.config).toEqual({ User: '65535:65535', Entrypoint: ['/pause'] });
    expect(pause.config.rootfs.diff_ids).toHaveLength(1);
    expect(listLayer(pause.layers[0]!)).toEqual([{ type: 'file', path: 'pause', mode: 0o755, uid: 0, gid: 0, size: expect.any(Number) as number, mtime: '1970-01-01 00:00:00' }]);
  });

  it('pause: rebuilding gives the same digest', async () => {
    sh(tsx, [join(root, 'hack/image/pause.ts'), '--out', join(work, 'again.oci.tar')]);
    expect(await sha256File(join(work, 'again.oci.tar'))).toBe(await sha256File(join(work, 'pause.oci.tar')));
  });

  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    it(`pause: blocks until ${signal}, then exits 0`, async () => {
      const child = spawn(pauseBinary, [], { stdio: 'ignore' });
      await new Promise((r) => setTimeout(r, 300));
      expect(child.exitCode).toBeNull(); // still waiting
      child.kill(signal);
      const [code, sig] = (await once(child, 'exit')) as [number | null, NodeJS.Signals | null];
      expect({ code, sig }).toEqual({ code: 0, sig: null });
    });
  }

  it('pause: is a static binary (runs with an empty environment and no libraries)', () => {
    const ldd = spawnSync('ldd', [pauseBinary], { encoding: 'utf8' });
    expect(`${ldd.stdout}${ldd.stderr}`).toMatch(/not a dynamic executable|statically linked/);
  });

  it('binary-image: packs a static binary at /<name>, user 65532 by default, with a qualified name', () => {
    const bin = join(work, 'mytool');
    copyFileSync(pauseBinary, bin);
    sh(tsx, [join(root, 'hack/image/binary-image.ts'), '--binary', bin, '--ref', 'example/mytool:1.2.3', '--out', join(work, 'mytool.oci.tar')]);
    const img = readOciArchive(join(work, 'mytool.oci.tar'), join(work, 'mytool-layout'));
    expect(img.index.manifests[0]?.annotations?.['io.containerd.image.name']).toBe('docker.io/example/mytool:1.2.3');
    expect(img.config.config).toEqual({ User: '65532:65532', Entrypoint: ['/mytool'] });
    expect(listLayer(img.layers[0]!).map((e) => `${e.path} ${e.mode.toString(8)}`)).toEqual(['mytool 755']);
  });

  it('binary-image: refuses a dynamically linked binary, which could not start in an image without libc', () => {
    const r = spawnSync(tsx, [join(root, 'hack/image/binary-image.ts'), '--binary', process.execPath, '--ref', 'x:1', '--out', join(work, 'x.oci.tar')], { encoding: 'utf8' });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/dynamically linked/);
  });
});
