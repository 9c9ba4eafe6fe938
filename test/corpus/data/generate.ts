// Bad data files that are binary, huge, or in another encoding: generated
// into a directory at test time instead of committed (git would show them as
// opaque blobs, and two of them are larger than a repository should carry).
// The small text files beside this one are committed as they are.
import { createWriteStream } from 'node:fs';
import { open, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import { createGzip, constants as zlib } from 'node:zlib';
import { MAX_TABLE_BYTES } from '../../../src/table/text.js';
import { MAX_ROW_CHARS } from '../../../src/table/csv.js';

const HEADER = 'tenure,spend,plan\n';

/** Every generated file by name; each writes itself into `dir`. */
export const GENERATED: Record<string, (path: string) => Promise<void>> = {
  // A spreadsheet's "Unicode text" export: UTF-16 little endian with a byte order mark.
  '21-utf16-bom.csv': (path) => writeFile(path, Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(`${HEADER}1,20.5,basic\n`, 'utf16le')])),
  // The same without the mark: ASCII text with a NUL after every character.
  '22-utf16-no-bom.csv': (path) => writeFile(path, Buffer.from(`${HEADER}1,20.5,basic\n`, 'utf16le')),
  // Latin-1 ("café" with é as the single byte 0xE9) on line 3.
  '23-latin1.csv': (path) => writeFile(path, Buffer.concat([Buffer.from(`${HEADER}1,20.5,basic\n2,31.0,caf`), Buffer.from([0xe9]), Buffer.from('\n')])),
  // Random bytes (a fixed pattern, so the failure is the same every run) under a .csv name.
  '24-random-bytes.csv': (path) => writeFile(path, Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 2654435761) >>> 24))),
  // One row on line 3 longer than a row may be: a category label of MAX_ROW_CHARS + 1 characters.
  '25-huge-line.csv': (path) => writeFile(path, `${HEADER}1,20.5,basic\n2,31.0,${'x'.repeat(MAX_ROW_CHARS + 1)}\n`),
  '26-huge-line.jsonl': (path) => writeFile(path, `{"tenure":1,"spend":20.5,"plan":"basic"}\n{"tenure":2,"spend":31,"plan":"${'x'.repeat(MAX_ROW_CHARS)}"}\n`),
  // A file larger than one JavaScript string can hold; sparse, so it costs no disk and no time to write.
  '27-larger-than-a-string.csv': async (path) => {
    const f = await open(path, 'w');
    try {
      await f.write(HEADER);
      await f.truncate(MAX_TABLE_BYTES + 1);
    } finally {
      await f.close();
    }
  },
  // A small .gz that inflates past the same limit: zeros compress about 1000:1.
  '28-gzip-bomb.csv.gz': async (path) => {
    const chunk = Buffer.alloc(16 << 20);
    const chunks = Math.ceil((MAX_TABLE_BYTES + 1) / chunk.length);
    const source = Readable.from((function* () {
      yield Buffer.from(HEADER);
      for (let i = 0; i < chunks; i++) yield chunk;
    })());
    await pipeline(source, createGzip({ level: zlib.Z_BEST_SPEED }), createWriteStream(path));
  },
};

/** Writes every generated file into `dir`; returns their paths by name. */
export async function generateBadDataFiles(dir: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const [name, write] of Object.entries(GENERATED)) {
    const path = join(dir, name);
    await write(path);
    out.set(name, path);
  }
  return out;
}
