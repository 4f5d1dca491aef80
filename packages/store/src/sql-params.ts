/**
 * Collects positional parameters while a WHERE clause is assembled from parts, so that values only
 * ever reach PostgreSQL as `$n` parameters and never through string concatenation.
 */
export class SqlParams {
  readonly values: unknown[] = [];

  /** Adds a value and returns its placeholder, e.g. `$3`. */
  add(value: unknown): string {
    this.values.push(value);
    return `$${this.values.length}`;
  }
}
