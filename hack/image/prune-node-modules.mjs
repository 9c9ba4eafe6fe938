// Removes from production node_modules what the image's platform never
// loads: onnxruntime-node ships its native binding for every platform
// (darwin ~86 MB, win32 ~134 MB, linux/arm64) and keeps only the one it needs
// at run time, bin/napi-v*/<platform>/<arch>.
//
// Plain JavaScript so that both image builds run the very same file: the
// Dockerfile's build stage (node, nothing else) and hack/image/ (tsx).
//
//   node hack/image/prune-node-modules.mjs <node_modules> [--keep linux/x64]
//
// --keep defaults to the platform this runs on (a Docker build stage runs on
// the image's platform). It fails when nothing is left for --keep, so a
// layout change in onnxruntime-node cannot silently produce an image
// without its binding.
import { existsSync, lstatSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import process from 'node:process';
import { parseArgs } from 'node:util';

const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: { keep: { type: 'string', default: `${process.platform}/${process.arch}` } },
});
const [nodeModules] = positionals;
if (!nodeModules || positionals.length !== 1) {
  process.stderr.write('usage: prune-node-modules.mjs <node_modules> [--keep <platform>/<arch>]\n');
  process.exit(2);
}
const [keepPlatform, keepArch] = values.keep.split('/');

const bin = join(nodeModules, 'onnxruntime-node', 'bin');
if (!existsSync(bin)) {
  process.stderr.write(`[prune] ${bin} absent: nothing to prune\n`);
  process.exit(0);
}

let freed = 0;
let kept = 0;
for (const napi of readdirSync(bin).filter((d) => d.startsWith('napi-v'))) {
  for (const platform of readdirSync(join(bin, napi))) {
    for (const arch of readdirSync(join(bin, napi, platform))) {
      const dir = join(bin, napi, platform, arch);
      if (platform === keepPlatform && arch === keepArch) {
        kept++;
        continue;
      }
      freed += sizeOf(dir);
      rmSync(dir, { recursive: true });
    }
    if (readdirSync(join(bin, napi, platform)).length === 0) rmSync(join(bin, napi, platform), { recursive: true });
  }
}
if (kept === 0) {
  process.stderr.write(`[prune] no onnxruntime-node binding for ${values.keep} under ${bin}\n`);
  process.exit(1);
}
process.stderr.write(`[prune] onnxruntime-node: kept ${values.keep}, removed ${(freed / 2 ** 20).toFixed(0)} MiB of other platforms\n`);

function sizeOf(path) {
  const st = lstatSync(path);
  if (!st.isDirectory()) return st.size;
  return readdirSync(path).reduce((n, name) => n + sizeOf(join(path, name)), 0);
}
