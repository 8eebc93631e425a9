import type BetterSqlite3 from 'better-sqlite3'
import { ERR, FloxgateError } from '../errors.js'
import type { Reading } from '../gateway/reading.js'
import type { Log } from '../ops/log.js'
import { BatchWriter } from './batch-writer.js'
import { FileIdentity } from './file-identity.js'
import { type KeptWindows, keepWindows, takeWindows } from './kept-windows.js'
import { NotificationQueue } from './notification-queue.js'
import { openDatabase } from './open-database.js'
import { DEFAULT_OUTBOX, emptyTally, Outbox, type OutboxOptions } from './outbox.js'
import { StoreQueries } from './queries.js'
import { Retention, type RetentionResult } from './retention.js'
import { type BatchOutcome, RowWriter } from './row-writer.js'
import { SeriesIndex } from './series-index.js'
import type {
  DropReason,
  Durability,
  DurableCallback,
  OutboxStats,
  RowKind,
  StoreHealth,
  StoreItem,
  Urgency,
  WriterStats,
} from './types.js'

export interface StoreOptions {
  readonly file: string
  /** `normal` = PRAGMA synchronous=NORMAL (survives a process crash), `full` = power loss. */
  readonly durability?: Durability
  /** Cap on the database's used size; retention deletes oldest rows to stay under it. */
  readonly maxSizeBytes?: number
  /** Rows older than this are deleted by `retain()`. */
  readonly maxAgeMs?: number
  readonly nativeBinding?: string
  readonly logger?: Log
  readonly integrityCheck?: 'quick' | 'none'
  /** For the CLI (`export`, `status`) beside a running daemon: queries only, writes fail. */
  readonly readonly?: boolean
  /** Group commit: at most this many rows per transaction (default 2000)... */
  readonly batchMaxRows?: number
  /** ...and at most this long before a write is committed (default 50 ms)... */
  readonly batchMaxDelayMs?: number
  /** ...or this long for a write nobody waits for (urgency `later`; default batchMaxDelayMs). */
  readonly batchRelaxedDelayMs?: number
  /**
   * ...or as soon as the input is idle while a write someone waits for is queued; when
   * false (the default), only while FULL_WINDOW of them are.
   */
  readonly batchCommitWhenIdle?: boolean
  /** Rows kept in memory for retry while commits fail (default 10,000). */
  readonly maxRetryRows?: number
  readonly retryDelayMs?: number
  /** One queue per uplink (its id, streams, cap, drop policy, TTL); default one, every stream. */
  readonly outboxes?: readonly OutboxOptions[]
  /** Shorthand for `outboxes: [outbox]` (the `default` uplink). */
  readonly outbox?: OutboxOptions
  /** Dead-letter payloads are cut to this many bytes (default 4 KiB). */
  readonly deadLetterPayloadMax?: number
  /** Injectable clock (ms since the epoch) for outbox timestamps and TTL. */
  readonly now?: () => number
  /**
   * False while the system clock cannot be trusted (src/ops/clock-sanity.ts): the outbox
   * TTL, age retention and the pruning of remembered deliveries wait; size retention runs.
   */
  readonly clockSane?: () => boolean
  /** After each COMMIT: what it stored (rows actually inserted) and how long it took. */
  readonly onCommit?: (report: CommitReport) => void
}

export interface CommitReport {
  /** Rows inserted by kind (better-sqlite3's `changes`), duplicates not included. */
  readonly inserted: Readonly<Record<RowKind, number>>
  /** Readings the database already held under the same key, ignored. */
  readonly duplicates: number
  readonly seconds: number
}

/** Deliveries (message ids, packet ids) are remembered this long for redelivery checks. */
const DELIVERY_MEMORY_MS = 24 * 3_600_000

/** Delivery sources whose newest committed id is kept in memory. */
const MAX_DELIVERY_SOURCES = 10_000

/**
 * With `commitWhenIdle` off, an idle input still commits at once when this many
 * acknowledgements wait: the smallest in-flight window of common brokers (Mosquitto to an
 * MQTT 3 client, VerneMQ: 20; EMQX: 32), so a broker that stopped at its window is not
 * held for maxDelayMs (window / maxDelayMs = 1,000 messages/s at 20 ms), while at
 * moderate rates commits stay about one per maxDelayMs.
 */
const FULL_WINDOW = 20

/** Outbox drops are logged at most this often (the counts always add up). */
const DROP_LOG_MS = 5000

/** Codes that mean "the environment", not the row: keep the batch and retry. */
const ENVIRONMENT_CODES =
  /^(SQLITE_(FULL|IOERR|BUSY|LOCKED|CANTOPEN|READONLY|CORRUPT|NOMEM|NOTADB)|FLX_ERR_STORE_FILE_REPLACED$)/

/**
 * The gateway's durable local buffer: readings, aggregates, alerts and dead letters,
 * with their uplink outbox rows, written through one group-committing writer.
 */
export class Store {
  readonly file: string
  /** The connection (one writer per file). */
  readonly database: BetterSqlite3.Database
  /** The uplinks' queues, by uplink id; forwarders read and delete through these. */
  readonly outboxes: ReadonlyMap<string, Outbox>
  /** The alert notifications waiting for their sinks; the notifier settles them here. */
  readonly notifications: NotificationQueue
  private readonly writer: BatchWriter<StoreItem>
  private readonly rows: RowWriter
  private readonly retention: Retention
  private readonly queries: StoreQueries
  private readonly now: () => number
  private readonly clockSane: () => boolean
  private readonly logger: Log | undefined
  private readonly written: Record<RowKind, number> = {
    reading: 0,
    aggregate: 0,
    alert: 0,
    delivery: 0,
    'dead-letter': 0,
  }
  /** Per series: id, newest ts, readings written but not committed (the identity checks). */
  private readonly series: SeriesIndex
  /** Deliveries written but not committed yet. */
  private readonly pendingDeliveries = new Map<string, { digest: string; n: number }>()
  /** Per delivery source, the id committed last (null: none); loaded per source on first use. */
  private readonly newestDeliveries = new Map<string, string | null>()
  private lookups:
    | {
        reading: BetterSqlite3.Statement<[number, number, number], unknown>
        delivery: BetterSqlite3.Statement<[string, string], { digest: string }>
        prune: BetterSqlite3.Statement<[number]>
        newestDelivery: BetterSqlite3.Statement<[string], { id: string }>
      }
    | undefined
  private readonly onCommit: ((report: CommitReport) => void) | undefined
  private readonly dropped: Record<DropReason, number> = emptyTally()
  private duplicates = 0
  /** Readings given up while commits failed (the `unhealthy` drops: never stored). */
  private readingsGivenUp = 0
  private outboxRowsWritten = 0
  private closed = false
  private readonly readOnly: boolean
  /** The file opened, to notice it deleted or replaced under us (not for read-only use). */
  private readonly identity: FileIdentity | undefined
  private replacedLogged = false
  private retentionQueued = false
  /** Outbox drops not yet logged, and when the last drop line went out. */
  private unloggedDrops: Record<DropReason, number> = emptyTally()
  private unloggedDropsByUplink: Record<string, number> = {}
  private lastDropLog = Number.NEGATIVE_INFINITY
  private dropLogTimer: NodeJS.Timeout | undefined

  constructor(opts: StoreOptions) {
    this.file = opts.file
    this.readOnly = opts.readonly === true
    this.now = opts.now ?? Date.now
    this.clockSane = opts.clockSane ?? (() => true)
    this.logger = opts.logger
    this.onCommit = opts.onCommit
    this.database = openDatabase(opts)
    this.identity = this.readOnly ? undefined : new FileIdentity(opts.file)
    const db = this.database
    const queues = opts.outboxes ?? [opts.outbox ?? {}]
    this.outboxes = new Map(
      queues.map((o) => {
        const q = new Outbox(db, o)
        return [q.id, q] as const
      }),
    )
    this.notifications = new NotificationQueue(db)
    this.series = new SeriesIndex(db)
    this.rows = new RowWriter(
      opts.file,
      db,
      this.series,
      [...this.outboxes.values()],
      this.notifications,
      opts.deadLetterPayloadMax ?? 4096,
    )
    this.retention = new Retention(db, opts.file, {
      ...(opts.maxAgeMs === undefined ? {} : { maxAgeMs: opts.maxAgeMs }),
      ...(opts.maxSizeBytes === undefined ? {} : { maxSizeBytes: opts.maxSizeBytes }),
    })
    this.queries = new StoreQueries(db)
    this.writer = new BatchWriter<StoreItem>({
      maxRows: opts.batchMaxRows ?? 2000,
      maxDelayMs: opts.batchMaxDelayMs ?? 50,
      relaxedDelayMs: opts.batchRelaxedDelayMs ?? opts.batchMaxDelayMs ?? 50,
      idleCommitAfter: opts.batchCommitWhenIdle === true ? 1 : FULL_WINDOW,
      maxRetryItems: opts.maxRetryRows ?? 10_000,
      retryDelayMs: opts.retryDelayMs ?? 1000,
      weight: rowsOf,
      commit: (items) => {
        const started = performance.now()
        const outcome = this.rows.commit(items, this.now(), this.clockSane())
        // After the COMMIT, before any acknowledgement: committed to a file that is no
        // longer at the path is as good as lost, so it counts as a failed commit.
        const replaced = this.identity?.change()
        if (replaced !== undefined) throw ERR.STORE_FILE_REPLACED(this.file, replaced)
        this.noteDeliveries(items)
        this.settle(items)
        this.applyOutcome(outcome, (performance.now() - started) / 1000)
      },
      onGiveUp: (items) => {
        for (const item of items)
          if (item.kind === 'readings') this.readingsGivenUp += item.readings.length
        this.settle(items)
      },
      isEnvironmentError: (err) => ENVIRONMENT_CODES.test(String((err as { code?: unknown }).code)),
      describe: (err) => this.describe(err),
      closedError: () => ERR.STORE_CLOSED(opts.file),
      logger: opts.logger,
    })
  }

  /**
   * Queues an item for the next group commit. `onDurable(null)` fires after the COMMIT
   * holding it returned; `onDurable(err)` when it could not be stored (do not acknowledge).
   * `urgency`: how soon (types.ts): `ack` a sender waits, `soon` others act on it,
   * `later` nobody waits (a QoS 0 reading: it may wait batchRelaxedDelayMs).
   */
  write(item: StoreItem, onDurable?: DurableCallback, urgency: Urgency = 'ack'): void {
    if (this.closed) {
      const err = ERR.STORE_CLOSED(this.file)
      if (onDurable === undefined) throw err
      process.nextTick(() => onDurable(err))
      return
    }
    this.pend(item)
    this.writer.write(item, onDurable, urgency)
  }

  /** True when this exact reading (device, metric, ts, value) is stored or being stored. */
  hasReading(r: Reading): boolean {
    const s = this.series.state(r.device, r.metric)
    // The common case, a reading newer than everything written for its series: no query
    // and no key string (it was one SELECT per value on the hot path; issue 11).
    if (r.ts > s.newest) return false
    if (s.isPending(r.ts, r.value)) return true
    if (s.id === undefined) return false
    return this.statements().reading.get(r.ts, s.id, r.value) !== undefined
  }

  /** After COMMIT: each committed delivery is its source's newest. */
  private noteDeliveries(items: readonly StoreItem[]): void {
    for (const item of items) {
      if (item.kind === 'readings' && item.delivery !== undefined) {
        this.rememberNewestDelivery(item.delivery.source, item.delivery.id)
      }
    }
  }

  /** The delivery stored (or being stored: `pending`) under (source, id), undefined when unknown. */
  delivery(source: string, id: string): { digest: string; pending: boolean } | undefined {
    const pending = this.pendingDeliveries.get(`${source}\u0000${id}`)
    if (pending !== undefined) return { digest: pending.digest, pending: true }
    const row = this.statements().delivery.get(source, id)
    return row === undefined ? undefined : { digest: row.digest, pending: false }
  }

  /** The id of the source's delivery committed last, undefined when none is remembered. */
  newestDelivery(source: string): string | undefined {
    let id = this.newestDeliveries.get(source)
    if (id === undefined) {
      id = this.statements().newestDelivery.get(source)?.id ?? null
      this.rememberNewestDelivery(source, id)
    }
    return id ?? undefined
  }

  private rememberNewestDelivery(source: string, id: string | null): void {
    this.newestDeliveries.delete(source)
    this.newestDeliveries.set(source, id)
    // bounded: the least recently used source is looked up again when it returns
    if (this.newestDeliveries.size > MAX_DELIVERY_SOURCES) {
      this.newestDeliveries.delete(this.newestDeliveries.keys().next().value as string)
    }
  }

  private statements() {
    this.lookups ??= {
      reading: this.database.prepare<[number, number, number], unknown>(
        'SELECT 1 FROM readings WHERE ts = ? AND series = ? AND value = ?',
      ),
      delivery: this.database.prepare<[string, string], { digest: string }>(
        'SELECT digest FROM deliveries WHERE source = ? AND id = ?',
      ),
      prune: this.database.prepare<[number]>('DELETE FROM deliveries WHERE at < ?'),
      newestDelivery: this.database.prepare<[string], { id: string }>(
        'SELECT id FROM deliveries WHERE source = ? ORDER BY at DESC LIMIT 1',
      ),
    }
    return this.lookups
  }

  private pend(item: StoreItem): void {
    if (item.kind !== 'readings') return
    for (const r of item.readings) this.series.state(r.device, r.metric).pend(r.ts, r.value)
    const d = item.delivery
    if (d !== undefined) {
      const k = `${d.source}\u0000${d.id}`
      const p = this.pendingDeliveries.get(k)
      this.pendingDeliveries.set(k, { digest: d.digest, n: (p?.n ?? 0) + 1 })
    }
  }

  /** Committed or given up: the database (or nobody) knows these items now. */
  private settle(items: readonly StoreItem[]): void {
    for (const item of items) {
      if (item.kind !== 'readings') continue
      for (const r of item.readings) this.series.state(r.device, r.metric).settle(r.ts, r.value)
      const d = item.delivery
      if (d === undefined) continue
      const k = `${d.source}\u0000${d.id}`
      const p = this.pendingDeliveries.get(k)
      if (p === undefined) continue
      if (p.n > 1) p.n--
      else this.pendingDeliveries.delete(k)
    }
    this.series.trim()
  }

  /** Commits everything pending now; returns after COMMIT. */
  flush(): void {
    if (!this.closed) this.writer.flush()
  }

  /** Keeps the aggregate windows of a gateway that stops, for the next start. */
  keepWindows(kept: KeptWindows): void {
    keepWindows(this.database, kept)
  }

  /** The windows kept at the last graceful stop, forgotten in the database as they are read. */
  takeWindows(): KeptWindows {
    return takeWindows(this.database)
  }

  /** Flushes, then closes the database. Idempotent. */
  close(): void {
    if (this.closed) return
    const lost = this.writer.close()
    this.closed = true
    this.logDrops(true)
    if (lost > 0) this.logger?.error({ lost }, 'store: rows kept for retry were not stored')
    this.database.close()
  }

  health(): StoreHealth {
    if (this.closed) return { ok: false, reason: 'closed' }
    // Also without traffic: /healthz says it before the next commit fails.
    const replaced = this.identity?.change()
    if (replaced !== undefined) {
      const err = ERR.STORE_FILE_REPLACED(this.file, replaced)
      if (!this.replacedLogged) this.logger?.error({ err }, 'store: the database file changed')
      this.replacedLogged = true
      return { ok: false, reason: err.message }
    }
    return this.writer.health()
  }

  stats(): WriterStats {
    const w = this.writer.stats()
    return {
      rowsWritten: { ...this.written },
      outboxRowsWritten: this.outboxRowsWritten,
      duplicates: this.duplicates,
      batches: w.batches,
      failedBatches: w.failedBatches,
      lastCommitMs: w.lastCommitMs,
      maxCommitMs: w.maxCommitMs,
      totalCommitMs: w.totalCommitMs,
      pending: w.pending,
      retrying: w.retrying,
      droppedUnhealthy: w.droppedUnhealthy,
      lastError: w.lastError,
    }
  }

  /** The queue of one uplink (`default` for the `uplink:` section). */
  outbox(id: string = DEFAULT_OUTBOX): Outbox {
    const q = this.outboxes.get(id)
    if (q === undefined) throw ERR.UPLINK_BAD_OPTION('id', `"${id}" has no outbox in this store`)
    return q
  }

  /** All uplinks' queues together: rows and bytes summed, the oldest row of any. */
  outboxStats(): OutboxStats {
    let rows = 0
    let bytes = 0
    let oldest: number | undefined
    for (const q of this.outboxes.values()) {
      const b = q.backlog()
      rows += b.rows
      bytes += b.bytes
      if (b.oldestCreatedAt !== undefined && (oldest === undefined || b.oldestCreatedAt < oldest))
        oldest = b.oldestCreatedAt
    }
    return {
      rows,
      bytes,
      oldestCreatedAt: oldest,
      // Readings never stored (the other reasons are outbox rows, stored locally), so
      // that in = stored + duplicates + dead letters + unhealthy on /metrics.
      dropped: { ...this.dropped, unhealthy: this.readingsGivenUp },
    }
  }

  /**
   * Deletes rows past `maxAgeMs`, then oldest rows while over `maxSizeBytes`, in chunks
   * that yield to the event loop. Call it on a timer; the store also starts it itself
   * when a commit takes the file near its cap.
   */
  retain(now: number = this.now()): Promise<RetentionResult> {
    if (!this.clockSane()) return this.retention.retain(undefined)
    if (!this.readOnly) this.statements().prune.run(now - DELIVERY_MEMORY_MS)
    return this.retention.retain(now)
  }

  /** Database + WAL bytes on disk. */
  fileBytes(): number {
    return this.retention.fileBytes()
  }

  latestReadings() {
    return this.queries.latestReadings()
  }
  newestReceivedAt() {
    return this.queries.newestReceivedAt()
  }
  activeAlerts() {
    return this.queries.activeAlerts()
  }
  lastHeard(device: string) {
    return this.queries.lastHeard(device)
  }
  counts() {
    return this.queries.counts()
  }
  readings(...args: Parameters<StoreQueries['readings']>) {
    return this.queries.readings(...args)
  }
  aggregates(...args: Parameters<StoreQueries['aggregates']>) {
    return this.queries.aggregates(...args)
  }
  deadLetters(...args: Parameters<StoreQueries['deadLetters']>) {
    return this.queries.deadLetters(...args)
  }
  alertHistory(...args: Parameters<StoreQueries['alertHistory']>) {
    return this.queries.alertHistory(...args)
  }

  /**
   * One line per DROP_LOG_MS at most: with the uplink down for days and the buffer full,
   * every batch drops rows, and a line per batch would wear the SD card through journald.
   * Each line carries the drops since the previous one, so the lines add up to the total.
   */
  private logDrops(now: boolean): void {
    const pending = this.unloggedDrops
    const n = pending['drop-oldest'] + pending['reject-new'] + pending.ttl
    if (n === 0) return
    const wait = this.lastDropLog + DROP_LOG_MS - Date.now()
    if (!now && wait > 0) {
      this.dropLogTimer ??= setTimeout(() => {
        this.dropLogTimer = undefined
        this.logDrops(true)
      }, wait).unref()
      return
    }
    clearTimeout(this.dropLogTimer)
    this.dropLogTimer = undefined
    const byUplink = this.unloggedDropsByUplink
    this.unloggedDrops = emptyTally()
    this.unloggedDropsByUplink = {}
    this.lastDropLog = Date.now()
    const ids = Object.keys(byUplink)
    this.logger?.warn(
      { ...pending, uplinks: byUplink },
      `store: dropped ${n} queued rows of uplink ${ids.join(', ')}: its queue is full or rows expired (maxBufferMB, dropPolicy, ttlHours of that entry of uplinks:, or of uplink:); is the upstream reachable? (floxgate status, /healthz)`,
    )
  }

  private applyOutcome(o: BatchOutcome, seconds: number): void {
    this.onCommit?.({ inserted: o.inserted, duplicates: o.duplicates, seconds })
    for (const k of Object.keys(o.inserted) as RowKind[]) {
      this.written[k] += o.inserted[k]
    }
    this.duplicates += o.duplicates
    this.outboxRowsWritten += o.outboxRows
    for (const k of Object.keys(o.drops) as DropReason[]) this.dropped[k] += o.drops[k]
    const dropped = o.drops['drop-oldest'] + o.drops['reject-new'] + o.drops.ttl
    if (dropped > 0) {
      for (const k of Object.keys(o.drops) as DropReason[]) this.unloggedDrops[k] += o.drops[k]
      for (const [id, n] of Object.entries(o.dropsByUplink))
        this.unloggedDropsByUplink[id] = (this.unloggedDropsByUplink[id] ?? 0) + n
      this.logDrops(false)
    }
    if (!this.retentionQueued && this.retention.overCap()) {
      // Not inside the commit: let the callbacks of this batch go out first.
      this.retentionQueued = true
      setImmediate(() => {
        this.retentionQueued = false
        if (this.closed) return
        this.retain().catch((err: unknown) =>
          this.logger?.error({ err }, 'store: retention failed'),
        )
      })
    }
  }

  private describe(err: unknown): Error {
    if (err instanceof FloxgateError) return err
    const code = String((err as { code?: unknown }).code)
    const message = err instanceof Error ? err.message : String(err)
    const made = code.startsWith('SQLITE_FULL')
      ? ERR.STORE_FULL(this.file, message)
      : code.startsWith('SQLITE_CORRUPT') || code === 'SQLITE_NOTADB'
        ? ERR.STORE_CORRUPT(this.file, message)
        : ERR.STORE_WRITE_FAILED(this.file, message)
    return Object.assign(made, { cause: err })
  }
}

export function openStore(opts: StoreOptions): Store {
  return new Store(opts)
}

/**
 * Rows an item writes, so that maxRows bounds a transaction's rows whatever the mix: a
 * QoS 1 message is its readings, their uplink rows and its delivery record. (Counting
 * readings alone let three QoS 1 messages sit under maxRows 5 until maxDelayMs.)
 */
function rowsOf(item: StoreItem): number {
  const outbox = item.outbox === undefined ? 0 : item.outbox.length
  if (item.kind === 'alert') return 1 + outbox + (item.notifications?.length ?? 0)
  if (item.kind !== 'readings') return 1 + outbox
  const rows = item.readings.length + outbox + (item.delivery === undefined ? 0 : 1)
  return rows === 0 ? 1 : rows
}
