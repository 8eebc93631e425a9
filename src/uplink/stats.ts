/** What the forwarder reports to metrics, `floxgate status` and the health endpoint. */
export interface ForwarderStats {
  /** The uplink's id and target kind (`mqtt`, `influxdb`, `thingsboard`). */
  readonly id: string
  readonly kind: string
  readonly connected: boolean
  /** Rows still in this uplink's queue, in flight included (exact, see store/outbox.ts). */
  readonly backlogRows: number
  /** Estimated topic + payload bytes of those rows. */
  readonly backlogBytes: number
  /** Age of the oldest unsent row in ms (the uplink's lag); 0 when the outbox is empty. */
  readonly oldestAgeMs: number
  /** Publishes awaiting PUBACK or deletion right now. */
  readonly inflight: number
  /** QoS 1 publishes made, resends included. */
  readonly sent: number
  /** PUBACKs received. */
  readonly acked: number
  /** Rows published again after a reconnect: an upper bound on duplicates upstream. */
  readonly resent: number
  /** Rows deleted unsent because they outlived `ttlMs`. */
  readonly expired: number
  /** Rows the upstream refused for good (HTTP 4xx), kept as dead letters. */
  readonly rejected: number
  /** DELETE commits for acknowledged rows: acked / deleteCommits is the batching (flash wear). */
  readonly deleteCommits: number
  /** Successful connections after the first one. */
  readonly reconnects: number
  readonly connectAttempts: number
  readonly lastError: string | undefined
  readonly lastErrorAt: number | undefined
}

export interface ForwarderHealth {
  readonly ok: boolean
  readonly reason: string
}

export interface HealthInput {
  readonly state: string
  readonly connected: boolean
  /** How long the connection has been down (ms), when not connected. */
  readonly downMs: number
  readonly lastError: string | undefined
  /** Age of the oldest unsent row (ms); 0 when empty. */
  readonly lagMs: number
  readonly disconnectGraceMs: number
  readonly maxLagMs: number
}

/**
 * A short disconnect is normal (the outbox buffers it); a long one, or a lag past the limit,
 * is what an operator must hear about.
 */
export function assessHealth(h: HealthInput): ForwarderHealth {
  if (h.state !== 'running') return { ok: false, reason: `uplink ${h.state}` }
  const why = h.lastError === undefined ? '' : `: ${h.lastError}`
  if (!h.connected) {
    if (h.downMs > h.disconnectGraceMs) {
      return {
        ok: false,
        reason: `upstream unreachable for ${Math.round(h.downMs / 1000)} s${why}`,
      }
    }
    return { ok: true, reason: `connecting to upstream${why}` }
  }
  if (h.lagMs > h.maxLagMs) {
    const lag = Math.round(h.lagMs / 1000)
    return {
      ok: false,
      reason: `oldest unsent row is ${lag} s old (limit ${Math.round(h.maxLagMs / 1000)} s)`,
    }
  }
  return { ok: true, reason: 'connected' }
}
