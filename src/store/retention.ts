import { statSync } from 'node:fs'
import type BetterSqlite3 from 'better-sqlite3'

export interface RetentionOptions {
  /** Rows older than this are deleted (readings, aggregates, alert history, dead letters). */
  readonly maxAgeMs?: number
  /** Cap on the database's used pages; oldest rows go first when it is exceeded. */
  readonly maxSizeBytes?: number
  /** Rows per DELETE: each chunk is its own short transaction. */
  readonly chunkRows?: number
}

export interface RetentionResult {
  /** Rows deleted per table. */
  readonly deleted: Readonly<Record<string, number>>
  /** Database + WAL file size after the run. */
  readonly fileBytes: number
}

/** Tables retention trims, oldest-first order column, in the order they are sacrificed. */
const TABLES = [
  { name: 'readings', time: 'ts' },
  { name: 'aggregates', time: 'window_start' },
  { name: 'dead_letters', time: 'received_at' },
  { name: 'alert_events', time: 'ts' },
] as const

/** Start deleting at the cap minus this share, stop this much lower: room for a few batches. */
const LOW_WATER = 0.85
/** Free pages kept for reuse (pages are reused before the file grows); beyond it, shrink. */
const FREE_RESERVE = 0.1

/**
 * Deletes old rows in bounded chunks, yielding to the event loop between chunks so the
 * daemon keeps acknowledging readings while a large backlog is trimmed.
 */
export class Retention {
  private readonly byAge
  private readonly oldest
  private readonly chunk: number
  private running: Promise<RetentionResult> | undefined

  constructor(
    private readonly db: BetterSqlite3.Database,
    private readonly file: string,
    private readonly opts: RetentionOptions,
  ) {
    this.chunk = opts.chunkRows ?? 2000
    this.byAge = TABLES.map((t) =>
      db.prepare<[number, number]>(
        `DELETE FROM ${t.name} WHERE ${t.time} < ? ORDER BY ${t.time} LIMIT ?`,
      ),
    )
    this.oldest = TABLES.map((t) =>
      db.prepare<[number]>(`DELETE FROM ${t.name} ORDER BY ${t.time} LIMIT ?`),
    )
  }

  /** Bytes in pages that hold data (free pages are reused before the file grows). */
  usedBytes(): number {
    const pageSize = this.db.pragma('page_size', { simple: true }) as number
    const pages = this.db.pragma('page_count', { simple: true }) as number
    const free = this.db.pragma('freelist_count', { simple: true }) as number
    return (pages - free) * pageSize
  }

  /** True when a size-driven run is due (cheap: three pragmas, no I/O). */
  overCap(): boolean {
    const cap = this.opts.maxSizeBytes
    return cap !== undefined && this.usedBytes() > cap * LOW_WATER
  }

  /** Runs one pass (`now` undefined: by size only); a call while a pass runs joins it. */
  retain(now: number | undefined): Promise<RetentionResult> {
    this.running ??= this.pass(now).finally(() => {
      this.running = undefined
    })
    return this.running
  }

  private async pass(now: number | undefined): Promise<RetentionResult> {
    const deleted: Record<string, number> = {}
    const add = (table: string, n: number) => {
      deleted[table] = (deleted[table] ?? 0) + n
    }
    if (this.opts.maxAgeMs !== undefined && now !== undefined) {
      const cutoff = now - this.opts.maxAgeMs
      for (const [i, t] of TABLES.entries()) {
        for (;;) {
          const n = this.byAge[i]!.run(cutoff, this.chunk).changes
          add(t.name, n)
          if (n < this.chunk) break
          await yieldToEventLoop()
          if (!this.db.open) return { deleted, fileBytes: 0 }
        }
      }
    }
    const cap = this.opts.maxSizeBytes
    if (cap !== undefined && this.usedBytes() > cap * LOW_WATER) {
      const target = cap * (LOW_WATER - 0.1)
      for (const [i, t] of TABLES.entries()) {
        while (this.usedBytes() > target) {
          const n = this.oldest[i]!.run(this.chunk).changes
          add(t.name, n)
          if (n === 0) break
          await yieldToEventLoop()
          if (!this.db.open) return { deleted, fileBytes: 0 }
        }
      }
    }
    this.shrink()
    return { deleted, fileBytes: this.fileBytes() }
  }

  /** Gives free pages beyond a reserve back to the file system (auto_vacuum=INCREMENTAL). */
  private shrink(): void {
    const pageSize = this.db.pragma('page_size', { simple: true }) as number
    const pages = this.db.pragma('page_count', { simple: true }) as number
    const free = this.db.pragma('freelist_count', { simple: true }) as number
    const reserve = Math.floor(
      this.opts.maxSizeBytes === undefined
        ? pages * FREE_RESERVE
        : (this.opts.maxSizeBytes * FREE_RESERVE) / pageSize,
    )
    if (free > reserve) this.db.pragma(`incremental_vacuum(${free - reserve})`)
  }

  fileBytes(): number {
    let total = 0
    for (const f of [this.file, `${this.file}-wal`]) {
      try {
        total += statSync(f).size
      } catch {
        // no WAL file right now
      }
    }
    return total
  }
}

function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve))
}
