// Reading tabular data files (CSV and JSON Lines, optionally gzipped) into
// typed columns: shared by the drift engine, the trainer and the prediction
// log, so one file reads the same way everywhere.
export { TableError } from './errors.js';
export { parseCsv, MAX_ROW_CHARS, rowTooLong, type RecordSink } from './csv.js';
export { csvNumber, csvRecord, csvText } from './csv-format.js';
export {
  readTable,
  parseTable,
  parseNumberCell,
  formatFromName,
  localPath,
  type TableFormat,
  type ReadTableOptions,
  type LoadedTable,
} from './table.js';
export { decodeTableText, checkTableSize, tableTooLarge, firstInvalidUtf8, MAX_TABLE_BYTES } from './text.js';
export type { ColumnType, TableColumn } from './types.js';
