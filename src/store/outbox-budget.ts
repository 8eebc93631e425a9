import type BetterSqlite3 from 'better-sqlite3'
import type { DropPolicy, DropReason, OutboxEntry } from './types.js'

export interface OutboxBudgetOptions {
  /** Cap on topic + payload bytes held in the outbox; unset = unbounded. */
  readonly maxBytes?: number
  readonly dropPolicy?: DropPolicy
  /** Rows older than this (by created_at) are deleted when new rows arrive. */
  readonly ttlMs?: number
}

/** Drops decided inside one batch transaction; counted only if that transaction commits. */
export type DropTally = Record<DropReason, number>

export function emptyTally(): DropTally {
  return { 'drop-oldest': 0, 'reject-new': 0, ttl: 0, unhealthy: 0 }
}

const HEAD_CHUNK = 256
const MAX_EXPIRE_CHUNKS = 8

/**
 * Keeps the outbox under its byte cap and TTL at insert time, inside the batch
 * transaction. The running size lives in a TEMP (in-memory) table maintained by TEMP
 * triggers, so deletes by the forwarder on the same connection keep it exact without a
 * full count and without a single extra byte written to the card.
 */
export class OutboxBudget {
  private readonly usage: BetterSqlite3.Statement<[], { rows: number; bytes: number }>
  private readonly insert: BetterSqlite3.Statement<[string, string, Buffer, number]>
  private readonly head: BetterSqlite3.Statement<[number], { id: number; created_at: number }>
  private readonly oldest: BetterSqlite3.Statement<[], { created_at: number }>
  private readonly deleteUpTo: BetterSqlite3.Statement<[number]>
  private readonly deleteOne: BetterSqlite3.Statement<[number]>
  private readonly policy: DropPolicy

  constructor(
    private readonly db: BetterSqlite3.Database,
    private readonly opts: OutboxBudgetOptions,
  ) {
    this.policy = opts.dropPolicy ?? 'drop-oldest'
    db.exec(`
      CREATE TEMP TABLE IF NOT EXISTS outbox_usage (rows INTEGER NOT NULL, bytes INTEGER NOT NULL);
      CREATE TEMP TRIGGER IF NOT EXISTS outbox_usage_insert AFTER INSERT ON main.outbox BEGIN
        UPDATE outbox_usage SET rows = rows + 1,
          bytes = bytes + octet_length(NEW.payload) + octet_length(NEW.topic);
      END;
      CREATE TEMP TRIGGER IF NOT EXISTS outbox_usage_delete AFTER DELETE ON main.outbox BEGIN
        UPDATE outbox_usage SET rows = rows - 1,
          bytes = bytes - octet_length(OLD.payload) - octet_length(OLD.topic);
      END;
    `)
    this.recount()
    this.usage = db.prepare('SELECT rows, bytes FROM temp.outbox_usage')
    this.insert = db.prepare(
      'INSERT INTO outbox (stream, topic, payload, created_at) VALUES (?, ?, ?, ?)',
    )
    this.head = db.prepare('SELECT id, created_at FROM outbox WHERE id > ? ORDER BY id LIMIT 256')
    this.oldest = db.prepare('SELECT created_at FROM outbox ORDER BY id LIMIT 1')
    this.deleteUpTo = db.prepare(
      'DELETE FROM outbox WHERE id IN (SELECT id FROM outbox ORDER BY id LIMIT ?)',
    )
    this.deleteOne = db.prepare('DELETE FROM outbox WHERE id = ?')
  }

  /** Recounts from the table: after another connection changed the outbox. */
  recount(): void {
    this.db.exec(`
      DELETE FROM temp.outbox_usage;
      INSERT INTO temp.outbox_usage
        SELECT count(*), coalesce(sum(octet_length(payload) + octet_length(topic)), 0) FROM main.outbox;
    `)
  }

  current(): { rows: number; bytes: number } {
    return this.usage.get() ?? { rows: 0, bytes: 0 }
  }

  oldestCreatedAt(): number | undefined {
    return this.oldest.get()?.created_at
  }

  /** Must run inside the batch transaction. Expires, makes room, inserts; tallies drops. */
  admit(entries: readonly OutboxEntry[], now: number, tally: DropTally): number {
    if (this.opts.ttlMs !== undefined) tally.ttl += this.expire(now - this.opts.ttlMs)
    const cap = this.opts.maxBytes
    let inserted = 0
    for (const e of entries) {
      const payload = typeof e.payload === 'string' ? Buffer.from(e.payload) : e.payload
      if (cap !== undefined) {
        const size = payload.length + Buffer.byteLength(e.topic)
        if (!this.makeRoom(size, cap, tally)) {
          tally['reject-new']++
          continue
        }
      }
      this.insert.run(e.stream, e.topic, payload, now)
      inserted++
    }
    return inserted
  }

  private makeRoom(size: number, cap: number, tally: DropTally): boolean {
    if (size > cap) return false
    for (;;) {
      const { rows, bytes } = this.current()
      const excess = bytes + size - cap
      if (excess <= 0) return true
      if (this.policy === 'reject-new' || rows === 0) return false
      // Rows are similar in size: delete about enough in one statement, then re-check.
      const n = Math.max(1, Math.ceil(excess / Math.max(1, bytes / rows)))
      tally['drop-oldest'] += this.deleteUpTo.run(n).changes
    }
  }

  /**
   * Expired rows form a prefix (rows are appended in time order); a clock jump may leave a
   * few. Bounded per batch so a long-expired backlog is trimmed over several commits.
   */
  private expire(cutoff: number): number {
    const oldest = this.oldest.get()
    if (oldest === undefined || oldest.created_at >= cutoff) return 0
    let removed = 0
    let after = 0
    for (let chunk = 0; chunk < MAX_EXPIRE_CHUNKS; chunk++) {
      const rows = this.head.all(after)
      for (const r of rows) {
        if (r.created_at >= cutoff) return removed
        removed += this.deleteOne.run(r.id).changes
        after = r.id
      }
      if (rows.length < HEAD_CHUNK) return removed
    }
    return removed
  }
}
