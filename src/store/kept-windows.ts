import type BetterSqlite3 from 'better-sqlite3'
import type { Aggregate } from '../gateway/reading.js'
import type { WindowState } from '../gateway/window-aggregator.js'

/** The aggregate windows of a stopped gateway: open ones, and closed ones not yet stored. */
export interface KeptWindows {
  readonly open: readonly WindowState[]
  readonly closed: readonly Aggregate[]
}

interface Row {
  device: string
  metric: string
  closed: number
  window_start: number
  window_end: number
  count: number
  min: number
  max: number
  sum: number
  last: number
  last_ts: number
  closed_until: number | null
}

/**
 * Keeps the windows at a graceful stop (one transaction, replacing what was kept), so a
 * restart does not lose the aggregate of every window open at the time.
 */
export function keepWindows(db: BetterSqlite3.Database, kept: KeptWindows): void {
  const insert = db.prepare(
    `INSERT OR REPLACE INTO kept_windows
       (device, metric, closed, window_start, window_end, count, min, max, sum, last, last_ts, closed_until)
     VALUES (@device, @metric, @closed, @window_start, @window_end, @count, @min, @max, @sum, @last, @last_ts, @closed_until)`,
  )
  db.transaction(() => {
    db.prepare('DELETE FROM kept_windows').run()
    for (const w of kept.open) {
      insert.run({
        device: w.device,
        metric: w.metric,
        closed: 0,
        window_start: w.start,
        window_end: w.end,
        count: w.count,
        min: w.min,
        max: w.max,
        sum: w.sum,
        last: w.last,
        last_ts: w.lastTs,
        closed_until: w.closedUntil ?? null,
      } satisfies Row)
    }
    for (const a of kept.closed) {
      insert.run({
        device: a.device,
        metric: a.metric,
        closed: 1,
        window_start: a.windowStart,
        window_end: a.windowEnd,
        count: a.count,
        min: a.min,
        max: a.max,
        sum: a.mean * a.count,
        last: a.last,
        last_ts: a.windowEnd,
        closed_until: null,
      } satisfies Row)
    }
  }).immediate()
}

/**
 * Reads and forgets the kept windows (one transaction): once the gateway runs they live in
 * memory again, and a later crash must not bring back windows closed since.
 */
export function takeWindows(db: BetterSqlite3.Database): KeptWindows {
  return db
    .transaction((): KeptWindows => {
      const rows = db.prepare('SELECT * FROM kept_windows').all() as Row[]
      db.prepare('DELETE FROM kept_windows').run()
      const open: WindowState[] = []
      const closed: Aggregate[] = []
      for (const r of rows) {
        const metric = r.metric
        if (r.closed === 1) {
          closed.push({
            device: r.device,
            metric,
            windowStart: r.window_start,
            windowEnd: r.window_end,
            count: r.count,
            min: r.min,
            max: r.max,
            mean: r.sum / r.count,
            last: r.last,
          })
        } else {
          open.push({
            device: r.device,
            metric,
            start: r.window_start,
            end: r.window_end,
            count: r.count,
            min: r.min,
            max: r.max,
            sum: r.sum,
            last: r.last,
            lastTs: r.last_ts,
            closedUntil: r.closed_until ?? undefined,
          })
        }
      }
      return { open, closed }
    })
    .immediate()
}
