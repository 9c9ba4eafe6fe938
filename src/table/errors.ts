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
