// Writing CSV that parseCsv (and pandas, DuckDB, spreadsheets) reads back
// cell for cell: RFC 4180 quoting, LF line ends, and numbers in JavaScript's
// shortest round-trip form, so the same values always give the same bytes.

/** A text cell: quoted when it holds a comma, a quote, a line break or leading/trailing space (which readers may trim). */
export function csvText(value: string): string {
  return /[",\r\n]|^\s|\s$/.test(value) ? `"${value.replaceAll('"', '""')}"` : value;
}

/** A number cell: empty for a missing value (NaN), which every reader takes as missing. */
export const csvNumber = (value: number): string => (Number.isNaN(value) ? '' : String(value));

/** One record, with its line end. */
export const csvRecord = (cells: readonly string[]): string => `${cells.join(',')}\n`;
