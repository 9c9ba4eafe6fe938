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
      i += c === CR && text.charCodeAt(i + 1) === LF ? 2 : 1;
      line++;
      break;
    }
    onRecord(fields, recordLine);
  }
}
