/**
 * Sensor timestamps: epoch seconds, milliseconds or microseconds (told apart by
 * magnitude), digit strings of those, or ISO 8601 with an explicit zone. A zone-less ISO
 * string is refused: a Pi's local time zone is not a safe guess.
 */

// Below 1e11 is seconds (until year 5138); below 1e14 milliseconds; below 1e17 microseconds.
const SECONDS_BELOW = 1e11
const MILLIS_BELOW = 1e14
const MICROS_BELOW = 1e17

const ISO = /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?([Zz]|[+-]\d{2}(:?\d{2})?)$/
const DIGITS = /^\d+(\.\d+)?$/

/** Milliseconds since the epoch, or NaN when `raw` is not a timestamp we accept. */
export function parseTimestamp(raw: unknown): number {
  if (typeof raw === 'number') return fromEpochNumber(raw)
  if (typeof raw === 'string') {
    if (DIGITS.test(raw)) return fromEpochNumber(Number(raw))
    if (ISO.test(raw)) return Date.parse(raw)
  }
  return Number.NaN
}

function fromEpochNumber(n: number): number {
  if (!Number.isFinite(n) || n < 0) return Number.NaN
  if (n < SECONDS_BELOW) return Math.round(n * 1000)
  if (n < MILLIS_BELOW) return Math.round(n)
  if (n < MICROS_BELOW) return Math.round(n / 1000)
  return Number.NaN
}
