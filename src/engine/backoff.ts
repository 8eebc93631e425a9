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
  return (attempt) => Math.min(maxMs, initialMs * factor ** (attempt - 1))
}

/** Any policy; its result is checked at each attempt (a negative or NaN wait is a bug). */
export function customBackoff(fn: (attempt: number) => number): Backoff {
  return (attempt) => {
    const ms = fn(attempt)
    check(`customBackoff(${attempt})`, ms)
    return ms
  }
}
