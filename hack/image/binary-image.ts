// Packs one static binary as an OCI image archive for `ctr images import`:
//
//   npx tsx hack/image/binary-image.ts --binary <path> --ref <ref> --out <archive> [--user 65532]
//
// The entrypoint is /<basename of --binary>. A short --ref such as
// coredns/coredns:1.12.0 is stored fully qualified
// (docker.io/coredns/coredns:1.12.0), the name a Pod's `image:` resolves to.
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { describe, packStaticBinary } from './static-binary.js';

const { values } = parseArgs({
  options: {
    binary: { type: 'string' },
    ref: { type: 'string' },
    out: { type: 'string' },
    user: { type: 'string', default: '65532' },
  },
});
if (!values.binary || !values.ref || !values.out) {
  process.stderr.write('usage: binary-image.ts --binary <path> --ref <ref> --out <archive> [--user 65532]\n');
  process.exit(2);
}
try {
  const image = await packStaticBinary({ binary: resolve(values.binary), ref: values.ref, out: resolve(values.out), user: values.user });
  process.stdout.write(describe(image));
} catch (err) {
  process.stderr.write(`binary-image: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
}
