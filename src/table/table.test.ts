// CSV (RFC 4180) and JSON Lines into typed columns, and the errors a user
// sees for bad files.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { parseCsv } from './csv.js';
import { csvNumber, csvRecord, csvText } from './csv-format.js';
import { TableError } from './errors.js';
import { formatFromName, parseNumberCell, parseTable, readTable } from './table.js';

function records(text: string): [string[], number][] {
  const out: [string[], number][] = [];
  parseCsv(text, 'f.csv', (fields, line) => out.push([fields, line]));
  return out;
}

function tableError(fn: () => unknown): TableError {
  try {
    fn();
  } catch (err) {
    if (err instanceof TableError) return err;
    throw err;
  }
  throw new Error('expected a TableError');
}

describe('CSV tokenizer', () => {
  it('handles quotes, doubled quotes, commas and line breaks inside quotes, CRLF, BOM and blank lines', () => {
    const text = '\ufeffa,b\r\n"x, y","say ""hi"""\r\n\r\n"multi\nline",2\n3,\n';
    expect(records(text)).toEqual([
      [['a', 'b'], 1],
      [['x, y', 'say "hi"'], 2],
      [['multi\nline', '2'], 4],
      [['3', ''], 6],
    ]);
  });

  it('ends without a final line break and keeps empty fields', () => {
    expect(records('a,,c\n,,')).toEqual([
      [['a', '', 'c'], 1],
      [['', '', ''], 2],
    ]);
  });

  it('names the line of an unclosed quote or stray text after a closing quote', () => {
    expect(tableError(() => records('a\n"open\n')).message).toBe('f.csv:2: quoted field is never closed');
    expect(tableError(() => records('a\n"x"y\n')).message).toBe('f.csv:2: unexpected character after a closing quote');
  });
});

describe('CSV writing', () => {
  it('reads back cell for cell: quotes, commas, line breaks, edge spaces, missing numbers and extremes', () => {
    const texts = ['plain', 'a,b', 'say "hi"', 'multi\nline', ' padded ', '', 'crlf\r\n'];
    const numbers = [0, -1.5, 1e-300, Number.MAX_VALUE, Infinity, -Infinity, NaN, 0.1 + 0.2];
    const text = csvRecord(['t', 'n']) + texts.map((t, i) => csvRecord([csvText(t), csvNumber(numbers[i]!)])).join('');
    expect(records(text).slice(1).map(([f]) => f[0])).toEqual(texts);
    const table = parseTable(text, 'w.csv', 'csv', { types: new Map([['n', 'numeric'], ['t', 'categorical']]) });
    expect([...(table.columns.get('n') as Float64Array)]).toEqual(numbers.slice(0, texts.length));
    expect(csvText('plain')).toBe('plain');
    expect(csvNumber(NaN)).toBe('');
  });
});

describe('parseTable', () => {
  it('infers numeric and categorical columns; pandas missing markers and ±inf are understood', () => {
    const t = parseTable('n,c,m\n1.5,x,NA\n-2e3,y,\n inf ,NA,3\n', 'd.csv', 'csv');
    expect(t.types).toEqual(new Map([['n', 'numeric'], ['c', 'categorical'], ['m', 'numeric']]));
    expect([...(t.columns.get('n') as Float64Array)]).toEqual([1.5, -2000, Infinity]);
    expect(t.columns.get('c')).toEqual(['x', 'y', null]);
    expect([...(t.columns.get('m') as Float64Array)]).toEqual([NaN, NaN, 3]);
    expect(t.rows).toBe(3);
    expect(t.names).toEqual(['n', 'c', 'm']);
  });

  it('reads only the requested columns and reports missing ones with what the file has', () => {
    const t = parseTable('a,b,c\n1,2,3\n', 'd.csv', 'csv', { columns: ['c'] });
    expect([...t.columns.keys()]).toEqual(['c']);
    const err = tableError(() => parseTable('a,b\n1,2\n', 'd.csv', 'csv', { columns: ['a', 'z'] }));
    expect(err.message).toBe('d.csv: missing column "z" (it has: a, b)');
    expect(err.column).toBe('z');
  });

  it('names file, line and column of a non-numeric value in a declared numeric column', () => {
    const err = tableError(() =>
      parseTable('a,b\n1,x\n"2\n",y\n0x10,z\n', 'd.csv', 'csv', { types: new Map([['a', 'numeric']]) }),
    );
    expect(err.message).toBe('d.csv:5: column "a": "0x10" is not a number, and "a" is a numeric feature');
    expect([err.file, err.line, err.column]).toEqual(['d.csv', 5, 'a']);
  });

  it('refuses rows whose field count differs from the header, and duplicate header names', () => {
    expect(tableError(() => parseTable('a,b\n1,2\n3\n', 'd.csv', 'csv')).message).toBe(
      'd.csv:3: expected 2 fields (as in the header), found 1',
    );
    expect(tableError(() => parseTable('a,a\n1,2\n', 'd.csv', 'csv')).message).toContain('column "a" appears twice');
    expect(tableError(() => parseTable('', 'd.csv', 'csv')).message).toBe('d.csv: empty file (no header line)');
  });

  it('reads JSON Lines: JSON types decide inference, absent keys are missing, labels become strings', () => {
    const text = '{"x":1,"k":"a"}\n\n{"x":null,"k":2,"extra":true}\n{"k":false}\n';
    const t = parseTable(text, 'd.jsonl', 'jsonl');
    expect(t.names).toEqual(['x', 'k', 'extra']);
    expect(t.types.get('x')).toBe('numeric');
    expect([...(t.columns.get('x') as Float64Array)]).toEqual([1, NaN, NaN]);
    expect(t.columns.get('k')).toEqual(['a', '2', 'false']);
    const numericStrings = parseTable('{"x":"1.5"}\n', 'd.jsonl', 'jsonl', { types: new Map([['x', 'numeric']]) });
    expect([...(numericStrings.columns.get('x') as Float64Array)]).toEqual([1.5]);
  });

  it('names the line of bad JSON Lines', () => {
    expect(tableError(() => parseTable('{"x":1}\n{"x":\n', 'd.jsonl', 'jsonl')).message).toMatch(/^d\.jsonl:2: not valid JSON/);
    expect(tableError(() => parseTable('[1]\n', 'd.jsonl', 'jsonl')).message).toBe('d.jsonl:1: each line must be a JSON object');
    expect(
      tableError(() => parseTable('{"x":{"a":1}}\n', 'd.jsonl', 'jsonl', { types: new Map([['x', 'categorical']]) })).message,
    ).toBe('d.jsonl:1: column "x": {"a":1} cannot be a category label');
  });
});

describe('cells and files', () => {
  it('parses decimal numbers strictly', () => {
    expect(['1', '-1.5', '.5', '5.', '1e-3', ' 7 ', '+2'].map(parseNumberCell)).toEqual([1, -1.5, 0.5, 5, 0.001, 7, 2]);
    expect(['0x10', '1,5', 'abc', '1e', '--1'].map(parseNumberCell)).toEqual([undefined, undefined, undefined, undefined, undefined]);
    expect(parseNumberCell('-Infinity')).toBe(-Infinity);
    expect(parseNumberCell('NaN')).toBeNaN();
  });

  it('tells the format from the name', () => {
    expect(['a.csv', 'a.CSV.gz', 'a.jsonl', 'a.ndjson', 'a.json', 'a.parquet'].map(formatFromName)).toEqual([
      'csv',
      'csv',
      'jsonl',
      'jsonl',
      'jsonl',
      undefined,
    ]);
  });

  it('reads paths, file:// URIs and gzipped files; refuses other schemes and unreadable files', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fluxora-table-'));
    try {
      writeFileSync(join(dir, 'a.csv.gz'), gzipSync('v\n1\n2\n'));
      writeFileSync(join(dir, 'data.txt'), 'v\n1\n');
      const t = await readTable(`file://${join(dir, 'a.csv.gz')}`);
      expect([...(t.columns.get('v') as Float64Array)]).toEqual([1, 2]);
      expect((await readTable(join(dir, 'data.txt'), { format: 'csv' })).rows).toBe(1);
      await expect(readTable(join(dir, 'data.txt'))).rejects.toThrow('cannot tell CSV from JSON Lines');
      await expect(readTable(join(dir, 'missing.csv'))).rejects.toThrow('missing.csv: cannot read (no such file)');
      await expect(readTable('s3://bucket/a.csv')).rejects.toThrow('only local paths and file:// URIs');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
