import type { Logger } from '../daemon/logger.js'
import type { RateLimitedLog } from '../daemon/rate-limited-log.js'
import type { GatewayMetrics } from '../ops/metrics.js'

/** Shared by every node of one run: where counts and bad-input warnings go. */
export interface GatewayContext {
  readonly metrics: GatewayMetrics
  readonly badInput: RateLimitedLog
  /** For events a person wants in the journal (alerts raised and cleared). */
  readonly log: Logger
}
