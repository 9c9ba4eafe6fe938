// Bad model artifacts and what `fluxora serve` says about each. Nothing here
// is a committed binary: every artifact is made at test time from the real
// fixture (test/fixtures/models/linear.onnx), a fixed byte pattern, or a
// location that fails in a known way (a closed port, an HTTP status, an S3
// object or credentials that are wrong).
//
// Run by test/unit/corpus-artifacts.test.ts (files and http) and
// test/integration/corpus-artifacts-s3.test.ts (a real MinIO).
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { fixturePath } from '../../fixtures/models/generate.js';

/** What a case may use to build its artifact. */
export interface ArtifactContext {
  /** A scratch directory of this run. */
  dir: string;
  /** Base URL of a local HTTP server that answers /status/<code>/..., /bytes/<name> and /html. */
  httpBase: string;
  /** A loopback port nothing listens on. */
  closedPort: number;
  /** S3 through a real MinIO (only for cases with `store: 's3'`). */
  s3?: S3Context;
}

export interface S3Context {
  bucket: string;
  /** Uploads bytes under a key; returns the s3:// URI. */
  put(key: string, bytes: Uint8Array): Promise<string>;
  /** The environment a serving pod gets from a correct credentials Secret. */
  env: Record<string, string>;
}

/** How `fluxora serve` is pointed at the artifact. */
export interface ArtifactSetup {
  uri: string;
  sha256?: string;
  env?: Record<string, string>;
  /** The Model's spec.features (--features); the harness's own when unset. */
  features?: { name: string; type: 'numeric' | 'categorical' }[];
}

export interface ArtifactCase {
  name: string;
  /** file: local files and a local HTTP server; s3: needs MinIO. */
  store: 'local' | 's3';
  setup(ctx: ArtifactContext): Promise<ArtifactSetup>;
  /** The reason `fluxora serve` logs (a storage error code, or InvalidModel). */
  reason: string;
  /** The logged error, with {uri} standing for the artifact URI. */
  error: string;
}

export const fixtureBytes = () => readFile(fixturePath('linear.onnx'));
const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
const FIXTURE = readFileSync(fixturePath('linear.onnx'));

/** What the local HTTP server answers on /html: a page a proxy or a login wall sends instead of the file. */
export const LOGIN_PAGE = '<!doctype html><html><body><form>Sign in to continue</form></body></html>\n';

async function file(ctx: ArtifactContext, name: string, bytes: Uint8Array | string): Promise<ArtifactSetup> {
  const path = join(ctx.dir, name);
  await writeFile(path, bytes);
  return { uri: pathToFileURL(path).href };
}

/** 4 KiB of a fixed pseudo-random pattern (Knuth's multiplicative hash), the same every run. */
const noise = () => Buffer.from(Array.from({ length: 4096 }, (_, i) => ((i + 1) * 2654435761) >>> 24));

const NOT_ONNX = (bytes: number) =>
  `{uri} is not a valid ONNX model (${bytes} bytes; truncated, or another kind of file?): onnxruntime: Failed to load model because protobuf parsing failed.`;

export const ARTIFACT_CASES: ArtifactCase[] = [
  {
    // A valid artifact whose Model names 2 features: the model has one 2-D input "x" of 3 columns.
    name: 'Model features that fit neither the inputs nor the columns',
    store: 'local',
    setup: async (ctx) => ({
      ...(await file(ctx, 'features.onnx', FIXTURE)),
      features: [{ name: 'tenure', type: 'numeric' }, { name: 'plan', type: 'categorical' }],
    }),
    reason: 'FeatureMismatch',
    error:
      "the Model's spec.features do not fit {uri}: the 2 features (tenure, plan) match neither the columns of a single 2-D input nor the input names (x)",
  },
  {
    name: 'random bytes',
    store: 'local',
    setup: (ctx) => file(ctx, 'random.onnx', noise()),
    reason: 'InvalidModel',
    error: NOT_ONNX(4096),
  },
  {
    name: 'a text file',
    store: 'local',
    setup: (ctx) => file(ctx, 'readme.onnx', 'This is where the model will go.\n'),
    reason: 'InvalidModel',
    error: NOT_ONNX(33),
  },
  {
    name: 'an empty file',
    store: 'local',
    setup: (ctx) => file(ctx, 'empty.onnx', ''),
    reason: 'InvalidModel',
    error: '{uri} is empty (0 bytes), not an ONNX model',
  },
  {
    name: 'the first 100 bytes of a real model',
    store: 'local',
    setup: async (ctx) => file(ctx, 'truncated.onnx', (await fixtureBytes()).subarray(0, 100)),
    reason: 'InvalidModel',
    error: NOT_ONNX(100),
  },
  {
    name: 'a real model missing its last 10 bytes',
    store: 'local',
    setup: async (ctx) => {
      const bytes = await fixtureBytes();
      return file(ctx, 'short.onnx', bytes.subarray(0, bytes.length - 10));
    },
    reason: 'InvalidModel',
    error: NOT_ONNX(FIXTURE.length - 10),
  },
  {
    // onnxruntime's own message for this one starts with a C++ source location, which is left out.
    name: 'a real model cut off before its opset import',
    store: 'local',
    setup: async (ctx) => file(ctx, 'no-opset.onnx', (await fixtureBytes()).subarray(0, 200)),
    reason: 'InvalidModel',
    error:
      '{uri} is not a valid ONNX model (200 bytes; truncated, or another kind of file?): onnxruntime: Missing opset in the model. ' +
      'All ModelProtos MUST have at least one entry that specifies which version of the ONNX OperatorSet is being imported.',
  },
  {
    name: 'a real model pinned to another sha256',
    store: 'local',
    setup: async (ctx) => ({ ...(await file(ctx, 'pinned.onnx', await fixtureBytes())), sha256: sha256(Buffer.from('another model')) }),
    reason: 'ChecksumMismatch',
    error: `{uri}: sha256 mismatch: expected ${sha256(Buffer.from('another model'))}, got ${sha256(FIXTURE)}; the object changed or the pinned sha256 is wrong`,
  },
  {
    name: 'a file that does not exist',
    store: 'local',
    setup: async (ctx) => ({ uri: pathToFileURL(join(ctx.dir, 'missing', 'model.onnx')).href }),
    reason: 'NotFound',
    error: '{uri} does not exist',
  },
  {
    name: 'a directory',
    store: 'local',
    setup: async (ctx) => {
      await mkdir(join(ctx.dir, 'model.onnx.d'), { recursive: true });
      return { uri: pathToFileURL(join(ctx.dir, 'model.onnx.d')).href };
    },
    reason: 'NotFound',
    error: '{uri} is a directory, not a file',
  },
  {
    name: 'a URI that names a prefix',
    store: 'local',
    setup: async (ctx) => ({ uri: `${pathToFileURL(ctx.dir).href}/` }),
    reason: 'InvalidUri',
    error: 'invalid storage URI "{uri}": it names a prefix (a directory), not an object',
  },
  {
    name: 'http: connection refused',
    store: 'local',
    setup: async (ctx) => ({ uri: `http://127.0.0.1:${ctx.closedPort}/model.onnx` }),
    reason: 'Unreachable',
    error: '{uri}: cannot reach the server (ECONNREFUSED)',
  },
  {
    name: 'http: 404',
    store: 'local',
    setup: async (ctx) => ({ uri: `${ctx.httpBase}/status/404/model.onnx` }),
    reason: 'NotFound',
    error: '{uri} does not exist (HTTP 404 Not Found)',
  },
  {
    name: 'http: 403',
    store: 'local',
    setup: async (ctx) => ({ uri: `${ctx.httpBase}/status/403/model.onnx` }),
    reason: 'AccessDenied',
    error: '{uri}: HTTP 403 Forbidden; the server wants credentials, or a signed URL has expired',
  },
  {
    name: 'http: 503 on every attempt',
    store: 'local',
    setup: async (ctx) => ({ uri: `${ctx.httpBase}/status/503/model.onnx` }),
    reason: 'Unreachable',
    error: '{uri}: HTTP 503 Service Unavailable',
  },
  {
    name: 'http: a login page instead of the model',
    store: 'local',
    setup: async (ctx) => ({ uri: `${ctx.httpBase}/html` }),
    reason: 'InvalidModel',
    error: NOT_ONNX(Buffer.byteLength(LOGIN_PAGE)),
  },
  {
    name: 's3: wrong credentials',
    store: 's3',
    setup: async (ctx) => {
      const s3 = ctx.s3!;
      const uri = await s3.put('good/model.onnx', await fixtureBytes());
      return { uri, env: { ...s3.env, AWS_SECRET_ACCESS_KEY: 'not-the-secret' } };
    },
    reason: 'AccessDenied',
    error: '{uri}: the S3 store rejects the credentials (SignatureDoesNotMatch); check the credentials Secret (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY)',
  },
  {
    name: 's3: an unknown access key',
    store: 's3',
    setup: async (ctx) => {
      const s3 = ctx.s3!;
      const uri = await s3.put('good/model.onnx', await fixtureBytes());
      return { uri, env: { ...s3.env, AWS_ACCESS_KEY_ID: 'nobody' } };
    },
    reason: 'AccessDenied',
    error: '{uri}: the S3 store rejects the credentials (InvalidAccessKeyId); check the credentials Secret (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY)',
  },
  {
    name: 's3: a key that does not exist',
    store: 's3',
    setup: async (ctx) => ({ uri: `s3://${ctx.s3!.bucket}/missing/model.onnx`, env: ctx.s3!.env }),
    reason: 'NotFound',
    error: '{uri} does not exist',
  },
  {
    name: 's3: a bucket that does not exist',
    store: 's3',
    setup: async (ctx) => ({ uri: 's3://fluxora-corpus-no-such-bucket/model.onnx', env: ctx.s3!.env }),
    reason: 'NotFound',
    error: '{uri}: bucket "fluxora-corpus-no-such-bucket" does not exist',
  },
  {
    name: 's3: a truncated upload',
    store: 's3',
    setup: async (ctx) => {
      const s3 = ctx.s3!;
      return { uri: await s3.put('truncated/model.onnx', (await fixtureBytes()).subarray(0, 100)), env: s3.env };
    },
    reason: 'InvalidModel',
    error: NOT_ONNX(100),
  },
];
