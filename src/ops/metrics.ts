import {
  Counter,
  collectDefaultMetrics,
  Gauge,
  Histogram,
  type LabelValues,
  Registry,
} from 'prom-client'
import type { DeadLetterReason, Severity } from '../gateway/reading.js'
import { EventLoopLag } from './event-loop-lag.js'

/**
 * Values read at scrape time, not pushed on the hot path: the daemon passes getters
 * over the store, the alert node and the uplink. An unset source reads as 0.
 */
export interface MetricSources {
  readonly activeAlerts?: () => number
  /** Unknown devices accepted and not yet forgotten (those counting against the max). */
  readonly unknownDevices?: () => number
  readonly bufferRows?: () => number
  readonly bufferBytes?: () => number
  /** Each configured uplink's figures, reported with an `uplink` label (its id). */
  readonly uplinks?: () => readonly UplinkFigures[]
  /** Rows the store dropped since it opened, by reason (its running totals). */
  readonly dropped?: () => Readonly<Record<string, number>>
  /** 1 when the system clock can be trusted, 0 while it reads before a known time. */
  readonly clockSane?: () => number
}

/** One uplink's figures at scrape time. */
export interface UplinkFigures {
  /** The uplink's id (`default` for the `uplink:` section): from the config, bounded. */
  readonly id: string
  /** Rows in its queue, in flight included. */
  readonly backlogRows: number
  /** Age of its oldest row not yet acknowledged upstream, seconds (0 when empty). */
  readonly lagSeconds: number
  /** Rows its upstream took since start (acknowledged minus refused; a running total). */
  readonly sent: number
}

export interface MetricsOptions {
  /** Reported as `floxgate_build_info{version}`. */
  readonly version?: string
  /** Node.js process metrics from prom-client (CPU, heap, GC, fds); default true. */
  readonly defaultMetrics?: boolean
  /** Share the daemon's monitor (the watchdog reads it too); one is made if absent. */
  readonly eventLoop?: EventLoopLag
  readonly sources?: MetricSources
  /** Distinct values kept per label before further ones count as `other` (default 64). */
  readonly maxLabelValues?: number
}

/** Buckets for one SQLite batch commit: WAL on an SD card, 0.5 ms to 2.5 s. */
const COMMIT_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5]

/**
 * The gateway's Prometheus metrics, in a registry of their own (not prom-client's
 * global one, so two gateways in one test process do not collide).
 *
 * The hot path calls the typed methods below: an increment is a Map lookup and an
 * addition to a plain number, folded into prom-client at scrape time. Label values are
 * bounded: device class, never device id.
 */
export class GatewayMetrics {
  readonly registry: Registry
  readonly #readingsIn: BoundCounter<'device_class'>
  readonly #stored: Tally
  readonly #duplicates: Tally
  readonly #deadLetters: BoundCounter<'reason'>
  readonly #alertsRaised: BoundCounter<'severity'>
  readonly #alertsCleared: BoundCounter<'severity'>
  readonly #refusals: BoundCounter<'reason'>
  readonly #commit: Histogram
  readonly #eventLoop: EventLoopLag
  readonly #ownsEventLoop: boolean
  #sources: MetricSources
  /** The uplinks' figures while a scrape runs (text()). */
  #uplinksThisScrape: readonly UplinkFigures[] | undefined

  constructor(opts: MetricsOptions = {}) {
    const registry = new Registry()
    this.registry = registry
    this.#sources = opts.sources ?? {}
    this.#ownsEventLoop = opts.eventLoop === undefined
    this.#eventLoop = opts.eventLoop ?? new EventLoopLag()
    const max = opts.maxLabelValues ?? 64
    const registers = [registry]

    this.#readingsIn = new BoundCounter(
      'floxgate_readings_in_total',
      'Values received from sensors, by device class: each ends stored, duplicate, dead letter or dropped',
      'device_class',
      registry,
      max,
    )
    this.#stored = new Tally(
      'floxgate_readings_stored_total',
      'Readings committed to SQLite (rows actually inserted)',
      registry,
    )
    this.#duplicates = new Tally(
      'floxgate_readings_duplicate_total',
      'Readings received again (a redelivery or re-send, see docs/storage.md) and stored once',
      registry,
    )
    const droppedSeen = new Map<string, number>()
    new Counter({
      name: 'floxgate_readings_dropped_total',
      help: 'Readings discarded, by reason (buffer full, expired...)',
      labelNames: ['reason'],
      registers,
      collect() {
        // The store keeps the totals (a bounded set of reasons); the counter follows them.
        for (const [reason, total] of Object.entries(sources().dropped?.() ?? {})) {
          const seen = droppedSeen.get(reason) ?? 0
          if (total >= seen) this.inc({ reason }, total - seen)
          droppedSeen.set(reason, Math.max(seen, total))
        }
      },
    })
    this.#deadLetters = new BoundCounter(
      'floxgate_dead_letters_total',
      'Messages refused as invalid and kept in the dead-letter table, by reason',
      'reason',
      registry,
      max,
    )
    this.#alertsRaised = new BoundCounter(
      'floxgate_alerts_raised_total',
      'Alerts raised, by severity',
      'severity',
      registry,
      max,
    )
    this.#alertsCleared = new BoundCounter(
      'floxgate_alerts_cleared_total',
      'Alerts cleared, by severity',
      'severity',
      registry,
      max,
    )
    this.#refusals = new BoundCounter(
      'floxgate_refusals_total',
      'Connections, publishes or subscriptions refused, by reason',
      'reason',
      registry,
      max,
    )
    // The forwarders keep running totals; the counter follows each at scrape time and
    // never goes back (a total that restarts from 0 adds nothing until it passes the last).
    const uplinkSentSeen = new Map<string, number>()
    const uplinks = () => this.#uplinksThisScrape ?? this.#sources.uplinks?.() ?? []
    new Counter({
      name: 'floxgate_uplink_sent_total',
      help: 'Rows an upstream took (acknowledged and not refused), by uplink id',
      labelNames: ['uplink'],
      registers,
      collect() {
        for (const u of uplinks()) {
          const seen = uplinkSentSeen.get(u.id) ?? 0
          // inc(0) creates the series: an uplink that has sent nothing yet shows 0.
          this.inc({ uplink: u.id }, Math.max(0, u.sent - seen))
          uplinkSentSeen.set(u.id, Math.max(seen, u.sent))
        }
      },
    })
    this.#commit = new Histogram({
      name: 'floxgate_store_commit_seconds',
      help: 'Duration of one SQLite commit (one batch of readings)',
      buckets: COMMIT_BUCKETS,
      registers,
    })

    const sources = () => this.#sources
    const fromSource = (
      name: string,
      help: string,
      pick: (s: MetricSources) => (() => number) | undefined,
    ) =>
      new Gauge({
        name,
        help,
        registers,
        collect() {
          this.set(pick(sources())?.() ?? 0)
        },
      })
    fromSource('floxgate_alerts_active', 'Alerts currently raised', (s) => s.activeAlerts)
    fromSource(
      'floxgate_unknown_devices',
      'Unknown devices accepted and not yet forgotten (they count against unknownDevices.max)',
      (s) => s.unknownDevices,
    )
    fromSource(
      'floxgate_buffer_rows',
      'Rows in the uplink buffer (the outbox) waiting to be forwarded',
      (s) => s.bufferRows,
    )
    fromSource(
      'floxgate_buffer_bytes',
      'Size of the local SQLite buffer on disk',
      (s) => s.bufferBytes,
    )
    const perUplink = (name: string, help: string, pick: (u: UplinkFigures) => number) =>
      new Gauge({
        name,
        help,
        labelNames: ['uplink'],
        registers,
        collect() {
          this.reset()
          for (const u of uplinks()) this.set({ uplink: u.id }, pick(u))
        },
      })
    perUplink(
      'floxgate_uplink_backlog_rows',
      'Rows waiting in an uplink queue to be sent upstream, by uplink id',
      (u) => u.backlogRows,
    )
    perUplink(
      'floxgate_uplink_lag_seconds',
      'Age of the oldest row of an uplink queue not yet acknowledged upstream, by uplink id',
      (u) => u.lagSeconds,
    )
    fromSource(
      'floxgate_clock_sane',
      '1 when the system clock can be trusted; 0 while it reads before the build date or a stored receive time, and time-based decisions are held (the clock check of /healthz)',
      (s) => s.clockSane,
    )

    const eventLoop = this.#eventLoop
    new Gauge({
      name: 'floxgate_event_loop_lag_seconds',
      help: 'Event loop delay over the last 10-20 s (perf_hooks monitorEventLoopDelay)',
      labelNames: ['stat'],
      registers,
      collect() {
        const lag = eventLoop.recent()
        this.set({ stat: 'p50' }, lag.p50Ms / 1000)
        this.set({ stat: 'p99' }, lag.p99Ms / 1000)
        this.set({ stat: 'max' }, lag.maxMs / 1000)
      },
    })
    new Gauge({
      name: 'floxgate_resident_memory_bytes',
      help: 'Resident set size of the daemon',
      registers,
      collect() {
        this.set(process.memoryUsage.rss())
      },
    })
    const info = new Gauge({
      name: 'floxgate_build_info',
      help: 'Always 1; the version as a label',
      labelNames: ['version'],
      registers,
    })
    info.set({ version: opts.version ?? 'unknown' }, 1)

    // Collected on scrape only, apart from a GC observer: cheap enough for a Pi.
    // prom-client's own event-loop monitor samples every 10 ms by default: 100 wake-ups a
    // second of an idle daemon, half its idle CPU (1.1 -> 0.5 % of a core, issue 11).
    // Once a second still measures a stall; floxgate_event_loop_lag_seconds has 100 ms.
    if (opts.defaultMetrics ?? true)
      collectDefaultMetrics({ register: registry, eventLoopMonitoringPrecision: 1000 })
  }

  /** Adds or replaces scrape-time sources (e.g. after the store is reopened on reload). */
  setSources(sources: MetricSources): void {
    this.#sources = { ...this.#sources, ...sources }
  }

  readingIn(deviceClass: string, n = 1): void {
    this.#readingsIn.inc(deviceClass, n)
  }

  stored(n = 1): void {
    this.#stored.inc(n)
  }

  duplicates(n = 1): void {
    this.#duplicates.inc(n)
  }

  deadLetter(reason: DeadLetterReason, n = 1): void {
    this.#deadLetters.inc(reason, n)
  }

  alertRaised(severity: Severity): void {
    this.#alertsRaised.inc(severity, 1)
  }

  alertCleared(severity: Severity): void {
    this.#alertsCleared.inc(severity, 1)
  }

  refused(reason: string, n = 1): void {
    this.#refusals.inc(reason, n)
  }

  /** One commit's duration in seconds. */
  commitSeconds(seconds: number): void {
    this.#commit.observe(seconds)
  }

  /** Prometheus text exposition format. */
  async text(): Promise<string> {
    // Three metrics report each uplink: its figures (queries of its queue) are read once
    // per scrape, not once per metric.
    this.#uplinksThisScrape = this.#sources.uplinks?.() ?? []
    try {
      return await this.registry.metrics()
    } finally {
      this.#uplinksThisScrape = undefined
    }
  }

  get contentType(): string {
    return this.registry.contentType
  }

  /** Stops the event loop monitor if this object made it. */
  close(): void {
    if (this.#ownsEventLoop) this.#eventLoop.stop()
    this.registry.clear()
  }
}

/**
 * prom-client hashes the label set on every `inc()`, even on a cached child (about
 * 170 ns). The hot path adds to a plain number instead; the sum moves into the
 * counter when Prometheus scrapes (prom-client calls `collect()` first).
 */
class Tally {
  #pending = 0

  constructor(name: string, help: string, registry: Registry) {
    const flush = (c: Counter) => {
      if (this.#pending > 0) c.inc(this.#pending)
      this.#pending = 0
    }
    new Counter({
      name,
      help,
      registers: [registry],
      collect() {
        flush(this)
      },
    })
  }

  inc(n: number): void {
    this.#pending += n
  }
}

interface Cell {
  pending: number
  readonly child: Counter.Internal
}

/** A `Tally` with one label; a cell per label value, created once. */
class BoundCounter<L extends string> {
  readonly #counter: Counter<L>
  readonly #label: L
  readonly #cells = new Map<string, Cell>()
  readonly #max: number
  #other: Cell | undefined

  constructor(name: string, help: string, label: L, registry: Registry, max: number) {
    const flush = () => {
      for (const cell of this.#cells.values()) this.#flushCell(cell)
      if (this.#other !== undefined) this.#flushCell(this.#other)
    }
    this.#counter = new Counter({
      name,
      help,
      labelNames: [label],
      registers: [registry],
      collect() {
        flush()
      },
    })
    this.#label = label
    this.#max = max
  }

  inc(value: string, n: number): void {
    let cell = this.#cells.get(value)
    if (cell === undefined) {
      if (this.#cells.size < this.#max) {
        cell = this.#cell(value)
        this.#cells.set(value, cell)
      } else {
        // Past the bound, new values share one series instead of growing memory forever.
        this.#other ??= this.#cell('other')
        cell = this.#other
      }
    }
    cell.pending += n
  }

  #cell(value: string): Cell {
    const child = this.#counter.labels({ [this.#label]: value } as LabelValues<L>)
    // Zero, so the series shows up at the next scrape even before it counts anything.
    child.inc(0)
    return { pending: 0, child }
  }

  #flushCell(cell: Cell): void {
    if (cell.pending > 0) cell.child.inc(cell.pending)
    cell.pending = 0
  }
}
