import type BetterSqlite3 from 'better-sqlite3'
import type { NotificationEntry } from './types.js'

/** One notification waiting for its sink. */
export interface NotificationRow {
  readonly id: number
  readonly payload: string
  /** Failed attempts so far (kept across restarts, so the backoff does not reset). */
  readonly attempts: number
}

/** Refused rows kept for inspection, per sink; older ones are deleted. */
const KEEP_REFUSED = 100

/**
 * The `notifications` table, for the notifier: each sink's oldest waiting row, what became
 * of an attempt, reminders. The store fills it with the alert events in their batch
 * transaction (row-writer.ts); the notifier reads and settles rows only through this.
 */
export class NotificationQueue {
  private readonly stmts

  constructor(db: BetterSqlite3.Database) {
    this.stmts = {
      head: db.prepare<[string], NotificationRow>(
        `SELECT id, payload, attempts FROM notifications
         WHERE sink = ? AND failed_at IS NULL ORDER BY id LIMIT 1`,
      ),
      done: db.prepare<[number]>('DELETE FROM notifications WHERE id = ?'),
      attempt: db.prepare<[string, number]>(
        'UPDATE notifications SET attempts = attempts + 1, last_error = ? WHERE id = ?',
      ),
      refuse: db.prepare<[string, number, number]>(
        'UPDATE notifications SET attempts = attempts + 1, last_error = ?, failed_at = ? WHERE id = ?',
      ),
      pruneRefused: db.prepare<[string, string, number]>(
        `DELETE FROM notifications WHERE sink = ? AND failed_at IS NOT NULL AND id NOT IN
           (SELECT id FROM notifications WHERE sink = ? AND failed_at IS NOT NULL
            ORDER BY id DESC LIMIT ?)`,
      ),
      pending: db.prepare<[], { n: number }>(
        'SELECT count(*) AS n FROM notifications WHERE failed_at IS NULL',
      ),
      insert: db.prepare<[string, string, number]>(
        'INSERT INTO notifications (sink, payload, created_at) VALUES (?, ?, ?)',
      ),
    }
  }

  /** The sink's oldest row not refused, if any. */
  head(sink: string): NotificationRow | undefined {
    return this.stmts.head.get(sink)
  }

  /** The sink accepted it: gone. */
  delivered(id: number): void {
    this.stmts.done.run(id)
  }

  /** An attempt failed and will be retried. */
  failed(id: number, detail: string): void {
    this.stmts.attempt.run(detail, id)
  }

  /** The sink refused it for good: kept as refused (the newest KEEP_REFUSED per sink). */
  refused(sink: string, id: number, detail: string, now: number): void {
    this.stmts.refuse.run(detail, now, id)
    this.stmts.pruneRefused.run(sink, sink, KEEP_REFUSED)
  }

  /** Rows waiting for delivery (refused ones not counted). */
  pending(): number {
    return this.stmts.pending.get()?.n ?? 0
  }

  /** Queues notifications outside an alert's batch (reminders). */
  add(entries: readonly NotificationEntry[], now: number): void {
    for (const e of entries) this.stmts.insert.run(e.sink, e.payload, now)
  }
}
