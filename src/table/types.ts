// Types of the table reader. A column is numeric (Float64Array, NaN for a
// missing cell) or categorical (string labels, null for a missing cell).

export type ColumnType = 'numeric' | 'categorical';

export type TableColumn = Float64Array | readonly (string | null)[];
