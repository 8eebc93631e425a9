import { failingSummary, type HealthCheck, runChecks } from './health.js'
import { type Log, silentLog } from './log.js'
import type { SystemdNotifier } from './systemd-notify.js'

export interface WatchdogOptions {
  readonly notifier: SystemdNotifier
  /**
   * What must be healthy for a ping (the daemon passes event loop lag below a bound and
   * a database probe). All must pass.
   */
  readonly checks: Readonly<Record<string, HealthCheck>>
  /** systemd's `WATCHDOG_USEC`; defaults to the environment variable. */
  readonly watchdogUsec?: string | undefined
  /** systemd's `WATCHDOG_PID`; defaults to the environment variable. */
  readonly watchdogPid?: string | undefined
  readonly log?: Log
}

/**
 * Feeds systemd's watchdog (`WatchdogSec=`) at half the interval, and only while the
 * health checks pass. A daemon whose event loop is stuck, or whose database no longer
 * answers, stops pinging, logs why, and systemd restarts it: a process that is merely
 * alive is not enough.
 */
export class Watchdog {
  /** Ping period in ms, or undefined when systemd asked for no watchdog. */
  readonly intervalMs: number | undefined
  readonly #notifier: SystemdNotifier
  readonly #checks: Readonly<Record<string, HealthCheck>>
  readonly #log: Log
  #timer: NodeJS.Timeout | undefined
  #inFlight = false
  #failing = false
  #pings = 0

  constructor(opts: WatchdogOptions) {
    this.#notifier = opts.notifier
    this.#checks = opts.checks
    this.#log = opts.log ?? silentLog
    const usec = Number('watchdogUsec' in opts ? opts.watchdogUsec : process.env.WATCHDOG_USEC)
    const pid = 'watchdogPid' in opts ? opts.watchdogPid : process.env.WATCHDOG_PID
    // WATCHDOG_PID names the process systemd watches; a child that inherited the
    // variable must not ping on its parent's behalf.
    const forUs = pid === undefined || pid === '' || Number(pid) === process.pid
    this.intervalMs =
      Number.isFinite(usec) && usec > 0 && forUs && opts.notifier.enabled
        ? Math.max(1, Math.floor(usec / 2000))
        : undefined
  }

  get enabled(): boolean {
    return this.intervalMs !== undefined
  }

  /** Watchdog pings sent so far. */
  get pings(): number {
    return this.#pings
  }

  /** Pings once right away (when healthy), then every interval. No-op when disabled. */
  start(): void {
    if (this.intervalMs === undefined || this.#timer !== undefined) return
    this.#timer = setInterval(() => void this.tick(), this.intervalMs)
    // The daemon's servers keep it alive; the watchdog timer alone must not.
    this.#timer.unref()
    void this.tick()
  }

  stop(): void {
    clearInterval(this.#timer)
    this.#timer = undefined
  }

  /** One check-and-ping round; exposed so the daemon can ping right after READY=1. */
  async tick(): Promise<void> {
    if (this.#inFlight || this.intervalMs === undefined) return
    this.#inFlight = true
    try {
      // A check may not take longer than the ping period, or the ping comes too late.
      const report = await runChecks(this.#checks, this.intervalMs)
      if (report.ok) {
        if (this.#failing) this.#log.info({}, 'health restored; watchdog pings resumed')
        this.#failing = false
        this.#pings++
        await this.#notifier.watchdog()
      } else {
        this.#failing = true
        this.#log.warn(
          { checks: report.checks },
          `unhealthy, watchdog ping withheld (systemd restarts the service if this lasts): ${failingSummary(report)}`,
        )
      }
    } finally {
      this.#inFlight = false
    }
  }
}
