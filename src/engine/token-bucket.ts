import { ERR } from './errors.js'

/**
 * A rate budget: tokens accrue at `ratePerSecond` up to `burst`, and each unit of work
 * spends one. It paces both a client's messages into the embedded broker and the uplink's
 * replay of a backlog, so an outage's queue does not flood the upstream.
 */
export class TokenBucket {
  private tokens: number
  private last: number
  /** Total tokens handed out minus refunds: what the bucket allowed, for tests and stats. */
  granted = 0

  constructor(
    readonly ratePerSecond: number,
    readonly burst: number,
    private readonly now: () => number = () => performance.now(),
  ) {
    if (!(ratePerSecond > 0))
      throw ERR.ENGINE_BAD_OPTION('ratePerSecond', ratePerSecond, 'a number > 0')
    if (!(burst >= 1)) throw ERR.ENGINE_BAD_OPTION('burst', burst, 'a number >= 1')
    this.tokens = burst
    this.last = now()
  }

  /** Takes up to `max` whole tokens; returns how many it got (0 when empty). */
  take(max = 1): number {
    this.refill()
    const n = Math.max(0, Math.min(max, Math.floor(this.tokens)))
    this.tokens -= n
    this.granted += n
    return n
  }

  /** Gives back tokens taken but not spent (fewer rows than asked for). */
  refund(n: number): void {
    this.tokens = Math.min(this.burst, this.tokens + n)
    this.granted -= n
  }

  /** Milliseconds until `n` whole tokens (at most `burst`) are available (0 if they are now). */
  msUntilToken(n = 1): number {
    this.refill()
    const need = Math.min(n, this.burst)
    if (this.tokens >= need) return 0
    return Math.ceil(((need - this.tokens) * 1000) / this.ratePerSecond)
  }

  private refill(): void {
    const t = this.now()
    const elapsed = t - this.last
    this.last = t
    if (elapsed > 0) {
      this.tokens = Math.min(this.burst, this.tokens + (elapsed * this.ratePerSecond) / 1000)
    }
  }
}
