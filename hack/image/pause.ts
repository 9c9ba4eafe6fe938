// The pod sandbox ("pause") image the kubelet is told to use, so nothing is
// pulled: hack/image/pause.c compiled static, as localhost/fluxora-pause:1.
//
//   npx tsx hack/image/pause.ts --out <archive>
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { run } from './exec.js';
import { describe, packStaticBinary } from './static-binary.js';

const { values } = parseArgs({ options: { out: { type: 'string' } } });
if (!values.out) {
  process.stderr.write('usage: pause.ts --out <archive>\n');
  process.exit(2);
}
const work = mkdtempSync(join(tmpdir(), 'fluxora-pause-'));
try {
  const binary = join(work, 'pause');
  // -s strips symbols; the output is byte-identical from build to build with the same gcc and glibc.
  run('gcc', ['-static', '-O2', '-s', '-Wall', '-Wextra', '-Werror', '-o', binary, join(import.meta.dirname, 'pause.c')]);
  // 65535: the uid the upstream pause image runs as.
  const image = await packStaticBinary({ binary, ref: 'localhost/fluxora-pause:1', out: resolve(values.out), user: '65535' });
  process.stdout.write(describe(image));
} finally {
  rmSync(work, { recursive: true, force: true });
}
