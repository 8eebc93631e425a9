import { ERR } from './errors.js'

/**
 * The wait before the next attempt, in ms, after failed attempt number `attempt`
 * (1 = the first attempt failed).
 */
export type Backoff = (attempt: number) => number

function check(name: string, v: number): void {
  if (!Number.isFinite(v) || v < 0) throw ERR.ENGINE_BAD_OPTION(name, v, 'a finite number >= 0')
}

/** The same wait every time. */
export function constantBackoff(delayMs: number): Backoff {
  check('delayMs', delayMs)
  return () => delayMs
}

/** initialMs, initialMs + stepMs, initialMs + 2 stepMs, ... optionally capped. */
export function linearBackoff(initialMs: number, stepMs = initialMs, maxMs = Infinity): Backoff {
  check('initialMs', initialMs)
  check('stepMs', stepMs)
  if (!(maxMs >= 0)) throw ERR.ENGINE_BAD_OPTION('maxMs', maxMs, 'a number >= 0')
  return (attempt) => Math.min(maxMs, initialMs + (attempt - 1) * stepMs)
}

/** initialMs * factor^(attempt-1), capped at maxMs so waits stay bounded. */
export function exponentialBackoff(initialMs: number, maxMs: number, factor = 2): Backoff {
  check('initialMs', initialMs)
  check('maxMs', maxMs)
  if (!(factor >= 1)) throw ERR.ENGINE_BAD_OPTION('factor', factor, 'a number >= 1')
  // factor^n overflows to Infinity after many attempts: fine for Math.min, but 0 * Infinity is NaN.
  return (attempt) => Math.min(maxMs, initialMs === 0 ? 0 : initialMs * factor ** (attempt - 1))
}

/**
 * Equal jitter: each wait of `policy` drawn from [wait/2, wait]. Gateways of a fleet
 * restarted together then do not retry in lockstep, yet none retries faster than half the
 * nominal wait. `random` returns a number in [0, 1); injected so tests are deterministic.
 */
export function jitteredBackoff(policy: Backoff, random: () => number = Math.random): Backoff {
  return (attempt) => {
    const half = policy(attempt) / 2
    return Math.round(half + random() * half)
  }
}

/**
 * The reconnect policy of floxgate's connections: doubling from `initialMs` up to `maxMs`,
 * with equal jitter (MQTT.js alone offers only a fixed `reconnectPeriod`).
 */
export function reconnectBackoff(
  initialMs: number,
  maxMs: number,
  random: () => number = Math.random,
): Backoff {
  return jitteredBackoff(exponentialBackoff(initialMs, maxMs), random)
}

/** Counts the failed attempts of a connection for its policy; a success starts over. */
export class Attempts {
  private failed = 0

  constructor(private readonly policy: Backoff) {}

  /** One more attempt failed: the wait before the next one. */
  next(): number {
    this.failed++
    return this.policy(this.failed)
  }

  /** An attempt succeeded: the next failure waits the first wait again. */
  reset(): void {
    this.failed = 0
  }

  get count(): number {
    return this.failed
  }
}

/** Any policy; its result is checked at each attempt (a negative or NaN wait is a bug). */
export function customBackoff(fn: (attempt: number) => number): Backoff {
  return (attempt) => {
    const ms = fn(attempt)
    check(`customBackoff(${attempt})`, ms)
    return ms
  }
}
