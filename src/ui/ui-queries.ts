import type BetterSqlite3 from 'better-sqlite3'
import type { AlertRecord } from '../gateway/reading.js'

/** Points per page of /api/readings; the page asks for the next one with `from=next`. */
export const MAX_PAGE = 5000

export interface SeriesLatest {
  readonly device: string
  readonly metric: string
  readonly ts: number | null
  readonly value: number | null
}

/** An alert as the status page shows it (one gateway: its id is left out). */
export type AlertRow = Omit<AlertRecord, 'gateway'>

export interface DeadLetterGroup {
  readonly reason: string
  readonly count: number
  readonly latest: {
    readonly receivedAt: number
    readonly topic: string
    readonly device: string | null
    readonly detail: string
    readonly payload: string
  }
}

/**
 * The status page's reads, on the store's connection (SQLite serialises them with the
 * writer; each is a short indexed query). Every result is bounded.
 */
export class UiQueries {
  private readonly stmts

  constructor(db: BetterSqlite3.Database) {
    this.stmts = {
      latest: db.prepare<[], SeriesLatest>(
        `SELECT s.device, s.metric, l.ts, l.value FROM series s
         LEFT JOIN latest l ON l.series = s.id ORDER BY s.device, s.metric LIMIT 10000`,
      ),
      readings: db.prepare<[string, string, number, number, number], [number, number]>(
        `SELECT r.ts, r.value FROM readings r
         WHERE r.series = (SELECT id FROM series WHERE device = ? AND metric = ?)
           AND r.ts >= ? AND r.ts < ? ORDER BY r.ts LIMIT ?`,
      ),
      active: db.prepare<[], AlertRow>(
        `SELECT device, NULLIF(metric, '') AS metric, rule, kind, severity, 'raised' AS state,
                value, threshold, since, ts FROM alert_state ORDER BY since DESC LIMIT 1000`,
      ),
      history: db.prepare<[number], AlertRow>(
        `SELECT device, metric, rule, kind, severity, state, value, threshold, since, ts
         FROM alert_events ORDER BY id DESC LIMIT ?`,
      ),
      deadLetters: db.prepare<[], { reason: string; count: number; last: number }>(
        'SELECT reason, count(*) AS count, max(id) AS last FROM dead_letters GROUP BY reason ORDER BY count DESC LIMIT 100',
      ),
      deadLetter: db.prepare<
        [number],
        {
          received_at: number
          topic: string
          device: string | null
          detail: string
          payload: Buffer
        }
      >('SELECT received_at, topic, device, detail, payload FROM dead_letters WHERE id = ?'),
    }
    this.stmts.readings.raw(true)
  }

  latest(): SeriesLatest[] {
    return this.stmts.latest.all()
  }

  /** Points of one series in [from, to), oldest first; `next` is where the next page starts. */
  readings(
    device: string,
    metric: string,
    from: number,
    to: number,
    limit: number,
  ): { points: [number, number][]; next: number | null } {
    const rows = this.stmts.readings.all(device, metric, from, to, limit + 1)
    const more = rows.length > limit
    const points = more ? rows.slice(0, limit) : rows
    return { points, next: more ? points[points.length - 1]![0] + 1 : null }
  }

  activeAlerts(): AlertRow[] {
    return this.stmts.active.all()
  }

  alertHistory(limit = 100): AlertRow[] {
    return this.stmts.history.all(limit)
  }

  deadLetters(): DeadLetterGroup[] {
    return this.stmts.deadLetters.all().map((g) => {
      const d = this.stmts.deadLetter.get(g.last)!
      return {
        reason: g.reason,
        count: g.count,
        latest: {
          receivedAt: d.received_at,
          topic: d.topic,
          device: d.device,
          detail: d.detail,
          // Shown as text; a binary payload shows as replacement characters, bounded.
          payload: d.payload.subarray(0, 512).toString('utf8'),
        },
      }
    })
  }
}
