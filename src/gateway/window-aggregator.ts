import { ERR } from '../errors.js'
/**
 * Tumbling windows per device and metric, aligned to the window size (a 60 s window
 * covers [12:00:00, 12:01:00)), keyed by the reading's measurement time.
 *
 * A window closes when a reading of a later window arrives (`add`) or when its end plus
 * the grace period has passed on the gateway clock (`closeDue`). A late reading, one
 * whose window is already closed, is counted in `late` and left out of aggregates: the
 * closed aggregate was already published and stored, and revising it would send two
 * different values for one window. The raw reading is still stored.
 */
import type { Aggregate, Metric, Reading } from './reading.js'

export interface WindowAggregatorOptions {
  readonly windowMs: number
  /** Extra time after a window's end before `closeDue` closes it, for slow sensor clocks. */
  readonly graceMs?: number | undefined
}

class OpenWindow {
  start = 0
  end = 0
  /** End of the last window closed for this series: readings before it are late. */
  closedUntil = Number.NEGATIVE_INFINITY
  count = 0
  min = 0
  max = 0
  sum = 0
  last = 0
  lastTs = 0

  constructor(
    readonly device: string,
    readonly metric: Metric,
  ) {}
}

/**
 * One series' window state, kept in the database across a graceful restart: the open
 * window (count 0 when none) and the end of the last window closed (late readings).
 */
export interface WindowState {
  readonly device: string
  readonly metric: Metric
  readonly start: number
  readonly end: number
  readonly count: number
  readonly min: number
  readonly max: number
  readonly sum: number
  readonly last: number
  readonly lastTs: number
  /** End of the last window closed; undefined when none was. */
  readonly closedUntil: number | undefined
}

export class WindowAggregator {
  readonly #windowMs: number
  readonly #graceMs: number
  // device -> metric -> window; nested so the hot path builds no key strings.
  readonly #series = new Map<string, Map<Metric, OpenWindow>>()
  #late = 0

  constructor(opts: WindowAggregatorOptions) {
    if (!(opts.windowMs > 0))
      throw ERR.GATEWAY_BAD_OPTION('windowMs', opts.windowMs, 'a positive number')
    this.#windowMs = opts.windowMs
    this.#graceMs = opts.graceMs ?? 0
  }

  /** Readings dropped from aggregation because their window had already closed. */
  get late(): number {
    return this.#late
  }

  /** Adds a valid reading; returns the window it closed, if it starts a later one. */
  add(r: Reading): Aggregate | undefined {
    let byMetric = this.#series.get(r.device)
    if (byMetric === undefined) {
      byMetric = new Map()
      this.#series.set(r.device, byMetric)
    }
    let w = byMetric.get(r.metric)
    if (w === undefined) {
      w = new OpenWindow(r.device, r.metric)
      byMetric.set(r.metric, w)
    }
    if (r.ts < w.closedUntil || (w.count > 0 && r.ts < w.start)) {
      this.#late++
      return undefined
    }
    let closed: Aggregate | undefined
    if (w.count > 0 && r.ts >= w.end) closed = this.#close(w)
    if (w.count === 0) {
      w.start = r.ts - (((r.ts % this.#windowMs) + this.#windowMs) % this.#windowMs)
      w.end = w.start + this.#windowMs
      w.count = 1
      w.min = w.max = w.sum = w.last = r.value
      w.lastTs = r.ts
      return closed
    }
    w.count++
    if (r.value < w.min) w.min = r.value
    if (r.value > w.max) w.max = r.value
    w.sum += r.value
    if (r.ts >= w.lastTs) {
      w.last = r.value
      w.lastTs = r.ts
    }
    return closed
  }

  /**
   * Drops the state of devices that were forgotten (unknown devices gone silent), keeping
   * any window still open so that no reading is lost from an aggregate.
   */
  forget(devices: readonly string[]): void {
    for (const d of devices) {
      const byMetric = this.#series.get(d)
      if (byMetric === undefined) continue
      for (const [m, w] of byMetric) if (w.count === 0) byMetric.delete(m)
      if (byMetric.size === 0) this.#series.delete(d)
    }
  }

  /** Closes every window whose end (plus grace) is at or before `now`. */
  closeDue(now: number): Aggregate[] {
    const out: Aggregate[] = []
    for (const byMetric of this.#series.values()) {
      for (const w of byMetric.values()) {
        if (w.count > 0 && w.end + this.#graceMs <= now) out.push(this.#close(w))
      }
    }
    return out
  }

  /**
   * Closes every open window, complete or not (e.g. at shutdown). A partial window closed
   * this way is not reopened by later readings of the same window in this process.
   */
  flush(): Aggregate[] {
    return this.closeDue(Number.POSITIVE_INFINITY)
  }

  /** Every series' state (open windows, and where closed ones end), to keep at a stop. */
  snapshot(): WindowState[] {
    const out: WindowState[] = []
    for (const byMetric of this.#series.values()) {
      for (const w of byMetric.values()) {
        const closedUntil = Number.isFinite(w.closedUntil) ? w.closedUntil : undefined
        if (w.count === 0 && closedUntil === undefined) continue
        out.push({
          device: w.device,
          metric: w.metric,
          start: w.start,
          end: w.end,
          count: w.count,
          min: w.min,
          max: w.max,
          sum: w.sum,
          last: w.last,
          lastTs: w.lastTs,
          closedUntil,
        })
      }
    }
    return out
  }

  /**
   * Takes back what `snapshot` kept (at start, before any reading). A window of another
   * size (the config changed meanwhile) cannot go on: it is closed as it is and returned,
   * to be published and stored like any closed window.
   */
  restore(states: readonly WindowState[]): Aggregate[] {
    const closed: Aggregate[] = []
    for (const s of states) {
      const w = new OpenWindow(s.device, s.metric)
      w.start = s.start
      w.end = s.end
      w.count = s.count
      w.min = s.min
      w.max = s.max
      w.sum = s.sum
      w.last = s.last
      w.lastTs = s.lastTs
      w.closedUntil = s.closedUntil ?? Number.NEGATIVE_INFINITY
      if (w.count > 0 && w.end - w.start !== this.#windowMs) closed.push(this.#close(w))
      let byMetric = this.#series.get(s.device)
      if (byMetric === undefined) {
        byMetric = new Map()
        this.#series.set(s.device, byMetric)
      }
      byMetric.set(s.metric, w)
    }
    return closed
  }

  #close(w: OpenWindow): Aggregate {
    const agg: Aggregate = {
      device: w.device,
      metric: w.metric,
      windowStart: w.start,
      windowEnd: w.end,
      count: w.count,
      min: w.min,
      max: w.max,
      mean: w.sum / w.count,
      last: w.last,
    }
    w.count = 0
    w.closedUntil = w.end
    return agg
  }
}
