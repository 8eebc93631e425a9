import { type IntervalHistogram, monitorEventLoopDelay } from 'node:perf_hooks'

/** Event loop delay over the recent past, in milliseconds. */
export interface LagStats {
  readonly p50Ms: number
  readonly p99Ms: number
  readonly maxMs: number
}

export interface EventLoopLagOptions {
  /**
   * Sampling resolution of perf_hooks' monitor, ms (default 100). Each sample wakes the
   * idle process: 20 ms cost 0.2 % of a core at idle, 100 ms 0.05 % (issue 11), and the
   * checks it feeds look for stalls of a second and more.
   */
  readonly resolutionMs?: number
  /** Length of one window, ms (default 10 000). */
  readonly windowMs?: number
}

const NS_PER_MS = 1e6

/**
 * Measures event loop delay with perf_hooks' `monitorEventLoopDelay` (a libuv timer,
 * no per-tick cost in JavaScript). Several readers share it (the metrics scrape, the
 * watchdog's health check), so nobody resets the histogram on read: it rotates on a
 * fixed window instead, and `recent()` covers the last full window plus the current one.
 */
export class EventLoopLag {
  readonly #histogram: IntervalHistogram
  readonly #timer: NodeJS.Timeout
  #previous: LagStats = { p50Ms: 0, p99Ms: 0, maxMs: 0 }

  constructor(opts: EventLoopLagOptions = {}) {
    this.#histogram = monitorEventLoopDelay({ resolution: opts.resolutionMs ?? 100 })
    this.#histogram.enable()
    this.#timer = setInterval(() => this.#rotate(), opts.windowMs ?? 10_000)
    // Measuring must never keep the daemon alive on its own.
    this.#timer.unref()
  }

  /** The worse of the last full window and the current partial one. */
  recent(): LagStats {
    const cur = this.#current()
    const prev = this.#previous
    return {
      p50Ms: Math.max(cur.p50Ms, prev.p50Ms),
      p99Ms: Math.max(cur.p99Ms, prev.p99Ms),
      maxMs: Math.max(cur.maxMs, prev.maxMs),
    }
  }

  stop(): void {
    clearInterval(this.#timer)
    this.#histogram.disable()
  }

  #rotate(): void {
    this.#previous = this.#current()
    this.#histogram.reset()
  }

  #current(): LagStats {
    const h = this.#histogram
    // An empty histogram reports NaN/huge sentinel values; treat it as no delay.
    if (h.count === 0) return { p50Ms: 0, p99Ms: 0, maxMs: 0 }
    return {
      p50Ms: h.percentile(50) / NS_PER_MS,
      p99Ms: h.percentile(99) / NS_PER_MS,
      maxMs: h.max / NS_PER_MS,
    }
  }
}
