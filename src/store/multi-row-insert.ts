import type BetterSqlite3 from 'better-sqlite3'

/** Rows per statement, largest first; the tail of a batch takes the smaller ones. */
const CHUNKS = [32, 8, 1] as const

/**
 * One INSERT that takes many rows per statement: `INSERT ... VALUES (?, ?), (?, ?), ...`.
 * A statement call costs about as much as the row it inserts (binding, stepping, the
 * result object), so rows are buffered and sent 32 at a time: about half the CPU per row
 * of one call each (bench:pipeline; docs/benchmarks.md). The caller learns how many rows
 * were inserted, not which: a row the table already holds (INSERT OR IGNORE) only lowers
 * the count. Use it inside a transaction, and `flush()` before it commits.
 */
export class MultiRowInsert {
  private readonly statements: ReadonlyMap<number, BetterSqlite3.Statement<unknown[]>>
  private readonly args: unknown[] = []
  private readonly width: number
  private inserted = 0

  /**
   * `head`: `INSERT ... (a, b) VALUES`; `columns`: values per row; `tail`: what follows
   * the rows (an ON CONFLICT clause), or ''.
   */
  constructor(db: BetterSqlite3.Database, head: string, columns: number, tail = '') {
    // add() takes its values as arguments (no array per row): two to four of them.
    if (columns < 2 || columns > 4)
      throw new RangeError(`MultiRowInsert: ${columns} columns, not 2-4`)
    this.width = columns
    const tuple = `(${Array.from({ length: columns }, () => '?').join(', ')})`
    this.statements = new Map(
      CHUNKS.map((n) => [
        n,
        db.prepare<unknown[]>(
          `${head} ${Array.from({ length: n }, () => tuple).join(', ')} ${tail}`,
        ),
      ]),
    )
  }

  /** Queues one row (exactly `columns` values, in order). */
  add(a: unknown, b: unknown, c?: unknown, d?: unknown): void {
    const args = this.args
    args.push(a, b)
    if (this.width > 2) args.push(c)
    if (this.width > 3) args.push(d)
    if (args.length === CHUNKS[0] * this.width) this.send(CHUNKS[0])
  }

  /** Sends every queued row; returns the rows inserted since the last flush. */
  flush(): number {
    for (const n of CHUNKS) while (this.args.length >= n * this.width) this.send(n)
    const inserted = this.inserted
    this.inserted = 0
    return inserted
  }

  /** Drops queued rows (the transaction rolled back). */
  clear(): void {
    this.args.length = 0
    this.inserted = 0
  }

  private send(rows: number): void {
    const stmt = this.statements.get(rows) as BetterSqlite3.Statement<unknown[]>
    const take = rows * this.width
    if (this.args.length === take) {
      this.inserted += stmt.run(this.args).changes
      this.args.length = 0
      return
    }
    this.inserted += stmt.run(this.args.slice(0, take)).changes
    this.args.splice(0, take)
  }
}
