// Errors a trainer user can act on (bad data, bad configuration): the CLI
// prints the message alone and exits EXIT_BAD_INPUT (3, see exit-codes.ts),
// with no stack trace to wade through.

export class TrainingError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TrainingError';
  }
}
