import { type HealthCheck, healthy, unhealthy } from './health.js'
import { type Log, silentLog } from './log.js'

/** A time the system clock cannot be earlier than, and what it is (for the operator). */
export interface ClockReference {
  readonly at: number
  /** e.g. "the build date", "the newest stored receive time". */
  readonly what: string
}

export interface ClockSanityOptions {
  /** Times known to have passed: the build date, the newest receive time in the database. */
  readonly references: readonly ClockReference[]
  /** The system clock (default Date.now); injected by the unit tests only. */
  readonly wall?: () => number
  /** A monotonic clock in ms (default performance.now). */
  readonly mono?: () => number
  /** How far behind a reference the clock may be and still count as sane. */
  readonly toleranceMs?: number
  readonly log?: Log
  /** At most one transition line per this long; flips in between are counted. */
  readonly logEveryMs?: number
}

/**
 * Time sync steps a clock back by a fraction of a second, rarely by more than a second or
 * two; a Pi without an RTC that boots without network is years behind.
 */
export const CLOCK_TOLERANCE_MS = 5000
const LOG_EVERY_MS = 60_000

/**
 * Whether the system clock can be trusted. A Pi has no real-time clock: until time sync
 * (systemd-timesyncd, chrony) has stepped it, it reads 1970 or the time of its last
 * shutdown. The clock is insane while it reads earlier than a time known to have passed:
 * the build date, the newest receive time stored in the database, or a time this process
 * already read from it (a clock stepped back). The daemon holds its time-based decisions
 * (stale alerts, window closes, outbox TTL, age retention, reminders, the future-timestamp
 * check) while it is.
 *
 * Meanwhile `now()` stamps received messages with the earliest the real time can be: the
 * newest reference plus the monotonic time elapsed since the clock went insane. Those
 * times keep the receive order and never fall behind what is already stored, so neither
 * retention nor the TTL throws the rows away once the clock is set; they are lower bounds,
 * and are not rewritten after recovery.
 */
export class ClockSanity {
  readonly #wall: () => number
  readonly #mono: () => number
  readonly #toleranceMs: number
  readonly #log: Log
  readonly #logEveryMs: number
  /** The newest of the references given at start. */
  readonly #reference: ClockReference
  /** The newest time read from the clock while it was sane. */
  #seen = Number.NEGATIVE_INFINITY
  #sane = true
  /** While insane: the floor, and the monotonic and system times when it went insane. */
  #insaneFloor = 0
  #insaneMono = 0
  #insaneWall = 0
  /** Messages stamped with the lower bound during the current insane spell. */
  #estimated = 0
  /** What the log last said, so a flapping clock costs a line a minute, and the log's
   * last word always matches the state. */
  #logged: 'sane' | 'insane' = 'sane'
  #lastInsaneLine = Number.NEGATIVE_INFINITY
  #flips = 0
  readonly #recovered = new Set<(now: number) => void>()

  constructor(opts: ClockSanityOptions) {
    this.#wall = opts.wall ?? Date.now
    this.#mono = opts.mono ?? (() => performance.now())
    this.#toleranceMs = opts.toleranceMs ?? CLOCK_TOLERANCE_MS
    this.#log = opts.log ?? silentLog
    this.#logEveryMs = opts.logEveryMs ?? LOG_EVERY_MS
    let ref: ClockReference = { at: Number.NEGATIVE_INFINITY, what: 'nothing known' }
    for (const r of opts.references) if (r.at > ref.at) ref = r
    this.#reference = ref
    this.#evaluate()
  }

  /** True when the system clock can be trusted (evaluated now). */
  sane(): boolean {
    this.#evaluate()
    return this.#sane
  }

  /** The time to stamp an event with: the system clock, or its lower bound while insane. */
  now(): number {
    this.#evaluate()
    const wall = this.#wall()
    if (this.#sane) return wall
    return Math.max(wall, Math.floor(this.#insaneFloor + (this.#mono() - this.#insaneMono)))
  }

  /** `now()` for a received message: counted while insane (the recovery line says how many). */
  receiveTime(): number {
    const t = this.now()
    if (!this.#sane) this.#estimated++
    return t
  }

  /** Called with the clock's time when it turns sane again; returns the unsubscribe. */
  onRecovered(f: (now: number) => void): () => void {
    this.#recovered.add(f)
    return () => this.#recovered.delete(f)
  }

  /** The `clock` check of /healthz, and the source of `floxgate_clock_sane`. */
  check(): HealthCheck {
    return () => {
      const sane = this.sane()
      const wall = this.#wall()
      const ref = this.#reference
      if (sane) return healthy(`${iso(wall)}, not before ${ref.what} ${iso(ref.at)}`)
      return unhealthy(this.#reason(wall))
    }
  }

  /** The newest time known to have passed, and what it is. */
  #floor(): ClockReference {
    return this.#seen > this.#reference.at
      ? {
          at: this.#seen,
          what: 'a time this daemon already read from it (the clock was stepped back)',
        }
      : this.#reference
  }

  #reason(wall: number): string {
    const f = this.#floor()
    return (
      `system clock is ${iso(wall)}, before ${f.what} ${iso(f.at)}; ` +
      'is time sync running? (systemd-timesyncd / chrony: timedatectl status). Stale alerts, ' +
      'window closes, outbox TTL, age retention and reminders are held until the clock passes it'
    )
  }

  #evaluate(): void {
    const wall = this.#wall()
    const floor = this.#floor().at
    if (this.#sane && wall >= floor - this.#toleranceMs) {
      // A sane reading is itself a time known to have passed: a later step back shows.
      if (wall > this.#seen) this.#seen = wall
    } else if (this.#sane) {
      this.#sane = false
      this.#flips++
      this.#insaneFloor = floor
      this.#insaneMono = this.#mono()
      this.#insaneWall = wall
      this.#estimated = 0
    } else if (wall >= floor - this.#toleranceMs) {
      this.#sane = true
      this.#flips++
      this.#logRecovery(wall)
      if (wall > this.#seen) this.#seen = wall
      for (const f of this.#recovered) f(wall)
    }
    if (!this.#sane) this.#logInsane(wall)
  }

  /** At most one line a minute: a clock flapping at the limit is counted, not logged. */
  #logInsane(wall: number): void {
    const t = this.#mono()
    if (this.#logged === 'insane' || t - this.#lastInsaneLine < this.#logEveryMs) return
    this.#logged = 'insane'
    this.#lastInsaneLine = t
    this.#log.warn(
      { clock: iso(wall), notBefore: iso(this.#insaneFloor), ...this.#unlogged() },
      this.#reason(wall),
    )
  }

  /** Only after an insane line: the log's last word matches the state. */
  #logRecovery(wall: number): void {
    if (this.#logged === 'sane') return
    this.#logged = 'sane'
    this.#log.info(
      {
        clock: iso(wall),
        insaneSeconds: Math.round((this.#mono() - this.#insaneMono) / 1000),
        insaneFrom: iso(this.#insaneWall),
        estimatedTimes: this.#estimated,
        ...this.#unlogged(),
      },
      'system clock is sane again; held time-based decisions resume. Messages received meanwhile (estimatedTimes) were stamped with the earliest time it could have been',
    )
  }

  #unlogged(): { unloggedTransitions?: number } {
    const n = this.#flips - 1
    this.#flips = 0
    return n > 0 ? { unloggedTransitions: n } : {}
  }
}

function iso(ms: number): string {
  const d = new Date(ms)
  return Number.isNaN(d.getTime()) ? String(ms) : d.toISOString()
}
