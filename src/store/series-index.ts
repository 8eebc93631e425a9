import type BetterSqlite3 from 'better-sqlite3'

/**
 * What the store keeps in memory about one series (device, metric): its row id in
 * `series`, the newest timestamp it has seen, and the readings written but not committed.
 * One object per series, found through two map look-ups by the strings the reading
 * already carries: the hot path builds no key string per reading (issue 11: the
 * `device\0metric\0ts\0value` keys, made three times per value, were a fifth of the
 * allocation and most of the store's CPU).
 */
export class SeriesState {
  /** Row id in `series`; undefined until a committed transaction created or found it. */
  id: number | undefined
  /**
   * Newest ts written (pending or committed) or loaded from `latest`: a reading newer than
   * it cannot be a copy of one already stored. Never lowered (a rolled-back write leaves it
   * high, which only sends a later reading to the exact check).
   */
  newest = Number.NEGATIVE_INFINITY
  /** (ts, value) pairs written but not committed, flat, oldest first from `head`. */
  readonly pending: number[] = []
  head = 0
  /** The newest reading of the batch being written, for the `latest` table; -Infinity: none. */
  batchTs = Number.NEGATIVE_INFINITY
  batchValue = 0

  constructor(
    readonly device: string,
    readonly metric: string,
  ) {}

  get pendingCount(): number {
    return (this.pending.length - this.head) / 2
  }

  /** Remembers a reading written but not committed yet. */
  pend(ts: number, value: number): void {
    this.pending.push(ts, value)
    if (ts > this.newest) this.newest = ts
  }

  isPending(ts: number, value: number): boolean {
    const p = this.pending
    for (let i = this.head; i < p.length; i += 2) if (p[i] === ts && p[i + 1] === value) return true
    return false
  }

  /** The reading was committed or given up: it is no longer pending. */
  settle(ts: number, value: number): void {
    const p = this.pending
    // Commits go in write order, so the settled reading is almost always the oldest.
    if (p[this.head] === ts && p[this.head + 1] === value) this.head += 2
    else {
      for (let i = this.head + 2; i < p.length; i += 2) {
        if (p[i] === ts && p[i + 1] === value) {
          p.splice(i, 2)
          break
        }
      }
    }
    if (this.head === p.length) {
      p.length = 0
      this.head = 0
    }
  }
}

/** Series kept in memory at most; past it, those with nothing pending are forgotten. */
export const MAX_CACHED_SERIES = 10_000
/** Series of longer device names are not preloaded (the parser refuses ids over 64). */
const WARM_MAX_DEVICE_CHARS = 256

interface SeriesRow {
  id: number
  ts: number | null
}

/**
 * The series the store knows, by device then metric. Preloaded at open with a bounded
 * number of short-named series and their newest timestamp from `latest`: a database may
 * hold series a hostile client created before ids were bounded (40 KB ids), and start
 * must never load an unbounded amount of them. Others are read from `series` and
 * `latest` when first used, so a state always starts from what the database holds.
 */
export class SeriesIndex {
  private readonly byDevice = new Map<string, Map<string, SeriesState>>()
  private count = 0
  private readonly lookup: BetterSqlite3.Statement<[string, string], SeriesRow>

  constructor(db: BetterSqlite3.Database) {
    const rows = db
      .prepare(
        `SELECT s.id, s.device, s.metric, l.ts FROM series s LEFT JOIN latest l ON l.series = s.id
         WHERE length(s.device) <= ? LIMIT ?`,
      )
      .all(WARM_MAX_DEVICE_CHARS, MAX_CACHED_SERIES) as (SeriesRow & {
      device: string
      metric: string
    })[]
    for (const r of rows) this.add(r.device, r.metric, r)
    this.lookup = db.prepare(
      `SELECT s.id, l.ts FROM series s LEFT JOIN latest l ON l.series = s.id
       WHERE s.device = ? AND s.metric = ?`,
    )
  }

  get size(): number {
    return this.count
  }

  /** The series' state if it is in memory. */
  find(device: string, metric: string): SeriesState | undefined {
    return this.byDevice.get(device)?.get(metric)
  }

  /** The series' state; read from the database, or created without an id, when not in memory. */
  state(device: string, metric: string): SeriesState {
    return (
      this.byDevice.get(device)?.get(metric) ??
      this.add(device, metric, this.lookup.get(device, metric))
    )
  }

  /**
   * Forgets ids learnt in a transaction that rolled back: those rows do not exist. The
   * states stay (with what they have pending).
   */
  forgetIds(states: readonly SeriesState[]): void {
    for (const s of states) s.id = undefined
  }

  private add(device: string, metric: string, row: SeriesRow | undefined): SeriesState {
    let metrics = this.byDevice.get(device)
    if (metrics === undefined) {
      metrics = new Map()
      this.byDevice.set(device, metrics)
    }
    const s = new SeriesState(device, metric)
    if (row !== undefined) {
      s.id = row.id
      if (row.ts !== null) s.newest = row.ts
    }
    metrics.set(metric, s)
    this.count++
    return s
  }

  /**
   * Bounded memory: past MAX_CACHED_SERIES, series with nothing pending are forgotten
   * (their ids are found again in `series` on next use; their readings take the exact
   * check until written again).
   */
  trim(): void {
    if (this.count <= MAX_CACHED_SERIES) return
    for (const [device, metrics] of this.byDevice) {
      for (const [metric, s] of metrics) {
        if (s.pendingCount > 0) continue
        metrics.delete(metric)
        this.count--
      }
      if (metrics.size === 0) this.byDevice.delete(device)
    }
  }
}
