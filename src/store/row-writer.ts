import type BetterSqlite3 from 'better-sqlite3'
import type { Aggregate, AlertEvent, DeadLetter, Reading } from '../gateway/reading.js'
import { type DropTally, emptyTally, type Outbox } from './outbox.js'
import type { StoreItem } from './types.js'

/** What one committed batch did, applied to the stats only after COMMIT. */
export interface BatchOutcome {
  readonly inserted: Record<StoreItem['kind'], number>
  duplicates: number
  outboxRows: number
  readonly drops: DropTally
}

type Kind = StoreItem['kind']

function emptyOutcome(): BatchOutcome {
  const inserted: Record<Kind, number> = {
    reading: 0,
    aggregate: 0,
    alert: 0,
    delivery: 0,
    'dead-letter': 0,
  }
  return { inserted, duplicates: 0, outboxRows: 0, drops: emptyTally() }
}

/**
 * The SQL of one batch: every item of a group commit in one transaction. Device and
 * metric names map to `series` ids through a cache that learns new ids only after the
 * transaction commits (a rollback must not leave ids that do not exist).
 */
export class RowWriter {
  private readonly series = new Map<string, number>()
  private readonly stmts
  private readonly tx: BetterSqlite3.Transaction<
    (items: readonly StoreItem[], now: number, expire: boolean) => BatchOutcome
  >
  private newSeries = new Map<string, number>()
  /** Latest (ts, value) per series in the current batch, written once at its end. */
  private latest = new Map<number, { ts: number; value: number }>()

  constructor(
    db: BetterSqlite3.Database,
    private readonly outboxes: readonly Outbox[],
    private readonly deadLetterPayloadMax: number,
  ) {
    this.stmts = {
      findSeries: db.prepare<[string, string], { id: number }>(
        'SELECT id FROM series WHERE device = ? AND metric = ?',
      ),
      insertSeries: db.prepare<[string, string], { id: number }>(
        'INSERT INTO series (device, metric) VALUES (?, ?) RETURNING id',
      ),
      reading: db.prepare<[number, number, number, number]>(
        'INSERT OR IGNORE INTO readings (ts, series, value, recv_delay) VALUES (?, ?, ?, ?)',
      ),
      latest: db.prepare<[number, number, number]>(
        `INSERT INTO latest (series, ts, value) VALUES (?, ?, ?)
         ON CONFLICT (series) DO UPDATE SET ts = excluded.ts, value = excluded.value
         WHERE excluded.ts >= latest.ts`,
      ),
      aggregate: db.prepare<[number, number, number, number, number, number, number, number]>(
        `INSERT OR IGNORE INTO aggregates (window_start, series, window_end, count, min, max, mean, last)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
      ),
      alertEvent: db.prepare(
        `INSERT INTO alert_events (ts, gateway, device, metric, rule, kind, severity, state, value, threshold, since)
         VALUES (@ts, @gateway, @device, @metric, @rule, @kind, @severity, @state, @value, @threshold, @since)`,
      ),
      alertRaise: db.prepare(
        `INSERT OR REPLACE INTO alert_state (device, metric, rule, gateway, kind, severity, value, threshold, since, ts)
         VALUES (@device, @metricKey, @rule, @gateway, @kind, @severity, @value, @threshold, @since, @ts)`,
      ),
      alertClear: db.prepare<[string, string, string]>(
        'DELETE FROM alert_state WHERE device = ? AND metric = ? AND rule = ?',
      ),
      notification: db.prepare<[string, string, number]>(
        'INSERT INTO notifications (sink, payload, created_at) VALUES (?, ?, ?)',
      ),
      delivery: db.prepare<[string, string, string, number]>(
        `INSERT INTO deliveries (source, id, digest, at) VALUES (?, ?, ?, ?)
         ON CONFLICT (source, id) DO UPDATE SET digest = excluded.digest, at = excluded.at`,
      ),
      deadLetter: db.prepare<[number, string, Buffer, string, string, string | null]>(
        `INSERT INTO dead_letters (received_at, topic, payload, reason, detail, device)
         VALUES (?, ?, ?, ?, ?, ?)`,
      ),
    }
    // Warm the cache with a bounded number of short-named series only: a database may hold
    // series a hostile client created before ids were bounded (40 KB ids), and start must
    // never load an unbounded amount of them. Others are looked up on first use.
    for (const r of db
      .prepare(`SELECT id, device, metric FROM series WHERE length(device) <= ? LIMIT ?`)
      .all(WARM_MAX_DEVICE_CHARS, MAX_CACHED_SERIES) as {
      id: number
      device: string
      metric: string
    }[]) {
      this.series.set(seriesKey(r.device, r.metric), r.id)
    }
    this.tx = db.transaction((items: readonly StoreItem[], now: number, expire: boolean) =>
      this.run(items, now, expire),
    )
  }

  /**
   * Writes the items in one transaction; returns after COMMIT (or throws, rolled back).
   * `expire` false holds the outboxes' TTL (an untrusted clock).
   */
  commit(items: readonly StoreItem[], now: number, expire = true): BatchOutcome {
    this.newSeries = new Map()
    this.latest = new Map()
    const outcome = this.tx.immediate(items, now, expire)
    // bounded: past the cap the cache starts over (the UNIQUE index answers lookups)
    if (this.series.size + this.newSeries.size > MAX_CACHED_SERIES) this.series.clear()
    for (const [k, id] of this.newSeries) this.series.set(k, id)
    return outcome
  }

  private run(items: readonly StoreItem[], now: number, expire: boolean): BatchOutcome {
    const out = emptyOutcome()
    for (const item of items) {
      const fresh = this.writeOne(item)
      if (!fresh) {
        out.duplicates++
        continue
      }
      out.inserted[item.kind]++
      if (item.outbox !== undefined && item.outbox.length > 0) {
        for (const q of this.outboxes)
          out.outboxRows += q.admit(item.outbox, now, out.drops, expire)
      }
      if (item.kind === 'alert' && item.notifications !== undefined) {
        for (const n of item.notifications) this.stmts.notification.run(n.sink, n.payload, now)
      }
    }
    for (const [series, l] of this.latest) this.stmts.latest.run(series, l.ts, l.value)
    return out
  }

  /** False when the row was already stored (a redelivery): its outbox entries are skipped too. */
  private writeOne(item: StoreItem): boolean {
    switch (item.kind) {
      case 'reading':
        return this.writeReading(item.reading)
      case 'aggregate':
        return this.writeAggregate(item.aggregate)
      case 'alert':
        this.writeAlert(item.alert)
        return true
      case 'dead-letter':
        this.writeDeadLetter(item.deadLetter)
        return true
      case 'delivery': {
        const d = item.delivery
        if (d !== undefined) this.stmts.delivery.run(d.source, d.id, d.digest, item.at)
        return true
      }
    }
  }

  private writeReading(r: Reading): boolean {
    const id = this.seriesId(r.device, r.metric)
    const fresh = this.stmts.reading.run(r.ts, id, r.value, r.receivedAt - r.ts).changes === 1
    const seen = this.latest.get(id)
    if (fresh && (seen === undefined || r.ts >= seen.ts)) {
      this.latest.set(id, { ts: r.ts, value: r.value })
    }
    return fresh
  }

  private writeAggregate(a: Aggregate): boolean {
    const id = this.seriesId(a.device, a.metric)
    return (
      this.stmts.aggregate.run(
        a.windowStart,
        id,
        a.windowEnd,
        a.count,
        a.min,
        a.max,
        a.mean,
        a.last,
      ).changes === 1
    )
  }

  private writeAlert(a: AlertEvent): void {
    const row = {
      ts: a.ts,
      gateway: a.gateway,
      device: a.device,
      metric: a.metric ?? null,
      metricKey: a.metric ?? '',
      rule: a.rule,
      kind: a.kind,
      severity: a.severity,
      state: a.state,
      value: a.value ?? null,
      threshold: a.threshold ?? null,
      since: a.since,
    }
    const { metricKey: _unused, ...event } = row
    this.stmts.alertEvent.run(event)
    if (a.state === 'raised') {
      const { state: _s, metric: _m, ...state } = row
      this.stmts.alertRaise.run(state)
    } else {
      this.stmts.alertClear.run(a.device, row.metricKey, a.rule)
    }
  }

  private writeDeadLetter(d: DeadLetter): void {
    const payload =
      d.payload.length > this.deadLetterPayloadMax
        ? d.payload.subarray(0, this.deadLetterPayloadMax)
        : d.payload
    this.stmts.deadLetter.run(d.receivedAt, d.topic, payload, d.reason, d.detail, d.device ?? null)
  }

  /** The series' id if it exists (committed or in this batch); no insert. */
  knownSeries(device: string, metric: string): number | undefined {
    const key = seriesKey(device, metric)
    return this.series.get(key) ?? this.newSeries.get(key)
  }

  private seriesId(device: string, metric: string): number {
    const key = seriesKey(device, metric)
    const known = this.series.get(key) ?? this.newSeries.get(key)
    if (known !== undefined) return known
    const row =
      this.stmts.findSeries.get(device, metric) ?? this.stmts.insertSeries.get(device, metric)
    if (row === undefined) throw new Error('INSERT ... RETURNING gave no row')
    this.newSeries.set(key, row.id)
    return row.id
  }
}

/** Series ids kept in memory at most. */
const MAX_CACHED_SERIES = 10_000
/** Series of longer device names are not preloaded (the parser refuses ids over 64). */
const WARM_MAX_DEVICE_CHARS = 256

function seriesKey(device: string, metric: string): string {
  return `${device}\u0000${metric}`
}
