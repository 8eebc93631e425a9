/**
 * Capped exponential backoff with jitter for reconnecting to the upstream broker.
 *
 * MQTT.js only offers a fixed `reconnectPeriod`; after a broker restart every gateway of a
 * fleet would come back in lockstep. The delay doubles per failed attempt up to `maxMs`, and
 * the jitter spreads it over [delay/2, delay] ("equal jitter"), so a gateway never retries
 * faster than half the nominal delay but fleets still spread out.
 */
export interface BackoffOptions {
  readonly initialMs: number
  readonly maxMs: number
  /** Returns a number in [0, 1); injected so tests are deterministic. */
  readonly random?: () => number
}

export class Backoff {
  private attempt = 0
  private readonly random: () => number

  constructor(private readonly opts: BackoffOptions) {
    this.random = opts.random ?? Math.random
  }

  /** The delay before the next attempt; each call counts as one more failed attempt. */
  next(): number {
    // 2^attempt stops growing once past the cap; bounding the exponent avoids Infinity.
    const nominal = Math.min(this.opts.maxMs, this.opts.initialMs * 2 ** Math.min(this.attempt, 30))
    this.attempt++
    const half = nominal / 2
    return Math.round(half + this.random() * half)
  }

  /** A connection succeeded: start over from `initialMs`. */
  reset(): void {
    this.attempt = 0
  }

  get attempts(): number {
    return this.attempt
  }
}
