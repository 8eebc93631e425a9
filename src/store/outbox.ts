import type BetterSqlite3 from 'better-sqlite3'
import { ERR } from '../errors.js'
import type { DropPolicy, DropReason, OutboxEntry } from './types.js'

/** The uplink whose rows live in the table earlier versions created (`uplink:` in the config). */
export const DEFAULT_OUTBOX = 'default'

export interface OutboxOptions {
  /** The uplink this queue belongs to; `default` uses the original `outbox` table. */
  readonly id?: string
  /** Streams this uplink wants; undefined = every stream. */
  readonly streams?: readonly string[] | undefined
  /** Cap on topic + payload bytes held for this uplink; unset = unbounded. */
  readonly maxBytes?: number | undefined
  readonly dropPolicy?: DropPolicy | undefined
  /** Rows older than this (by created_at) are deleted unsent; unset or 0 = kept forever. */
  readonly ttlMs?: number | undefined
}

/** Drops decided inside one batch transaction; counted only if that transaction commits. */
export type DropTally = Record<DropReason, number>

export function emptyTally(): DropTally {
  return { 'drop-oldest': 0, 'reject-new': 0, ttl: 0, unhealthy: 0 }
}

/** One row of an uplink's queue. */
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

/** What a forwarder needs from its queue: read in id order, delete what was delivered. */
export interface ForwarderOutbox {
  readonly id: string
  next(afterId: number, limit: number): OutboxRow[]
  deleteRange(first: number, last: number): number
  delete(ids: readonly number[]): void
  expire(cutoff: number, afterId?: number, maxChunks?: number): number
  backlog(): Backlog
  oldestCreatedAt(): number | undefined
}

interface RawRow {
  id: number
  stream: string
  topic: string
  payload: Buffer
  created_at: number
}

const HEAD_CHUNK = 256
const ID = /^[A-Za-z0-9_-]{1,64}$/

/** The table of an uplink's queue: `outbox` for the default one, `outbox:<id>` for the others. */
export function outboxTable(id: string): string {
  if (!ID.test(id)) throw ERR.UPLINK_BAD_OPTION('id', `must match ${ID.source}, got "${id}"`)
  return id === DEFAULT_OUTBOX ? 'outbox' : `outbox:${id}`
}

/**
 * The one owner of an uplink's queue table: the store admits rows into it inside its batch
 * transaction (cap, drop policy, TTL), the forwarder reads and deletes through it.
 *
 * Each uplink has a table of its own, so each has its own position (its head), cap, drop
 * policy and TTL, and a slow or dead upstream never holds back another: a row is deleted
 * from an uplink's table when that uplink has it. The price is one copy of a row per uplink
 * that wants its stream (bytes on the card), chosen over shared rows with per-uplink
 * positions because a per-uplink cap over shared rows needs per-row bookkeeping.
 *
 * The size (rows, bytes) lives in a TEMP (in-memory) table kept by TEMP triggers, so every
 * insert and delete on this connection keeps it exact without a count and without a byte
 * written to the card. It is the one measure of the backlog.
 */
export class Outbox implements ForwarderOutbox {
  readonly id: string
  readonly table: string
  private readonly streams: ReadonlySet<string> | undefined
  private readonly policy: DropPolicy
  private readonly usageStmt: BetterSqlite3.Statement<[], { rows: number; bytes: number }>
  private readonly insertStmt: BetterSqlite3.Statement<[string, string, Buffer, number]>
  private readonly selectAfter: BetterSqlite3.Statement<[number, number], RawRow>
  private readonly headStmt: BetterSqlite3.Statement<
    [number, number],
    { id: number; created_at: number }
  >
  private readonly oldestStmt: BetterSqlite3.Statement<[], { created_at: number }>
  private readonly deleteRangeStmt: BetterSqlite3.Statement<[number, number]>
  private readonly deleteOne: BetterSqlite3.Statement<[number]>
  private readonly deleteOldest: BetterSqlite3.Statement<[number]>
  private readonly deleteIds: (ids: readonly number[]) => void

  constructor(
    private readonly db: BetterSqlite3.Database,
    private readonly opts: OutboxOptions = {},
  ) {
    this.id = opts.id ?? DEFAULT_OUTBOX
    this.table = outboxTable(this.id)
    this.streams = opts.streams === undefined ? undefined : new Set(opts.streams)
    this.policy = opts.dropPolicy ?? 'drop-oldest'
    const t = `main."${this.table}"`
    const u = `temp."usage:${this.table}"`
    try {
      // The default table comes from the migrations (a database the store did not open has
      // none, and that is an error); the others are made on first use, with the same shape.
      if (this.id !== DEFAULT_OUTBOX) {
        db.exec(`
          CREATE TABLE IF NOT EXISTS ${t} (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            stream TEXT NOT NULL,
            topic TEXT NOT NULL,
            payload BLOB NOT NULL,
            created_at INTEGER NOT NULL
          );
        `)
      }
      db.exec(`
        CREATE TEMP TABLE IF NOT EXISTS "usage:${this.table}" (rows INTEGER NOT NULL, bytes INTEGER NOT NULL);
        CREATE TEMP TRIGGER IF NOT EXISTS "usage_insert:${this.table}" AFTER INSERT ON ${t} BEGIN
          UPDATE ${u} SET rows = rows + 1,
            bytes = bytes + octet_length(NEW.payload) + octet_length(NEW.topic);
        END;
        CREATE TEMP TRIGGER IF NOT EXISTS "usage_delete:${this.table}" AFTER DELETE ON ${t} BEGIN
          UPDATE ${u} SET rows = rows - 1,
            bytes = bytes - octet_length(OLD.payload) - octet_length(OLD.topic);
        END;
      `)
      this.recount()
      this.usageStmt = db.prepare(`SELECT rows, bytes FROM ${u}`)
      this.insertStmt = db.prepare(
        `INSERT INTO ${t} (stream, topic, payload, created_at) VALUES (?, ?, ?, ?)`,
      )
      this.selectAfter = db.prepare(
        `SELECT id, stream, topic, payload, created_at FROM ${t} WHERE id > ? ORDER BY id LIMIT ?`,
      )
      this.headStmt = db.prepare(`SELECT id, created_at FROM ${t} WHERE id > ? ORDER BY id LIMIT ?`)
      this.oldestStmt = db.prepare(`SELECT created_at FROM ${t} ORDER BY id LIMIT 1`)
      this.deleteRangeStmt = db.prepare(`DELETE FROM ${t} WHERE id BETWEEN ? AND ?`)
      this.deleteOne = db.prepare(`DELETE FROM ${t} WHERE id = ?`)
      this.deleteOldest = db.prepare(
        `DELETE FROM ${t} WHERE id IN (SELECT id FROM ${t} ORDER BY id LIMIT ?)`,
      )
    } catch (err) {
      throw Object.assign(ERR.UPLINK_NO_OUTBOX((err as Error).message), { cause: err })
    }
    this.deleteIds = db.transaction((ids: readonly number[]) => {
      for (const id of ids) this.deleteOne.run(id)
    })
  }

  /** Counts the table into the usage row: once, at open (another connection may have changed it). */
  private recount(): void {
    const t = `main."${this.table}"`
    const u = `temp."usage:${this.table}"`
    this.db.exec(`
      DELETE FROM ${u};
      INSERT INTO ${u}
        SELECT count(*), coalesce(sum(octet_length(payload) + octet_length(topic)), 0) FROM ${t};
    `)
  }

  wants(stream: string): boolean {
    return this.streams === undefined || this.streams.has(stream)
  }

  /**
   * Must run inside the batch transaction: expires by TTL, makes room under the cap by the
   * drop policy, inserts the entries of the streams this uplink wants; tallies the drops.
   */
  admit(entries: readonly OutboxEntry[], now: number, tally: DropTally, expire = true): number {
    const ttl = this.opts.ttlMs
    if (expire && ttl !== undefined && ttl > 0) tally.ttl += this.expire(now - ttl, 0, 8)
    const cap = this.opts.maxBytes
    let inserted = 0
    for (const e of entries) {
      if (!this.wants(e.stream)) continue
      const payload = typeof e.payload === 'string' ? Buffer.from(e.payload) : e.payload
      if (cap !== undefined) {
        const size = payload.length + Buffer.byteLength(e.topic)
        if (!this.makeRoom(size, cap, tally)) {
          tally['reject-new']++
          continue
        }
      }
      this.insertStmt.run(e.stream, e.topic, payload, now)
      inserted++
    }
    return inserted
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

  /** Deletes the delivered rows first..last (a prefix of the send order) in one commit. */
  deleteRange(first: number, last: number): number {
    return this.deleteRangeStmt.run(first, last).changes
  }

  /** Deletes the given rows in one commit. */
  delete(ids: readonly number[]): void {
    if (ids.length > 0) this.deleteIds(ids)
  }

  /**
   * Deletes rows created before `cutoff` from the head (after `afterId`), chunk by chunk,
   * stopping at the first live row: rows are appended in time order, so expired rows form
   * a prefix (a clock jump can leave a few behind; they are sent instead). Bounded per call
   * so a huge expired backlog never blocks the event loop for long. The only TTL code: the
   * store calls it at insert time, the forwarder between sends.
   */
  expire(cutoff: number, afterId = 0, maxChunks = 20): number {
    const oldest = this.oldestStmt.get()
    if (oldest === undefined || oldest.created_at >= cutoff) return 0
    let removed = 0
    let from = afterId
    for (let chunk = 0; chunk < maxChunks; chunk++) {
      const head = this.headStmt.all(from, HEAD_CHUNK)
      const expired: number[] = []
      let reachedLive = false
      for (const r of head) {
        if (r.created_at < cutoff) expired.push(r.id)
        else {
          reachedLive = true
          break
        }
      }
      for (const id of expired) removed += this.deleteOne.run(id).changes
      const lastRow = head[head.length - 1]
      if (reachedLive || head.length < HEAD_CHUNK || lastRow === undefined) break
      from = lastRow.id
    }
    return removed
  }

  /** Rows and bytes still to send (in flight included), exact and O(1). */
  backlog(): Backlog {
    const u = this.usageStmt.get() ?? { rows: 0, bytes: 0 }
    return { rows: u.rows, bytes: u.bytes, oldestCreatedAt: this.oldestCreatedAt() }
  }

  /** `created_at` of the oldest row (one index lookup), or undefined when empty. */
  oldestCreatedAt(): number | undefined {
    return this.oldestStmt.get()?.created_at
  }

  private makeRoom(size: number, cap: number, tally: DropTally): boolean {
    if (size > cap) return false
    for (;;) {
      const { rows, bytes } = this.usageStmt.get() ?? { rows: 0, bytes: 0 }
      const excess = bytes + size - cap
      if (excess <= 0) return true
      if (this.policy === 'reject-new' || rows === 0) return false
      // Rows are similar in size: delete about enough in one statement, then re-check.
      const n = Math.max(1, Math.ceil(excess / Math.max(1, bytes / rows)))
      tally['drop-oldest'] += this.deleteOldest.run(n).changes
    }
  }
}
