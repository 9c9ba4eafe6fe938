// Errors a user can act on: what is wrong, with which feature, and where.
// The CLI prints `message` as is and exits 1. A data file that cannot be read
// is a TableError (src/table/).

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
