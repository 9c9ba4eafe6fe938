// The bytes of a data file (CSV or JSON Lines) to the text the table reader
// parses. Node's utf8 decoding never fails: it turns every byte it cannot
// decode into U+FFFD, so a UTF-16 export from a spreadsheet becomes a header
// full of NUL characters ("missing column tenure (it has: ��t\0e\0...)") and
// a Latin-1 file silently changes category labels. Both are refused here
// with the line to look at; so is a file larger than a JavaScript string can
// hold, which would otherwise end in a bare RangeError.
import { constants, isUtf8 } from 'node:buffer';
import { TableError } from './errors.js';

/** The largest data file read into memory: V8's string limit (~512 MiB), since the file becomes one string. */
export const MAX_TABLE_BYTES = constants.MAX_STRING_LENGTH;

const hex = (b: number) => `0x${b.toString(16).toUpperCase().padStart(2, '0')}`;

/** 1-based line of a byte offset. */
function lineAt(bytes: Uint8Array, offset: number): number {
  let line = 1;
  for (let i = 0; i < offset; i++) if (bytes[i] === 0x0a) line++;
  return line;
}

/** Offset of the first byte that does not start a valid UTF-8 sequence, or -1. */
export function firstInvalidUtf8(b: Uint8Array): number {
  let i = 0;
  while (i < b.length) {
    const c = b[i] as number;
    if (c < 0x80) {
      i++;
      continue;
    }
    // Continuation bytes after the lead byte, and the smallest code point that needs them (no overlong forms).
    let n: number;
    let min: number;
    if (c >= 0xc2 && c <= 0xdf) [n, min] = [1, 0x80];
    else if (c >= 0xe0 && c <= 0xef) [n, min] = [2, 0x800];
    else if (c >= 0xf0 && c <= 0xf4) [n, min] = [3, 0x10000];
    else return i;
    if (i + n >= b.length) return i;
    let cp = c & (0x3f >> n);
    for (let k = 1; k <= n; k++) {
      const d = b[i + k] as number;
      if ((d & 0xc0) !== 0x80) return i;
      cp = (cp << 6) | (d & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return i;
    i += n + 1;
  }
  return -1;
}

/** The error for a data file over MAX_TABLE_BYTES; `size` in bytes, or "more than N" when only a bound is known. */
export const tableTooLarge = (file: string, size: number | string) =>
  new TableError(`${file}: the file is ${size} bytes; data files of at most ${MAX_TABLE_BYTES} bytes can be read`, file);

/** Refuses a file too large to read before reading it; `size` from a stat or a Content-Length. */
export function checkTableSize(file: string, size: number): void {
  if (size > MAX_TABLE_BYTES) throw tableTooLarge(file, size);
}

/** The text of a data file; throws TableError naming the line when the bytes are not UTF-8 text. */
export function decodeTableText(bytes: Uint8Array, file: string): string {
  checkTableSize(file, bytes.length);
  if (bytes.length >= 2 && ((bytes[0] === 0xff && bytes[1] === 0xfe) || (bytes[0] === 0xfe && bytes[1] === 0xff))) {
    throw new TableError(
      `${file}: the file is UTF-16 (it starts with the byte order mark ${hex(bytes[0])} ${hex(bytes[1])}); save it as UTF-8`,
      file,
      1,
    );
  }
  const nul = bytes.indexOf(0);
  if (nul >= 0) {
    const line = lineAt(bytes, nul);
    throw new TableError(`${file}:${line}: a NUL byte at offset ${nul}: the file is binary or UTF-16, not UTF-8 text`, file, line);
  }
  if (!isUtf8(bytes)) {
    const at = firstInvalidUtf8(bytes);
    const line = at >= 0 ? lineAt(bytes, at) : undefined;
    const where = at >= 0 ? `:${line}: byte ${hex(bytes[at] as number)} at offset ${at} is` : ': the file is';
    throw new TableError(`${file}${where} not valid UTF-8 (Latin-1 or another legacy encoding?); save the file as UTF-8`, file, line);
  }
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8');
}
