import type BetterSqlite3 from 'better-sqlite3'
import type {
  Aggregate,
  AlertEvent,
  AlertState,
  Metric,
  RuleKind,
  Severity,
} from '../gateway/reading.js'

export interface StoredReading {
  readonly device: string
  readonly metric: Metric
  readonly ts: number
  readonly value: number
  readonly receivedAt: number
}

export interface LatestReading {
  readonly device: string
  readonly metric: Metric
  readonly ts: number
  readonly value: number
}

/** An alert raised and not cleared (alert_state): its raise, without a state. */
export type ActiveAlert = Omit<AlertEvent, 'state'>

/** A raise or clear from the alert history (alert_events), as the rules emitted it. */
export type StoredAlertEvent = AlertEvent

export interface StoreCounts {
  readonly series: number
  readonly readings: number
  readonly aggregates: number
  readonly alertEvents: number
  readonly activeAlerts: number
  readonly deadLetters: number
}

export interface RangeFilter {
  readonly device?: string
  readonly metric?: Metric
}

interface AlertRow {
  gateway: string
  device: string
  metric: string | null
  rule: string
  kind: string
  severity: string
  state?: string
  value: number | null
  threshold: number | null
  since: number
  ts: number
}

/**
 * Read-side queries for the CLI, health and export. Ranges are iterators over a live
 * statement: rows stream from disk, never loaded all at once. (better-sqlite3 refuses
 * other statements on the connection while an iterator is open: export from a
 * read-only store, or finish iterating before writing.)
 */
export class StoreQueries {
  private readonly stmts

  constructor(db: BetterSqlite3.Database) {
    // CROSS JOIN keeps readings as the outer loop: a range scan on its (ts, series) key.
    this.stmts = {
      lastHeard: db.prepare<[string], { ts: number | null }>(
        'SELECT max(l.ts) AS ts FROM latest l JOIN series s ON s.id = l.series WHERE s.device = ?',
      ),
      latest: db.prepare(
        `SELECT s.device, s.metric, l.ts, l.value FROM latest l JOIN series s ON s.id = l.series
         ORDER BY s.device, s.metric`,
      ),
      readings: db.prepare(
        `SELECT s.device, s.metric, r.ts, r.value, r.ts + r.recv_delay AS receivedAt
         FROM readings r CROSS JOIN series s ON s.id = r.series
         WHERE r.ts >= @from AND r.ts < @to
           AND (@device IS NULL OR s.device = @device) AND (@metric IS NULL OR s.metric = @metric)
         ORDER BY r.ts, r.series`,
      ),
      aggregates: db.prepare(
        `SELECT s.device, s.metric, a.window_start AS windowStart, a.window_end AS windowEnd,
                a.count, a.min, a.max, a.mean, a.last
         FROM aggregates a CROSS JOIN series s ON s.id = a.series
         WHERE a.window_start >= @from AND a.window_start < @to
           AND (@device IS NULL OR s.device = @device) AND (@metric IS NULL OR s.metric = @metric)
         ORDER BY a.window_start, a.series`,
      ),
      // Bounded: the daemon seeds its alert state from this at start, and a database may
      // hold rows of ids a hostile client made before ids were bounded.
      active: db.prepare(
        `SELECT * FROM alert_state WHERE length(device) <= 256
         ORDER BY device, metric, rule LIMIT 10000`,
      ),
      history: db.prepare('SELECT * FROM alert_events WHERE ts >= ? AND ts < ? ORDER BY ts, id'),
      deadLetters: db.prepare(
        `SELECT received_at AS receivedAt, topic, device, reason, detail, payload
         FROM dead_letters
         WHERE received_at >= @from AND received_at < @to
           AND (@device IS NULL OR device = @device)
         ORDER BY received_at, id`,
      ),
      // The newest receive time: among the newest readings by sensor time (their key, so
      // a bounded read off the end of the B-tree) and the newest dead letter (indexed).
      // Receive times only: a sensor's clock may run ahead of the gateway's.
      newestReceived: db.prepare<[], { reading: number | null; deadLetter: number | null }>(
        `SELECT (SELECT max(ts + recv_delay) FROM
                   (SELECT ts, recv_delay FROM readings ORDER BY ts DESC LIMIT 1000)) AS reading,
                (SELECT max(received_at) FROM dead_letters) AS deadLetter`,
      ),
      counts: db.prepare(
        `SELECT (SELECT count(*) FROM series) AS series,
                (SELECT count(*) FROM readings) AS readings,
                (SELECT count(*) FROM aggregates) AS aggregates,
                (SELECT count(*) FROM alert_events) AS alertEvents,
                (SELECT count(*) FROM alert_state) AS activeAlerts,
                (SELECT count(*) FROM dead_letters) AS deadLetters`,
      ),
    }
  }

  /** The newest stored reading of every device and metric. */
  latestReadings(): LatestReading[] {
    return this.stmts.latest.all() as LatestReading[]
  }

  /** The reading time of the device's newest stored reading (any metric), if any. */
  lastHeard(device: string): number | undefined {
    return this.stmts.lastHeard.get(device)?.ts ?? undefined
  }

  /** Alerts raised and not cleared, as known after a restart. */
  activeAlerts(): ActiveAlert[] {
    return (this.stmts.active.all() as AlertRow[]).map(toAlert)
  }

  /**
   * The newest time the gateway stamped on what it stored (a reading's or dead letter's
   * receive time), undefined in an empty database: the system clock cannot be earlier.
   */
  newestReceivedAt(): number | undefined {
    const row = this.stmts.newestReceived.get()
    const times = [row?.reading, row?.deadLetter].filter((t): t is number => typeof t === 'number')
    return times.length === 0 ? undefined : Math.max(...times)
  }

  /** Full counts: each scans its table, so call it from the CLI, not per request. */
  counts(): StoreCounts {
    return this.stmts.counts.get() as StoreCounts
  }

  /** Readings with from <= ts < to, oldest first, streamed. */
  readings(from: number, to: number, filter: RangeFilter = {}): IterableIterator<StoredReading> {
    return this.stmts.readings.iterate(
      rangeParams(from, to, filter),
    ) as IterableIterator<StoredReading>
  }

  /** Aggregates whose window starts in [from, to), oldest first, streamed. */
  aggregates(from: number, to: number, filter: RangeFilter = {}): IterableIterator<Aggregate> {
    return this.stmts.aggregates.iterate(
      rangeParams(from, to, filter),
    ) as IterableIterator<Aggregate>
  }

  /** Dead letters received in [from, to), oldest first, streamed (for `floxgate export`). */
  deadLetters(from: number, to: number, filter: RangeFilter = {}): IterableIterator<DeadLetterRow> {
    return this.stmts.deadLetters.iterate(
      rangeParams(from, to, filter),
    ) as IterableIterator<DeadLetterRow>
  }

  /** Raise and clear events with from <= ts < to, oldest first, streamed. */
  *alertHistory(from: number, to: number): IterableIterator<StoredAlertEvent> {
    for (const row of this.stmts.history.iterate(from, to) as IterableIterator<AlertRow>) {
      yield { ...toAlert(row), state: row.state as AlertState }
    }
  }
}

/** A stored dead letter: the message as received and why it was refused. */
export interface DeadLetterRow {
  readonly receivedAt: number
  readonly topic: string
  readonly device: string | null
  readonly reason: string
  readonly detail: string
  readonly payload: Buffer
}

function rangeParams(from: number, to: number, f: RangeFilter) {
  return { from, to, device: f.device ?? null, metric: f.metric ?? null }
}

function toAlert(r: AlertRow): ActiveAlert {
  return {
    gateway: r.gateway,
    device: r.device,
    metric: r.metric === null || r.metric === '' ? undefined : (r.metric as Metric),
    rule: r.rule,
    kind: r.kind as RuleKind,
    severity: r.severity as Severity,
    value: r.value ?? undefined,
    threshold: r.threshold ?? undefined,
    since: r.since,
    ts: r.ts,
  }
}
