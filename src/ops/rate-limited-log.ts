import type { Log } from './log.js'

/** Kinds remembered at most: a kind often holds a client id, which a client chooses. */
const MAX_KINDS = 1000
/** Characters of a kind kept as the map key and the log field. */
const MAX_KIND_CHARS = 200
/** Lines written at most per interval over all kinds (new kinds past it are counted). */
const MAX_LINES_PER_INTERVAL = 50

/**
 * Logs bad input without flooding the journal: the first occurrence of each kind is
 * logged at once, then at most one line per `intervalMs` per kind, carrying how many
 * were suppressed since. A sensor stuck sending garbage 100 times a second costs one
 * line every 10 s, and nobody loses the count.
 *
 * Memory and lines stay bounded when kinds are unbounded (a client id per refused
 * CONNECT): kinds are clipped, at most MAX_KINDS are remembered (least recent dropped),
 * and at most MAX_LINES_PER_INTERVAL lines are written per interval; the next line
 * written says how many lines of other kinds were held back (`othersSuppressed`).
 */
export class RateLimitedLog {
  private readonly last = new Map<string, { at: number; suppressed: number }>()
  private windowStart = Number.NEGATIVE_INFINITY
  private linesInWindow = 0
  private othersSuppressed = 0

  constructor(
    private readonly logger: Log,
    private readonly intervalMs = 10_000,
    private readonly now: () => number = Date.now,
  ) {}

  /** How many kinds are remembered (bounded by MAX_KINDS). */
  get size(): number {
    return this.last.size
  }

  warn(rawKind: string, fields: Record<string, unknown>, msg: string): void {
    this.write('warn', rawKind, fields, msg)
  }

  /** As `warn`, at error level: something was lost (a refused notification). */
  error(rawKind: string, fields: Record<string, unknown>, msg: string): void {
    this.write('error', rawKind, fields, msg)
  }

  private write(
    level: 'warn' | 'error',
    rawKind: string,
    fields: Record<string, unknown>,
    msg: string,
  ): void {
    const kind = rawKind.length > MAX_KIND_CHARS ? rawKind.slice(0, MAX_KIND_CHARS) : rawKind
    const t = this.now()
    const seen = this.last.get(kind)
    if (seen !== undefined && t - seen.at < this.intervalMs) {
      seen.suppressed++
      return
    }
    if (t - this.windowStart >= this.intervalMs) {
      this.windowStart = t
      this.linesInWindow = 0
    }
    if (this.linesInWindow >= MAX_LINES_PER_INTERVAL) {
      this.othersSuppressed++
      if (seen !== undefined) seen.suppressed++
      return
    }
    this.linesInWindow++
    const suppressed = seen?.suppressed ?? 0
    this.last.delete(kind)
    this.last.set(kind, { at: t, suppressed: 0 })
    if (this.last.size > MAX_KINDS) {
      const oldest = this.last.keys().next().value
      if (oldest !== undefined) this.last.delete(oldest)
    }
    const extra: Record<string, unknown> = { kind }
    if (suppressed > 0) extra.suppressed = suppressed
    if (this.othersSuppressed > 0) {
      extra.othersSuppressed = this.othersSuppressed
      this.othersSuppressed = 0
    }
    this.logger[level]({ ...fields, ...extra }, msg)
  }
}
