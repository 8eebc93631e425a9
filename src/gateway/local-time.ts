/**
 * Local wall-clock times without a zone, as Tasmota (`"Time":"2026-03-01T12:00:00"`) and
 * rtl_433 (`"time":"2026-12-01 22:19:40"`) send them, read in a zone the config declares:
 * an IANA name (`Europe/Berlin`, DST handled), `UTC`, or a fixed offset (`+01:00`).
 * Without a declared zone such times are not trusted (the Pi's own zone is not a safe
 * guess for a sensor's), and the receive time is used instead.
 */

const LOCAL = /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?$/
const OFFSET = /^([+-])(\d{2}):?(\d{2})$/

/** Why `zone` cannot be used, or undefined when it can. */
export function timeZoneProblem(zone: string): string | undefined {
  if (zone === 'UTC' || OFFSET.test(zone)) return undefined
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone })
    return undefined
  } catch {
    return `unknown time zone "${zone}" (expected an IANA name such as Europe/Berlin, UTC, or an offset such as +01:00)`
  }
}

export type ZoneOffset = (utcMs: number) => number

/** The zone's offset from UTC in ms at a given instant. */
export function zoneOffset(zone: string): ZoneOffset {
  if (zone === 'UTC') return () => 0
  const fixed = OFFSET.exec(zone)
  if (fixed !== null) {
    const ms = (Number(fixed[2]) * 60 + Number(fixed[3])) * 60_000
    return fixed[1] === '-' ? () => -ms : () => ms
  }
  const fmt = new Intl.DateTimeFormat('en-US', {
    timeZone: zone,
    hourCycle: 'h23',
    year: 'numeric',
    month: 'numeric',
    day: 'numeric',
    hour: 'numeric',
    minute: 'numeric',
    second: 'numeric',
  })
  return (utcMs) => {
    const p: Record<string, number> = {}
    for (const part of fmt.formatToParts(new Date(utcMs))) p[part.type] = Number(part.value)
    const wall = Date.UTC(p.year!, p.month! - 1, p.day!, p.hour!, p.minute!, p.second!)
    return wall - Math.floor(utcMs / 1000) * 1000
  }
}

/** True when `s` looks like a zone-less local date-time. */
export function isLocalDateTime(s: string): boolean {
  return LOCAL.test(s)
}

/**
 * Milliseconds since the epoch of a zone-less local time in the given zone, or NaN.
 * In a DST gap or overlap the earlier reading of the wall clock wins.
 */
export function parseLocalTime(s: string, offset: ZoneOffset): number {
  const m = LOCAL.exec(s)
  if (m === null) return Number.NaN
  const frac = m[7] === undefined ? 0 : Math.round(Number(`0.${m[7]}`) * 1000)
  const wall = Date.UTC(
    Number(m[1]),
    Number(m[2]) - 1,
    Number(m[3]),
    Number(m[4]),
    Number(m[5]),
    m[6] === undefined ? 0 : Number(m[6]),
    frac,
  )
  // Date.UTC rolls 2026-02-30 over to March: a date that does not round-trip is refused.
  const d = new Date(wall)
  if (d.getUTCMonth() !== Number(m[2]) - 1 || d.getUTCHours() !== Number(m[4])) return Number.NaN
  // Two passes: the offset at the first guess can differ across a DST change.
  const first = wall - offset(wall)
  return wall - offset(first)
}
