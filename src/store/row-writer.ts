import type BetterSqlite3 from 'better-sqlite3'
import { ERR } from '../errors.js'
import {
  type Aggregate,
  type AlertEvent,
  alertRecord,
  type DeadLetter,
  type Reading,
} from '../gateway/reading.js'
import { MultiRowInsert } from './multi-row-insert.js'
import type { NotificationQueue } from './notification-queue.js'
import { type DropTally, emptyTally, type Outbox } from './outbox.js'
import type { SeriesIndex, SeriesState } from './series-index.js'
import type { OutboxEntry, RowKind, StoreItem } from './types.js'

/** What one committed batch did, applied to the stats only after COMMIT. */
export interface BatchOutcome {
  readonly inserted: Record<RowKind, number>
  duplicates: number
  outboxRows: number
  readonly drops: DropTally
  /** Rows dropped (any reason) per uplink id, so the log can name the uplink. */
  readonly dropsByUplink: Record<string, number>
}

function dropCount(t: DropTally): number {
  return t['drop-oldest'] + t['reject-new'] + t.ttl
}

function emptyOutcome(): BatchOutcome {
  const inserted: Record<RowKind, number> = {
    reading: 0,
    aggregate: 0,
    alert: 0,
    delivery: 0,
    'dead-letter': 0,
  }
  return { inserted, duplicates: 0, outboxRows: 0, drops: emptyTally(), dropsByUplink: {} }
}

/**
 * The SQL of one batch: every item of a group commit in one transaction. Device and
 * metric names map to `series` ids through the store's SeriesIndex; an id learnt in a
 * transaction that rolls back is forgotten again (that row does not exist).
 */
export class RowWriter {
  private readonly stmts
  private readonly tx: BetterSqlite3.Transaction<
    (items: readonly StoreItem[], now: number, expire: boolean) => BatchOutcome
  >
  /** Series whose id this transaction created or found: forgotten if it rolls back. */
  private learnt: SeriesState[] = []
  /** Series with a reading in this batch: their newest goes to `latest` once, at its end. */
  private touched: SeriesState[] = []
  /** Readings without an uplink row, and the `latest` rows: many rows per statement. */
  private readonly readingRows: MultiRowInsert
  private readonly latestRows: MultiRowInsert
  /** Readings queued in `readingRows` since its last flush. */
  private queuedReadings = 0

  constructor(
    private readonly file: string,
    db: BetterSqlite3.Database,
    private readonly index: SeriesIndex,
    private readonly outboxes: readonly Outbox[],
    private readonly notifications: NotificationQueue,
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
      delivery: db.prepare<[string, string, string, number]>(
        `INSERT INTO deliveries (source, id, digest, at) VALUES (?, ?, ?, ?)
         ON CONFLICT (source, id) DO UPDATE SET digest = excluded.digest, at = excluded.at`,
      ),
      deadLetter: db.prepare<[number, string, Buffer, string, string, string | null]>(
        `INSERT INTO dead_letters (received_at, topic, payload, reason, detail, device)
         VALUES (?, ?, ?, ?, ?, ?)`,
      ),
    }
    this.readingRows = new MultiRowInsert(
      db,
      'INSERT OR IGNORE INTO readings (ts, series, value, recv_delay) VALUES',
      4,
    )
    this.latestRows = new MultiRowInsert(
      db,
      'INSERT INTO latest (series, ts, value) VALUES',
      3,
      `ON CONFLICT (series) DO UPDATE SET ts = excluded.ts, value = excluded.value
       WHERE excluded.ts >= latest.ts`,
    )
    this.tx = db.transaction((items: readonly StoreItem[], now: number, expire: boolean) =>
      this.run(items, now, expire),
    )
  }

  /**
   * Writes the items in one transaction; returns after COMMIT (or throws, rolled back).
   * `expire` false holds the outboxes' TTL (an untrusted clock).
   */
  commit(items: readonly StoreItem[], now: number, expire = true): BatchOutcome {
    this.learnt.length = 0
    this.touched.length = 0
    try {
      return this.tx.immediate(items, now, expire)
    } catch (err) {
      this.index.forgetIds(this.learnt)
      for (const s of this.touched) s.batchTs = Number.NEGATIVE_INFINITY
      this.readingRows.clear()
      this.latestRows.clear()
      this.queuedReadings = 0
      throw err
    } finally {
      this.learnt.length = 0
      this.touched.length = 0
    }
  }

  private run(items: readonly StoreItem[], now: number, expire: boolean): BatchOutcome {
    const out = emptyOutcome()
    for (const item of items) {
      switch (item.kind) {
        case 'readings':
          this.writeReadings(item.readings, item.outbox, out, now, expire)
          if (item.delivery !== undefined) {
            const d = item.delivery
            this.stmts.delivery.run(d.source, d.id, d.digest, item.at)
            out.inserted.delivery++
          }
          continue
        case 'aggregate':
          // floxgate_readings_duplicate_total counts readings only: an aggregate
          // already stored is skipped (with its outbox rows), not counted
          if (!this.writeAggregate(item.aggregate)) continue
          break
        case 'alert':
          this.writeAlert(item.alert)
          if (item.notifications !== undefined) {
            this.notifications.add(item.notifications, now)
          }
          break
        case 'dead-letter':
          this.writeDeadLetter(item.deadLetter)
          break
      }
      out.inserted[item.kind]++
      if (item.outbox !== undefined) this.admit(item.outbox, out, now, expire)
    }
    const inserted = this.readingRows.flush()
    out.inserted.reading += inserted
    out.duplicates += this.queuedReadings - inserted
    this.queuedReadings = 0
    for (const s of this.touched) {
      this.latestRows.add(s.id, s.batchTs, s.batchValue)
      s.batchTs = Number.NEGATIVE_INFINITY
    }
    this.latestRows.flush()
    return out
  }

  private admit(
    entries: readonly OutboxEntry[],
    out: BatchOutcome,
    now: number,
    expire: boolean,
  ): void {
    if (entries.length === 0) return
    for (const q of this.outboxes) {
      const before = dropCount(out.drops)
      out.outboxRows += q.admit(entries, now, out.drops, expire)
      const dropped = dropCount(out.drops) - before
      if (dropped > 0) out.dropsByUplink[q.id] = (out.dropsByUplink[q.id] ?? 0) + dropped
    }
  }

  /**
   * A reading already stored (a redelivery) is counted as a duplicate, and its outbox
   * entry is skipped too: readings with an uplink row are inserted one by one to know
   * which; the others go many to a statement, which only says how many were new.
   */
  private writeReadings(
    readings: readonly Reading[],
    outbox: readonly OutboxEntry[] | undefined,
    out: BatchOutcome,
    now: number,
    expire: boolean,
  ): void {
    let forward: OutboxEntry[] | undefined
    for (let i = 0; i < readings.length; i++) {
      const r = readings[i] as Reading
      const s = this.index.state(r.device, r.metric)
      const id = s.id ?? this.learnId(s)
      const entry = outbox?.[i]
      if (entry === undefined) {
        this.readingRows.add(r.ts, id, r.value, r.receivedAt - r.ts)
        this.queuedReadings++
      } else if (this.stmts.reading.run(r.ts, id, r.value, r.receivedAt - r.ts).changes === 1) {
        out.inserted.reading++
        forward ??= []
        forward.push(entry)
      } else {
        out.duplicates++
        continue
      }
      // A row that turns out to be stored already is the same reading: `latest` may take it.
      if (s.batchTs === Number.NEGATIVE_INFINITY) this.touched.push(s)
      if (r.ts >= s.batchTs) {
        s.batchTs = r.ts
        s.batchValue = r.value
      }
    }
    if (forward !== undefined) this.admit(forward, out, now, expire)
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
    const row = { ...alertRecord(a), metricKey: a.metric ?? '' }
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

  private seriesId(device: string, metric: string): number {
    const s = this.index.state(device, metric)
    return s.id ?? this.learnId(s)
  }

  /** Finds or inserts the series row inside this transaction. */
  private learnId(s: SeriesState): number {
    const row =
      this.stmts.findSeries.get(s.device, s.metric) ??
      this.stmts.insertSeries.get(s.device, s.metric)
    if (row === undefined)
      throw ERR.STORE_WRITE_FAILED(this.file, 'INSERT ... RETURNING gave no row')
    s.id = row.id
    this.learnt.push(s)
    return row.id
  }
}
