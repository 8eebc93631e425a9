import type { Log } from '../ops/log.js'
import type { GatewayMetrics } from '../ops/metrics.js'
import type { RateLimitedLog } from '../ops/rate-limited-log.js'

/** Shared by every node of one run: where counts and bad-input warnings go. */
export interface GatewayContext {
  readonly metrics: GatewayMetrics
  readonly badInput: RateLimitedLog
  /** For events a person wants in the journal (alerts raised and cleared). */
  readonly log: Log
}
