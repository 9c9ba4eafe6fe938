// Errors a trainer user can act on (bad data, bad configuration): the CLI
// prints the message alone and exits 1, with no stack trace to wade through.

export class TrainingError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TrainingError';
  }
}
