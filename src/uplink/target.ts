import type { OutboxRow } from '../store/outbox.js'

/**
 * One upstream format behind the forwarder. The forwarder owns the queue, the order, the
 * pacing, the TTL, reconnect backoff and deletes; a target only opens a session and
 * delivers the rows it is handed. A new upstream is one file implementing this.
 */
export interface UplinkTarget {
  /** `mqtt`, `influxdb`, `thingsboard`: for logs and stats. */
  readonly kind: string
  /** Rows handed to one send(): 1 for a publish per row, more for batching targets. */
  readonly batchRows: number
  /** A batch smaller than `batchRows` waits at most this long for more rows (0 = at once). */
  readonly batchDelayMs: number
  /** Where it sends to, for log lines (never credentials). */
  readonly endpoint: string
  /**
   * Opens a session; calls `up()` when rows may be sent and `down(err)` when the session
   * failed or was lost. Each call after a `down` or `reset` is a fresh session.
   */
  open(events: TargetEvents): void
  /**
   * Delivers rows (in id order, at most `batchRows`); calls `done` once. Called only
   * between `up()` and `down()`. Sends on one session reach the upstream in call order.
   */
  send(rows: readonly OutboxRow[], done: (d: Delivery) => void): void
  /** Drops the session at once (the forwarder gave up on it); no callback fires after. */
  reset(): void
  /** Ends the session cleanly (offline status, disconnect), within `timeoutMs`. */
  close(timeoutMs: number): Promise<void>
  /**
   * A device left the config (a reload removed it), for upstreams that keep a device list
   * (ThingsBoard: `v1/gateway/disconnect`). Optional: most formats have nothing to say.
   */
  deviceRemoved?(device: string): void
}

export interface TargetEvents {
  up(): void
  down(err?: unknown): void
  /** A problem worth recording that did not (yet) end the session. */
  error(err: unknown): void
}

export type Delivery =
  /** The upstream has the rows (PUBACK, HTTP 2xx): delete them. */
  | { readonly kind: 'delivered' }
  /** The upstream refused these rows for good (HTTP 4xx): dead letters, never retried. */
  | { readonly kind: 'rejected'; readonly reason: string }
  /** Not delivered (network, 5xx, refused publish): keep them, reconnect, send again. */
  | { readonly kind: 'failed'; readonly error: unknown }

/** Rows the upstream refused, handed to the gateway to keep as dead letters. */
export type RejectedRows = (
  rows: readonly OutboxRow[],
  reason: string,
  done: (err: Error | null) => void,
) => void
