/**
 * The one error type for data that cannot be read or does not fit its schema. The message says what is wrong and
 * where (line, row, column), so it can go straight back to the user who uploaded the file; callers treat it as a
 * non-retryable failure, since reading the same bytes again gives the same answer.
 */
export class DataReadError extends Error {
  /** every individual problem when there is more than one (the message joins them) */
  readonly problems: string[];

  constructor(message: string, problems: string[] = [message]) {
    super(message);
    this.name = 'DataReadError';
    this.problems = problems;
  }
}
