import type BetterSqlite3 from 'better-sqlite3'
import { ERR } from '../errors.js'

/** One row of the outbox table (created and filled by the store, drained here). */
export interface OutboxRow {
  readonly id: number
  readonly stream: string
  readonly topic: string
  readonly payload: Buffer
  readonly createdAt: number
}

export interface Backlog {
  readonly rows: number
  /** Topic and payload bytes of the rows still to send. */
  readonly bytes: number
  /** `created_at` of the oldest row, or undefined when empty. */
  readonly oldestCreatedAt: number | undefined
}

interface RawRow {
  id: number
  stream: string
  topic: string
  payload: Buffer
  created_at: number
}

/**
 * The forwarder's reads and deletes on the `outbox` table. Every statement is a single
 * short implicit transaction (or one `transaction()` call): nothing is held across an
 * await, since the store writes through the same connection.
 */
export class OutboxQueue {
  private readonly selectAfter: BetterSqlite3.Statement<[number, number], RawRow>
  private readonly deleteRangeStmt: BetterSqlite3.Statement<[number, number]>
  private readonly deleteOne: BetterSqlite3.Statement<[number]>
  private readonly headStmt: BetterSqlite3.Statement<[number], { id: number; created_at: number }>
  private readonly countStmt: BetterSqlite3.Statement<[], { rows: number; bytes: number }>
  private readonly oldestStmt: BetterSqlite3.Statement<[], { created_at: number }>
  private readonly rangeStmt: BetterSqlite3.Statement<[], { lo: number | null; hi: number | null }>
  private readonly sampleStmt: BetterSqlite3.Statement<[], { n: number; bytes: number | null }>
  private readonly deleteIds: (ids: readonly number[]) => void

  constructor(db: BetterSqlite3.Database) {
    try {
      this.selectAfter = db.prepare(
        'SELECT id, stream, topic, payload, created_at FROM outbox WHERE id > ? ORDER BY id LIMIT ?',
      )
      this.deleteRangeStmt = db.prepare('DELETE FROM outbox WHERE id BETWEEN ? AND ?')
      this.deleteOne = db.prepare('DELETE FROM outbox WHERE id = ?')
      this.headStmt = db.prepare(
        'SELECT id, created_at FROM outbox WHERE id > ? ORDER BY id LIMIT 500',
      )
      this.countStmt = db.prepare(
        'SELECT count(*) AS rows, coalesce(sum(length(payload) + length(topic)), 0) AS bytes FROM outbox',
      )
      this.oldestStmt = db.prepare('SELECT created_at FROM outbox ORDER BY id LIMIT 1')
      // Two subqueries: SQLite's min/max shortcut (one index probe) needs one aggregate each.
      this.rangeStmt = db.prepare(
        'SELECT (SELECT min(id) FROM outbox) AS lo, (SELECT max(id) FROM outbox) AS hi',
      )
      this.sampleStmt = db.prepare(
        'SELECT count(*) AS n, sum(length(payload) + length(topic)) AS bytes FROM (SELECT payload, topic FROM outbox ORDER BY id LIMIT 256)',
      )
    } catch (err) {
      throw Object.assign(ERR.UPLINK_NO_OUTBOX((err as Error).message), { cause: err })
    }
    this.deleteIds = db.transaction((ids: readonly number[]) => {
      for (const id of ids) this.deleteOne.run(id)
    })
  }

  /** Up to `limit` rows with id > `afterId`, oldest first. */
  next(afterId: number, limit: number): OutboxRow[] {
    return this.selectAfter.all(afterId, limit).map((r) => ({
      id: r.id,
      stream: r.stream,
      topic: r.topic,
      payload: r.payload,
      createdAt: r.created_at,
    }))
  }

  /** Deletes the acknowledged rows first..last (a prefix of the send order) in one commit. */
  deleteRange(first: number, last: number): number {
    return this.deleteRangeStmt.run(first, last).changes
  }

  /** Deletes the given rows in one commit (expired rows met while reading). */
  delete(ids: readonly number[]): void {
    if (ids.length > 0) this.deleteIds(ids)
  }

  /**
   * Deletes expired rows from the head of the queue (after `afterId`), chunk by chunk,
   * stopping at the first live row: rows are appended in time order, so expired rows form
   * a prefix (a clock jump can leave a few behind; they are sent instead). Bounded per
   * call so a huge backlog never blocks the event loop for long.
   */
  expireHead(afterId: number, cutoff: number, maxChunks = 20): number {
    let removed = 0
    let from = afterId
    for (let chunk = 0; chunk < maxChunks; chunk++) {
      const head = this.headStmt.all(from)
      const expired: number[] = []
      let reachedLive = false
      for (const r of head) {
        if (r.created_at < cutoff) expired.push(r.id)
        else {
          reachedLive = true
          break
        }
      }
      this.delete(expired)
      removed += expired.length
      const lastRow = head[head.length - 1]
      if (reachedLive || head.length < 500 || lastRow === undefined) break
      from = lastRow.id
    }
    return removed
  }

  /**
   * Rows and bytes still to send, from two index lookups and a 256-row sample, whatever the
   * backlog's size (a full count of a million rows blocks the event loop for 0.1 s here,
   * more on a Pi). Rows = max(id) - min(id) + 1: exact, since rows leave only from the head
   * (acknowledged, dropped oldest, expired), except expired rows skipped in the middle after a
   * clock jump. Bytes = rows x the mean size of the oldest 256 rows.
   */
  estimate(): Backlog {
    const { lo, hi } = this.rangeStmt.get() ?? { lo: null, hi: null }
    if (lo === null || hi === null) return { rows: 0, bytes: 0, oldestCreatedAt: undefined }
    const rows = hi - lo + 1
    const sample = this.sampleStmt.get() ?? { n: 0, bytes: 0 }
    const mean = sample.n > 0 ? (sample.bytes ?? 0) / sample.n : 0
    return { rows, bytes: Math.round(rows * mean), oldestCreatedAt: this.oldestCreatedAt() }
  }

  /** Rows and bytes still to send, counted exactly: a full scan, for tools and tests. */
  backlog(): Backlog {
    const c = this.countStmt.get() ?? { rows: 0, bytes: 0 }
    return { rows: c.rows, bytes: c.bytes, oldestCreatedAt: this.oldestCreatedAt() }
  }

  /** `created_at` of the oldest row (one index lookup), or undefined when empty. */
  oldestCreatedAt(): number | undefined {
    return this.oldestStmt.get()?.created_at
  }
}
