// The prediction log as data: reading a window of what `fluxora serve` logged,
// turning requests into rows, reading ground-truth labels and joining them.
// Shared by the drift check (current data, prediction drift, performance) and
// the training-window builder.
export {
  firstTimeOfObject,
  hourPartitions,
  MAX_REPORTED_PROBLEMS,
  modelLogPrefix,
  parseLogLine,
  ProblemList,
  readLogWindow,
  rowsOfRecord,
  type LoggedRecord,
  type LoggedTensor,
  type LogProblem,
  type LogWindow,
  type ReadLogWindowOptions,
} from './log-reader.js';
export { rowId, toRowTable, type Column, type FeatureSpec, type OutputSelector, type RowTable, type RowTableOptions } from './rows.js';
export { readLabels, type LabelSet, type LabelValue, type ReadLabelsOptions } from './labels.js';
export { joinLabels, type JoinResult } from './join.js';
