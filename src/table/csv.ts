// An RFC 4180 CSV tokenizer: comma-separated fields, double-quoted fields
// that may hold commas, line breaks and doubled quotes, CRLF or LF line ends.
// It hands each record to a callback with the line it starts on, so errors
// further up can name the line. Blank lines are skipped, as pandas does.
import { TableError } from './errors.js';

const QUOTE = 34; // "
const COMMA = 44; // ,
const LF = 10;
const CR = 13;

export type RecordSink = (fields: string[], line: number) => void;

/**
 * Longest row (a record, in characters) a data file may have. Rows of
 * tabular data are short; a row of megabytes is a file that is not what its
 * name says (a dump, a missing line break), better named than parsed.
 */
export const MAX_ROW_CHARS = 1 << 20;

/** The error for a row longer than MAX_ROW_CHARS, shared by the CSV and JSON Lines readers. */
export const rowTooLong = (file: string, line: number, chars: number) =>
  new TableError(`${file}:${line}: the row is ${chars} characters long; rows of at most ${MAX_ROW_CHARS} characters can be read`, file, line);

export function parseCsv(text: string, file: string, onRecord: RecordSink): void {
  let i = text.charCodeAt(0) === 0xfeff ? 1 : 0; // UTF-8 byte order mark
  const len = text.length;
  let line = 1;
  while (i < len) {
    // Skip blank lines.
    const c0 = text.charCodeAt(i);
    if (c0 === LF || c0 === CR) {
      i += c0 === CR && text.charCodeAt(i + 1) === LF ? 2 : 1;
      line++;
      continue;
    }
    const recordLine = line;
    const recordStart = i;
    let recordEnd = len;
    const fields: string[] = [];
    for (;;) {
      if (text.charCodeAt(i) === QUOTE) {
        // Quoted field: runs to the next quote not followed by another quote.
        let value = '';
        let start = i + 1;
        for (;;) {
          const q = text.indexOf('"', start);
          if (q < 0) throw new TableError(`${file}:${recordLine}: quoted field is never closed`, file, recordLine);
          value += text.slice(start, q);
          if (text.charCodeAt(q + 1) === QUOTE) {
            value += '"';
            start = q + 2;
            continue;
          }
          i = q + 1;
          break;
        }
        // Line breaks inside the quotes still advance the line count.
        for (let k = value.indexOf('\n'); k >= 0; k = value.indexOf('\n', k + 1)) line++;
        fields.push(value);
        const c = text.charCodeAt(i);
        if (i < len && c !== COMMA && c !== LF && c !== CR) {
          throw new TableError(`${file}:${line}: unexpected character after a closing quote`, file, line);
        }
      } else {
        let j = i;
        while (j < len) {
          const c = text.charCodeAt(j);
          if (c === COMMA || c === LF || c === CR) break;
          j++;
        }
        fields.push(text.slice(i, j));
        i = j;
      }
      if (i >= len) break;
      const c = text.charCodeAt(i);
      if (c === COMMA) {
        i++;
        continue;
      }
      // End of record: LF, CRLF or a lone CR.
      recordEnd = i;
      i += c === CR && text.charCodeAt(i + 1) === LF ? 2 : 1;
      line++;
      break;
    }
    if (recordEnd - recordStart > MAX_ROW_CHARS) throw rowTooLong(file, recordLine, recordEnd - recordStart);
    onRecord(fields, recordLine);
  }
}
