import type { Log } from './log.js'

/**
 * Logs bad input without flooding the journal: the first occurrence of each kind is
 * logged at once, then at most one line per `intervalMs` per kind, carrying how many
 * were suppressed since. A sensor stuck sending garbage 100 times a second costs one
 * line every 10 s, and nobody loses the count.
 */
export class RateLimitedLog {
  private readonly last = new Map<string, { at: number; suppressed: number }>()

  constructor(
    private readonly logger: Log,
    private readonly intervalMs = 10_000,
    private readonly now: () => number = Date.now,
  ) {}

  warn(kind: string, fields: Record<string, unknown>, msg: string): void {
    const t = this.now()
    const seen = this.last.get(kind)
    if (seen !== undefined && t - seen.at < this.intervalMs) {
      seen.suppressed++
      return
    }
    const suppressed = seen?.suppressed ?? 0
    this.last.set(kind, { at: t, suppressed: 0 })
    if (this.last.size > 10_000) this.last.clear() // bounded even if kinds are unbounded
    this.logger.warn(suppressed > 0 ? { ...fields, kind, suppressed } : { ...fields, kind }, msg)
  }
}
