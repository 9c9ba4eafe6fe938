// Errors a user can act on: what is wrong, with which feature or file, and
// where. The CLI prints `message` as is and exits 1.

export type DriftInputErrorCode = 'MissingColumn' | 'EmptySample' | 'InvalidSpec' | 'WrongColumnType';

export class DriftInputError extends Error {
  constructor(
    readonly code: DriftInputErrorCode,
    message: string,
    readonly feature?: string,
  ) {
    super(message);
    this.name = 'DriftInputError';
  }
}

/** A data file that cannot be read as a table; line and column point at the culprit when known. */
export class TableError extends Error {
  constructor(
    message: string,
    readonly file: string,
    readonly line?: number,
    readonly column?: string,
  ) {
    super(message);
    this.name = 'TableError';
  }
}
