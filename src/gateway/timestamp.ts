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
    if (ISO.test(raw)) return existingDate(raw) ? Date.parse(raw) : Number.NaN
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

/**
 * Date.parse rolls impossible days over (`2026-11-31` becomes December 1st): the
 * calendar date as written must exist, else the timestamp is refused.
 */
function existingDate(iso: string): boolean {
  const y = Number(iso.slice(0, 4))
  const m = Number(iso.slice(5, 7))
  const d = Number(iso.slice(8, 10))
  if (m < 1 || m > 12 || d < 1) return false
  return d <= new Date(Date.UTC(y, m, 0)).getUTCDate()
}
