// The Fluxora image built by `npm run image` (hack/image/), twice, from
// this checkout: the second time from a freshly installed node_modules. It
// must come out byte-identical, be a valid OCI image layout whose digests
// check out, contain no shell or package manager, run Node.js 24 and the
// CLI against its own glibc, and match what the Dockerfile declares.
import { X509Certificate } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PRUNE_SCRIPT } from '../../hack/image/node-modules.js';
import { stageConfig, stages } from '../support/dockerfile.js';
import { listLayer, nodeInRootfs, readOciArchive, resolvedLibraries, sh, sha256File, unpackLayers, type LayerEntry, type OciImage } from '../support/oci-archive.js';

const root = resolve(import.meta.dirname, '..', '..');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string; description: string; license: string; name: string };
const nodeMajor = readFileSync(join(root, '.node-version'), 'utf8').trim().split('.')[0]!;
// Spelled out here rather than imported from the writer, so a typo there cannot pass.
const MEDIA_TYPE = {
  index: 'application/vnd.oci.image.index.v1+json',
  manifest: 'application/vnd.oci.image.manifest.v1+json',
  config: 'application/vnd.oci.image.config.v1+json',
  layer: 'application/vnd.oci.image.layer.v1.tar+gzip',
};
const SHELL_OR_PACKAGE_MANAGER = /^(sh|bash|dash|ash|zsh|ksh|busybox|apt|apt-get|apt-cache|dpkg|dpkg-\S+)$/;

interface Summary {
  ref: string;
  digest: string;
  archive: string;
  sizeBytes: number;
}

function build(out: string, extra: string[] = []): Summary {
  sh('bash', [join(root, 'hack/image.sh'), '--out', out, ...extra], { cwd: root });
  return JSON.parse(readFileSync(`${out}.json`, 'utf8')) as Summary;
}

describe('npm run image', () => {
  let work: string;
  let first: Summary;
  let second: Summary;
  let image: OciImage;
  let rootfs: string;
  let layers: LayerEntry[][];
  let app: string;

  beforeAll(() => {
    work = mkdtempSync(join(tmpdir(), 'fluxora-image-test-'));
    first = build(join(work, 'a', 'fluxora.oci.tar'));
    second = build(join(work, 'b', 'fluxora.oci.tar'), ['--fresh']);
    image = readOciArchive(first.archive, join(work, 'layout'));
    rootfs = join(work, 'rootfs');
    unpackLayers(image.layers, rootfs);
    layers = image.layers.map(listLayer);
    app = join(rootfs, 'app');
  });
  afterAll(() => {
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('gives the same digest and the same bytes when built twice from the same commit (the second time from a fresh npm ci)', async () => {
    expect(first.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(second.digest).toBe(first.digest);
    expect(await sha256File(second.archive)).toBe(await sha256File(first.archive));
    expect(first.sizeBytes).toBe(statSync(first.archive).size);
  });

  it('is an OCI image layout named for containerd, whose blobs match their digests and diff_ids', async () => {
    expect(JSON.parse(readFileSync(join(image.dir, 'oci-layout'), 'utf8'))).toEqual({ imageLayoutVersion: '1.0.0' });
    expect(image.index).toMatchObject({ schemaVersion: 2, mediaType: MEDIA_TYPE.index });
    expect(image.index.manifests[0]).toMatchObject({
      mediaType: MEDIA_TYPE.manifest,
      digest: first.digest,
      platform: { architecture: 'amd64', os: 'linux' },
      annotations: { 'io.containerd.image.name': `ghcr.io/fluxora/fluxora:${pkg.version}`, 'org.opencontainers.image.ref.name': pkg.version },
    });
    expect(first.ref).toBe(`ghcr.io/fluxora/fluxora:${pkg.version}`);
    expect(image.manifest).toMatchObject({ schemaVersion: 2, mediaType: MEDIA_TYPE.manifest, config: { mediaType: MEDIA_TYPE.config } });
    expect(image.config).toMatchObject({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers' } });

    const blobs = readdirSync(join(image.dir, 'blobs', 'sha256'));
    expect(blobs.sort()).toEqual([first.digest, image.manifest.config.digest, ...image.manifest.layers.map((l) => l.digest)].map((d) => d.slice(7)).sort());
    for (const name of blobs) expect(await sha256File(join(image.dir, 'blobs', 'sha256', name))).toBe(`sha256:${name}`);
    expect(image.manifest.layers).toHaveLength(3); // base, node, app
    for (const [i, l] of image.manifest.layers.entries()) {
      expect(l.mediaType).toBe(MEDIA_TYPE.layer);
      expect(l.size).toBe(statSync(image.layers[i]!).size);
      expect(await sha256File(image.layers[i]!, true)).toBe(image.config.rootfs.diff_ids[i]);
    }
    expect(image.config.history).toHaveLength(3);
  });

  it('has the configured user, entrypoint, command, environment and labels', () => {
    const c = image.config.config;
    expect(c.User).toBe('65532:65532');
    expect(c.WorkingDir).toBe('/app');
    expect(c.Entrypoint).toEqual(['/nodejs/bin/node', '/app/dist/cli/main.js']);
    expect(c.Cmd).toEqual(['operator']);
    const env = Object.fromEntries((c.Env ?? []).map((e) => [e.slice(0, e.indexOf('=')), e.slice(e.indexOf('=') + 1)]));
    expect(env).toMatchObject({ NODE_ENV: 'production', SSL_CERT_FILE: '/etc/ssl/certs/ca-certificates.crt' });
    expect(env.PATH?.split(':')).toContain('/nodejs/bin');

    const head = sh('git', ['rev-parse', 'HEAD'], { cwd: root }).trim();
    const commitTime = Number(sh('git', ['log', '-1', '--format=%ct'], { cwd: root }).trim());
    const labels = c.Labels ?? {};
    expect(labels).toMatchObject({
      'org.opencontainers.image.title': pkg.name,
      'org.opencontainers.image.description': pkg.description,
      'org.opencontainers.image.version': pkg.version,
      'org.opencontainers.image.licenses': pkg.license,
      'org.opencontainers.image.source': 'https://github.com/fluxora/fluxora',
    });
    expect(labels['org.opencontainers.image.revision']).toMatch(new RegExp(`^${head}(-dirty)?$`));
    expect(Date.parse(labels['org.opencontainers.image.created'] ?? '')).toBe(commitTime * 1000);
    expect(labels['org.opencontainers.image.created']).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    expect(image.config.created).toBe(labels['org.opencontainers.image.created']);
    const packages = labels['io.fluxora.image.packages'] ?? '';
    for (const p of ['base-files', 'netbase', 'tzdata', 'ca-certificates', 'libc6', 'libgcc-s1', 'libstdc++6', 'gcc-12-base']) expect(packages).toMatch(new RegExp(`(^| )${p.replace(/\+/g, '\\+')}=\\S+`));
    expect(packages).toContain(`nodejs=${readFileSync(join(root, '.node-version'), 'utf8').trim()}`);
  });

  it('has no shell and no package manager', () => {
    for (const p of ['bin/sh', 'bin/bash', 'bin/dash', 'usr/bin/sh', 'usr/bin/bash', 'usr/bin/dash', 'bin/busybox']) expect(existsSync(join(rootfs, p)), p).toBe(false);
    const offenders = layers.flat().filter((e) => e.type !== 'dir' && SHELL_OR_PACKAGE_MANAGER.test(e.path.split('/').at(-1)!));
    expect(offenders.map((e) => e.path)).toEqual([]);
    // Nothing with a shebang that needs a shell is left executable either.
    const scripts = layers
      .flat()
      .filter((e) => e.type === 'file' && e.mode & 0o111 && !e.path.startsWith('app/'))
      .filter((e) => readFileSync(join(rootfs, e.path)).subarray(0, 2).toString() === '#!');
    expect(scripts.map((e) => e.path)).toEqual([]);
  });

  it('is owned by root except /home/nonroot, with a sticky world-writable /tmp, and stamps no build time into base and Node layers', () => {
    const all = layers.flat();
    const notRoot = all.filter((e) => e.uid !== 0 || e.gid !== 0);
    expect(notRoot.map((e) => `${e.path} ${e.uid}:${e.gid}`)).toEqual(['home/nonroot 65532:65532']);
    const byPath = new Map(all.map((e) => [e.path, e]));
    expect(byPath.get('tmp')).toMatchObject({ type: 'dir', mode: 0o1777 });
    expect(byPath.get('home/nonroot')).toMatchObject({ type: 'dir', mode: 0o700 });
    expect((statSync(join(rootfs, 'tmp')).mode & 0o7777).toString(8)).toBe('1777');
    // Base and Node.js layers depend on package versions only, so a commit never changes their digests.
    for (const layer of layers.slice(0, 2)) expect(new Set(layer.map((e) => e.mtime))).toEqual(new Set(['1970-01-01 00:00:00']));
    // Every file is 0644 or 0755 (directories 0755) unless it is one of the special directories.
    const odd = all.filter((e) => e.type !== 'symlink' && ![0o644, 0o755].includes(e.mode) && !['tmp', 'var/tmp', 'var/lock', 'root', 'home/nonroot'].includes(e.path));
    expect(odd.map((e) => `${e.path} ${e.mode.toString(8)}`)).toEqual([]);
  });

  it('has users root and nonroot (65532), and a CA bundle generated from the Mozilla certificates', () => {
    const passwd = readFileSync(join(rootfs, 'etc/passwd'), 'utf8');
    expect(passwd).toMatch(/^root:x:0:0:/m);
    expect(passwd).toMatch(/^nonroot:x:65532:65532:[^:]*:\/home\/nonroot:/m);
    expect(readFileSync(join(rootfs, 'etc/group'), 'utf8')).toMatch(/^nonroot:x:65532:/m);
    const pems = readFileSync(join(rootfs, 'etc/ssl/certs/ca-certificates.crt'), 'utf8').match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
    expect(pems.length).toBeGreaterThan(100);
    for (const pem of pems) expect(new X509Certificate(pem).ca).toBe(true);
    expect(existsSync(join(rootfs, 'usr/share/zoneinfo/Europe/Paris'))).toBe(true);
    expect(existsSync(join(rootfs, 'usr/share/man'))).toBe(false);
    expect(existsSync(join(rootfs, 'usr/share/locale'))).toBe(false);
  });

  it(`runs /nodejs/bin/node (Node.js ${nodeMajor}) against the image's own glibc`, () => {
    const r = nodeInRootfs(rootfs, ['--version'], rootfs);
    expect(r.stderr).toBe('');
    expect(r.stdout.trim()).toMatch(new RegExp(`^v${nodeMajor}\\.\\d+\\.\\d+$`));
    expect(r.status).toBe(0);
  });

  it("finds every shared library of node and onnxruntime-node's binding inside the image", () => {
    const binding = readdirSync(join(app, 'node_modules/onnxruntime-node/bin'))
      .map((napi) => join(app, 'node_modules/onnxruntime-node/bin', napi, 'linux/x64'))
      .flatMap((dir) => readdirSync(dir).map((f) => join(dir, f)));
    for (const file of [join(rootfs, 'nodejs/bin/node'), ...binding]) {
      const libs = resolvedLibraries(rootfs, file);
      expect(libs.size, file).toBeGreaterThan(0);
      // $ORIGIN-relative onnxruntime libraries resolve next to the binding, inside the rootfs too.
      const outside = [...libs].filter(([, path]) => !path.startsWith(`${rootfs}/`));
      expect(outside, file).toEqual([]);
    }
  });

  it('runs the CLI from /app, loads onnxruntime-node and every subcommand module with production dependencies only', () => {
    const help = nodeInRootfs(rootfs, ['dist/cli/main.js', '--help'], app);
    expect(help.stdout).toMatch(/^usage: fluxora <subcommand>/);
    expect(help.status).toBe(0);
    // The version the image is labelled with, read from /app/package.json.
    const version = nodeInRootfs(rootfs, ['dist/cli/main.js', '--version'], app);
    expect(version.stdout).toBe(`${pkg.version}\n`);
    expect(version.status).toBe(0);

    const ort = nodeInRootfs(rootfs, ['-e', "const o = require('onnxruntime-node'); console.log(typeof o.InferenceSession.create)"], app);
    expect(ort.stderr).toBe('');
    expect(ort.stdout.trim()).toBe('function');

    const modules = readdirSync(join(app, 'dist/cli')).filter((f) => f.endsWith('.js'));
    const load = nodeInRootfs(rootfs, ['--input-type=module', '-e', `for (const m of ${JSON.stringify(modules.filter((m) => m !== 'main.js'))}) await import('./dist/cli/' + m); console.log('loaded')`], app);
    expect(load.stderr).toBe('');
    expect(load.stdout.trim()).toBe('loaded');
    expect(existsSync(join(app, 'node_modules/typescript'))).toBe(false);
    expect(existsSync(join(app, 'node_modules/vitest'))).toBe(false);
  });

  it("keeps only onnxruntime-node's linux/x64 binaries", () => {
    const bin = join(app, 'node_modules/onnxruntime-node/bin');
    const kept = readdirSync(bin).flatMap((napi) => readdirSync(join(bin, napi)).flatMap((p) => readdirSync(join(bin, napi, p)).map((a) => `${napi}/${p}/${a}`)));
    expect(kept.length).toBeGreaterThan(0);
    expect(kept.every((k) => /^napi-v\d+\/linux\/x64$/.test(k)), kept.join(', ')).toBe(true);
  });

  describe('the Dockerfile', () => {
    const all = stages(readFileSync(join(root, 'Dockerfile'), 'utf8'));
    const final = stageConfig(all.at(-1)!);

    it(`builds on a distroless Node.js ${nodeMajor} nonroot base, from a node:${nodeMajor} bookworm build stage`, () => {
      expect(final.from).toMatch(new RegExp(`^gcr\\.io/distroless/nodejs${nodeMajor}-debian12:nonroot$`));
      const builders = all.slice(0, -1);
      expect(builders.length).toBeGreaterThan(0);
      for (const s of builders) expect(s.from).toBe(`node:${nodeMajor}-bookworm-slim`);
    });

    it('prunes node_modules with the same script as npm run image', () => {
      const build = all.slice(0, -1).flatMap((s) => s.instructions);
      expect(build.some((i) => i.keyword === 'COPY' && i.args.includes(PRUNE_SCRIPT))).toBe(true);
      const run = build.filter((i) => i.keyword === 'RUN').find((i) => i.args.includes(`node ${PRUNE_SCRIPT} `));
      expect(run?.args).toMatch(/npm ci --omit=dev/);
    });

    it("declares the built image's user, working dir, entrypoint, command and environment", () => {
      const c = image.config.config;
      expect(final.user).toBe(c.User);
      expect(final.workdir).toBe(c.WorkingDir);
      expect(final.entrypoint).toEqual({ exec: c.Entrypoint });
      expect(final.cmd).toEqual({ exec: c.Cmd });
      expect(Object.entries(final.env).map(([k, v]) => `${k}=${v}`).sort()).toEqual([...(c.Env ?? [])].sort());
    });

    it("declares the built image's labels (the same values, except those known only at build time)", () => {
      const labels = image.config.config.Labels ?? {};
      expect(Object.keys(final.labels).sort()).toEqual(Object.keys(labels).sort());
      const buildTime = ['org.opencontainers.image.revision', 'org.opencontainers.image.created', 'io.fluxora.image.packages'];
      for (const [k, v] of Object.entries(final.labels)) if (!buildTime.includes(k)) expect(v, k).toBe(labels[k]);
    });

    it('copies into /app what the image has there', () => {
      const copied = all
        .at(-1)!
        .instructions.filter((i) => i.keyword === 'COPY')
        .map((i) => i.args.split(/\s+/).at(-1)!.replace(/^\.\//, ''))
        .sort();
      expect(copied).toEqual(readdirSync(app).sort());
    });
  });
});
