// The OCI image writer shared by every image this project builds (Fluxora,
// pause, single static binaries): layers in, one OCI image-layout tar out.
//
//   oci-layout                      {"imageLayoutVersion":"1.0.0"}
//   index.json                      one manifest, named for containerd
//   blobs/sha256/<hex>              config, manifest, gzip layers
//
// `ctr images import` (and `kind load image-archive`, which runs it) takes
// the image's name from the manifest's io.containerd.image.name annotation.
// JSON is serialized in a fixed key order and the archive is written by the
// same deterministic tar writer as the layers, so equal inputs give equal
// bytes and digests.
import { createHash } from 'node:crypto';
import { createWriteStream, mkdirSync, mkdtempSync, renameSync, rmSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { writeLayer, type LayerBlob } from './layer.js';
import { tarChunks } from './tar.js';
import { FileTree } from './tree.js';

export const MEDIA_TYPE = {
  index: 'application/vnd.oci.image.index.v1+json',
  manifest: 'application/vnd.oci.image.manifest.v1+json',
  config: 'application/vnd.oci.image.config.v1+json',
  layer: 'application/vnd.oci.image.layer.v1.tar+gzip',
} as const;

export const ANNOTATION = {
  containerdName: 'io.containerd.image.name',
  refName: 'org.opencontainers.image.ref.name',
} as const;

/** The runtime part of an image config (OCI image-spec "config" object, same capitalization). */
export interface RuntimeConfig {
  User?: string;
  WorkingDir?: string;
  Entrypoint?: string[];
  Cmd?: string[];
  Env?: string[];
  Labels?: Record<string, string>;
}

export interface ImageConfig {
  created?: string;
  architecture: 'amd64';
  os: 'linux';
  config: RuntimeConfig;
  rootfs: { type: 'layers'; diff_ids: string[] };
  history: { created?: string; created_by: string }[];
}

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  platform?: { architecture: string; os: string };
  annotations?: Record<string, string>;
}

export interface Manifest {
  schemaVersion: 2;
  mediaType: typeof MEDIA_TYPE.manifest;
  config: Descriptor;
  layers: Descriptor[];
}

export interface Index {
  schemaVersion: 2;
  mediaType: typeof MEDIA_TYPE.index;
  manifests: Descriptor[];
}

export interface LayerSpec {
  tree: FileTree;
  /** mtime of every entry, in seconds since the epoch. */
  mtime: number;
  /** Recorded in the config's history ("created_by"). */
  description: string;
}

export interface ImageSpec {
  /** Image reference, e.g. ghcr.io/fluxora/fluxora:0.1.0; short names are qualified as a container runtime would. */
  ref: string;
  layers: LayerSpec[];
  config: RuntimeConfig;
  /** RFC 3339; omitted from the config when not given (the field is optional). */
  created?: string;
}

export interface BuiltImage {
  ref: string;
  /** The manifest's digest: the image's identity in containerd and registries. */
  digest: string;
  archive: string;
  sizeBytes: number;
  uncompressedBytes: number;
  config: ImageConfig;
  layers: Omit<LayerBlob, 'path'>[];
}

/**
 * Qualifies a reference the way containerd's CRI (and Docker) do, so an
 * image imported under this name is the one a Pod's `image:` finds:
 * "coredns/coredns:1.12" is "docker.io/coredns/coredns:1.12", "pause" is
 * "docker.io/library/pause:latest"; names with a registry host stay as given.
 */
export function qualifiedRef(ref: string): { name: string; tag: string } {
  if (ref.includes('@')) throw new Error(`${ref}: a digest cannot name an image being built`);
  const slash = ref.lastIndexOf('/');
  const colon = ref.lastIndexOf(':');
  const [repo, tag] = colon > slash ? [ref.slice(0, colon), ref.slice(colon + 1)] : [ref, 'latest'];
  const first = repo.split('/')[0] ?? '';
  const hasHost = repo.includes('/') && (first.includes('.') || first.includes(':') || first === 'localhost');
  const full = hasHost ? repo : repo.includes('/') ? `docker.io/${repo}` : `docker.io/library/${repo}`;
  const path = hasHost ? repo.slice(first.length + 1) : full.slice('docker.io/'.length);
  if (!/^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$/.test(path)) throw new Error(`${ref}: not a valid repository name`);
  if (!/^[\w][\w.-]{0,127}$/.test(tag)) throw new Error(`${ref}: not a valid tag`);
  return { name: `${full}:${tag}`, tag };
}

/** Writes the image as an OCI image-layout tar at `out` (atomically: a reader never sees half an archive). */
export async function writeOciArchive(spec: ImageSpec, out: string): Promise<BuiltImage> {
  const { name, tag } = qualifiedRef(spec.ref);
  mkdirSync(dirname(out), { recursive: true });
  // Blobs are staged next to the archive (same filesystem, so renames are cheap) and removed afterwards.
  const work = mkdtempSync(join(dirname(out), `.${basename(out)}.work-`));
  try {
    const blobsDir = join(work, 'blobs');
    mkdirSync(blobsDir);
    // Layers compress concurrently: zlib runs on libuv's thread pool.
    const layers = await Promise.all(spec.layers.map((l) => writeLayer(l.tree, l.mtime, blobsDir)));

    const config: ImageConfig = {
      ...(spec.created ? { created: spec.created } : {}),
      architecture: 'amd64',
      os: 'linux',
      config: normalizedRuntimeConfig(spec.config),
      rootfs: { type: 'layers', diff_ids: layers.map((l) => l.diffId) },
      history: spec.layers.map((l) => ({ ...(spec.created ? { created: spec.created } : {}), created_by: l.description })),
    };
    const configBlob = jsonBlob(config);
    const manifest: Manifest = {
      schemaVersion: 2,
      mediaType: MEDIA_TYPE.manifest,
      config: { mediaType: MEDIA_TYPE.config, digest: configBlob.digest, size: configBlob.bytes.length },
      layers: layers.map((l) => ({ mediaType: MEDIA_TYPE.layer, digest: l.digest, size: l.size })),
    };
    const manifestBlob = jsonBlob(manifest);
    const index: Index = {
      schemaVersion: 2,
      mediaType: MEDIA_TYPE.index,
      manifests: [
        {
          mediaType: MEDIA_TYPE.manifest,
          digest: manifestBlob.digest,
          size: manifestBlob.bytes.length,
          platform: { architecture: config.architecture, os: config.os },
          annotations: { [ANNOTATION.containerdName]: name, [ANNOTATION.refName]: tag },
        },
      ],
    };

    const layout = new FileTree()
      .file('oci-layout', JSON.stringify({ imageLayoutVersion: '1.0.0' }))
      .file('index.json', JSON.stringify(index))
      .file(blobPath(configBlob.digest), configBlob.bytes)
      .file(blobPath(manifestBlob.digest), manifestBlob.bytes);
    for (const l of layers) layout.hostFile(blobPath(l.digest), l.path, { mode: 0o644 });

    const tmp = join(work, 'archive.tar');
    await pipeline(Readable.from(tarChunks(layout.entries(), 0)), createWriteStream(tmp));
    renameSync(tmp, out);
    return {
      ref: name,
      digest: manifestBlob.digest,
      archive: out,
      sizeBytes: statSync(out).size,
      uncompressedBytes: layers.reduce((n, l) => n + l.uncompressedSize, 0),
      config,
      layers: layers.map(({ path: _path, ...l }) => l),
    };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

function blobPath(digest: string): string {
  return `blobs/sha256/${digest.slice('sha256:'.length)}`;
}

function jsonBlob(value: unknown): { bytes: Buffer; digest: string } {
  const bytes = Buffer.from(JSON.stringify(value));
  return { bytes, digest: `sha256:${createHash('sha256').update(bytes).digest('hex')}` };
}

/** Drops empty fields and sorts labels, so the config's bytes do not depend on how a caller assembled it. */
function normalizedRuntimeConfig(c: RuntimeConfig): RuntimeConfig {
  const out: RuntimeConfig = {};
  if (c.User) out.User = c.User;
  if (c.Env?.length) out.Env = c.Env;
  if (c.Entrypoint?.length) out.Entrypoint = c.Entrypoint;
  if (c.Cmd?.length) out.Cmd = c.Cmd;
  if (c.WorkingDir) out.WorkingDir = c.WorkingDir;
  if (c.Labels && Object.keys(c.Labels).length > 0) {
    out.Labels = Object.fromEntries(Object.entries(c.Labels).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  }
  return out;
}
