// The serving pod's promotion endpoint as the operator uses it (PUT a
// PromotionConfig, GET the figures), for `bench:serve --only mirror`; and a
// compiled CLI of another git ref, to measure a change against its base in
// the same run.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { LATENCY_BUCKETS_MS, promotionPath, type PodFigures, type PromotionConfig } from '../../src/promotion/figures.js';

export async function putPromotion(adminPort: number, model: string, token: string, config: PromotionConfig): Promise<void> {
  const res = await fetch(`http://127.0.0.1:${adminPort}${promotionPath(model)}`, {
    method: 'PUT',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify(config),
  });
  if (!res.ok) throw new Error(`PUT ${promotionPath(model)}: HTTP ${res.status}: ${await res.text()}`);
}

export async function getPromotion(adminPort: number, model: string, token: string): Promise<PodFigures> {
  const res = await fetch(`http://127.0.0.1:${adminPort}${promotionPath(model)}`, { headers: { authorization: `Bearer ${token}` } });
  if (!res.ok) throw new Error(`GET ${promotionPath(model)}: HTTP ${res.status}: ${await res.text()}`);
  return (await res.json()) as PodFigures;
}

/** The upper bound (ms) of the bucket holding quantile q of a LATENCY_BUCKETS_MS histogram; Infinity past the last bound. */
export function bucketQuantile(buckets: readonly number[], q: number): number {
  const total = buckets.reduce((a, b) => a + b, 0);
  if (total === 0) return NaN;
  let seen = 0;
  for (let i = 0; i < buckets.length; i++) {
    seen += buckets[i] ?? 0;
    if (seen >= q * total) return LATENCY_BUCKETS_MS[i] ?? Infinity;
  }
  return Infinity;
}

/**
 * Compiles the CLI of git ref `ref` of the repository at `root` into
 * `<root>/.cache/bench-serve/base-<ref>` (sources from `git archive`, so the
 * work tree is not touched; dependencies resolve from the repository's
 * node_modules) and returns its main.js.
 */
export function compileRef(root: string, ref: string): string {
  const dir = join(root, '.cache', 'bench-serve', `base-${ref.replace(/[^A-Za-z0-9_.-]/g, '_')}`);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(join(dir, 'src'), { recursive: true });
  const tar = execFileSync('git', ['-C', root, 'archive', ref, 'src', 'tsconfig.json', 'tsconfig.build.json', 'package.json'], { maxBuffer: 256 * 1024 * 1024 });
  execFileSync('tar', ['-x', '-C', join(dir, 'src')], { input: tar });
  symlinkSync(join(root, 'node_modules'), join(dir, 'src', 'node_modules'));
  const out = join(dir, 'dist');
  const r = spawnSync(process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(dir, 'src', 'tsconfig.build.json'), '--outDir', out, '--declaration', 'false', '--sourceMap', 'false'], {
    cwd: join(dir, 'src'),
    encoding: 'utf8',
  });
  const main = join(out, 'cli', 'main.js');
  if (!existsSync(main)) throw new Error(`compiling ${ref} produced no ${main}:\n${r.stdout}${r.stderr}`);
  // The server reads its version from the package.json beside dist/.
  execFileSync('cp', [join(dir, 'src', 'package.json'), join(dir, 'package.json')]);
  return main;
}
