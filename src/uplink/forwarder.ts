import { Attempts, reconnectBackoff } from '../engine/backoff.js'
import { TokenBucket } from '../engine/token-bucket.js'
import { ERR, FloxgateError } from '../errors.js'
import type { ForwarderOutbox, OutboxRow } from '../store/outbox.js'
import { withTimeout } from './mqtt-session.js'
import { MqttTarget } from './mqtt-target.js'
import {
  type ForwarderOptions,
  type ResolvedOptions,
  resolveMqttOptions,
  resolveOptions,
} from './options.js'
import { type InFlight, SendWindow } from './send-window.js'
import { assessHealth, type ForwarderHealth, type ForwarderStats } from './stats.js'
import type { Delivery, RejectedRows, UplinkTarget } from './target.js'

type State = 'new' | 'running' | 'stopping' | 'stopped'

/** Rows read for sending, the pacer's tokens taken for them, and whether more may wait. */
interface Read {
  readonly rows: OutboxRow[]
  readonly tokens: number
  readonly full: boolean
}

/**
 * Drains one uplink's outbox queue to its target: oldest first, up to `inflight` rows
 * awaiting the upstream's acknowledgement, all on one session so the upstream sees them in
 * id order. A row is deleted only after it was delivered (or refused for good and kept as
 * a dead letter), and only as part of a delivered prefix of the send order, so after a
 * crash or a reconnect at most the window is sent again.
 *
 * While the target is down nothing is sent: the rows stay in the table, never in a
 * client's memory. Each session starts again from the head of the table.
 */
export class Forwarder {
  readonly target: UplinkTarget
  private readonly opts: ResolvedOptions
  private readonly bucket: TokenBucket | undefined
  private readonly backoff: Attempts
  private readonly onRejected: RejectedRows
  private state: State = 'new'
  /** Counts sessions: callbacks of an older one are ignored. */
  private session = 0
  private connected = false
  private everConnected = false
  private disconnectedSince = Date.now()
  private readonly window = new SendWindow()
  /** Highest row id read on the current session. */
  private cursor = 0
  /** Highest row id ever sent by this process: a lower id sent again is a resend. */
  private highestSent = 0
  private pumpQueued = false
  private flushQueued = false
  private flushTimer: NodeJS.Timeout | undefined
  private pumpTimer: NodeJS.Timeout | undefined
  private pollTimer: NodeJS.Timeout | undefined
  private reconnectTimer: NodeJS.Timeout | undefined
  private drainWaiters: (() => void)[] = []
  private stopping: Promise<void> | undefined
  private lastError: string | undefined
  private expiredSinceLog = 0
  private lastErrorAt: number | undefined
  private readonly counts = {
    sent: 0,
    acked: 0,
    resent: 0,
    expired: 0,
    rejected: 0,
    deleteCommits: 0,
    reconnects: 0,
    connectAttempts: 0,
  }

  constructor(
    private readonly queue: ForwarderOutbox,
    options: ForwarderOptions,
  ) {
    this.opts = resolveOptions(options)
    this.target = options.target ?? new MqttTarget(resolveMqttOptions(options))
    this.onRejected =
      options.onRejected ??
      ((rows, reason, done) => {
        this.opts.logger.error(
          { rows: rows.length, firstId: rows[0]?.id, reason },
          'uplink: the upstream refused rows for good; dropped them',
        )
        done(null)
      })
    // A batching target needs a whole batch of tokens at once: with the default burst (50 ms
    // worth, 100 rows at 2,000/s) InfluxDB's 500-row batches never filled past 100.
    this.bucket =
      this.opts.maxReplayPerSecond > 0
        ? new TokenBucket(
            this.opts.maxReplayPerSecond,
            Math.max(this.opts.replayBurst, this.target.batchRows),
          )
        : undefined
    this.backoff = new Attempts(
      reconnectBackoff(this.opts.reconnectInitialMs, this.opts.reconnectMaxMs, this.opts.random),
    )
  }

  /** The uplink's id (its queue's). */
  get id(): string {
    return this.queue.id
  }

  /** Connects and starts draining. Returns at once; progress shows in stats(). */
  start(): void {
    if (this.state !== 'new') throw ERR.UPLINK_NOT_RUNNING(this.state)
    this.state = 'running'
    this.pollTimer = setInterval(() => this.poll(), this.opts.pollIntervalMs)
    this.pollTimer.unref()
    this.openSession()
  }

  /** Call after a commit that added outbox rows: wakes the forwarder without polling. */
  notify(): void {
    if (this.state === 'running') this.schedulePump()
  }

  /** A reload removed `device` from the config: tells the target (see UplinkTarget). */
  deviceRemoved(device: string): void {
    if (this.state === 'running') this.target.deviceRemoved?.(device)
  }

  /** Tokens the replay pacer has granted so far (undefined when unpaced). */
  get pacedPublishes(): number | undefined {
    return this.bucket?.granted
  }

  stats(): ForwarderStats {
    let backlog = { rows: 0, bytes: 0, oldestCreatedAt: undefined as number | undefined }
    try {
      backlog = this.queue.backlog()
    } catch (err) {
      this.recordError(err)
    }
    return {
      id: this.queue.id,
      kind: this.target.kind,
      connected: this.connected,
      backlogRows: backlog.rows,
      backlogBytes: backlog.bytes,
      oldestAgeMs: backlog.oldestCreatedAt === undefined ? 0 : Date.now() - backlog.oldestCreatedAt,
      inflight: this.window.length,
      ...this.counts,
      lastError: this.lastError,
      lastErrorAt: this.lastErrorAt,
    }
  }

  health(): ForwarderHealth {
    const now = Date.now()
    let lagMs = 0
    if (this.state === 'running' && this.connected) {
      try {
        const oldest = this.queue.oldestCreatedAt()
        lagMs = oldest === undefined ? 0 : now - oldest
      } catch (err) {
        this.recordError(err)
        return { ok: false, reason: `outbox unreadable: ${this.lastError}` }
      }
    }
    return assessHealth({
      state: this.state,
      connected: this.connected,
      downMs: now - this.disconnectedSince,
      lastError: this.lastError,
      lagMs,
      disconnectGraceMs: this.opts.disconnectGraceMs,
      maxLagMs: this.opts.maxLagMs,
    })
  }

  /**
   * Stops sending, waits up to `stopTimeoutMs` for the acknowledgements of rows in flight
   * (then deletes them), and ends the session cleanly (MQTT: offline status, and a
   * disconnect that does not fire the Last Will). Rows not delivered stay in the outbox.
   */
  stop(): Promise<void> {
    if (this.stopping === undefined) this.stopping = this.doStop()
    return this.stopping
  }

  private async doStop(): Promise<void> {
    if (this.state === 'new') {
      this.state = 'stopped'
      return
    }
    this.state = 'stopping'
    clearInterval(this.pollTimer)
    clearTimeout(this.pumpTimer)
    clearTimeout(this.reconnectTimer)
    const t = this.opts.stopTimeoutMs
    if (this.connected && this.window.length > 0) {
      await withTimeout(new Promise<void>((r) => this.drainWaiters.push(r)), t)
    }
    this.flushAcks()
    this.session++
    if (this.connected) await this.target.close(t)
    else this.target.reset()
    this.connected = false
    this.window.clear()
    this.state = 'stopped'
    this.opts.logger.info({ ...this.counts }, 'uplink stopped')
  }

  private openSession(): void {
    this.counts.connectAttempts++
    const session = ++this.session
    this.target.open({
      up: () => {
        if (this.session === session) this.onConnected()
      },
      down: (err) => {
        if (this.session !== session) return
        if (err !== undefined) this.recordError(err)
        this.abandon()
      },
      error: (err) => {
        if (this.session === session) this.recordError(err)
      },
    })
  }

  private onConnected(): void {
    this.connected = true
    if (this.everConnected) this.counts.reconnects++
    this.everConnected = true
    this.backoff.reset()
    this.window.clear()
    this.cursor = 0
    this.opts.logger.info(
      { uplink: this.queue.id, kind: this.target.kind, endpoint: this.target.endpoint },
      'uplink connected',
    )
    this.schedulePump()
  }

  /** The session is gone (or unusable): forget its in-flight state and retry later. */
  private abandon(): void {
    const wasConnected = this.connected
    this.flushAcks()
    this.session++
    this.target.reset()
    this.connected = false
    // Undelivered rows are still in the table; the next session starts from its head.
    this.window.clear()
    this.cursor = 0
    this.releaseDrainWaiters()
    if (wasConnected) {
      this.disconnectedSince = Date.now()
      this.opts.logger.warn(
        { uplink: this.queue.id, lastError: this.lastError },
        'uplink disconnected, buffering in the outbox',
      )
    }
    if (this.state !== 'running') return
    const delay = this.backoff.next()
    this.opts.logger.debug(
      { delayMs: delay, attempt: this.backoff.count },
      'uplink reconnect scheduled',
    )
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined
      if (this.state === 'running') this.openSession()
    }, delay)
  }

  private schedulePump(): void {
    if (this.pumpQueued) return
    this.pumpQueued = true
    setImmediate(() => {
      this.pumpQueued = false
      this.pump()
    })
  }

  /** Fills the in-flight window from the table, as far as the pacer allows. */
  private pump(): void {
    if (this.state !== 'running' || !this.connected) return
    const room = this.opts.inflight - this.window.length
    if (room <= 0) return // acknowledgements will call us again
    const batch = this.target.batchRows
    const read = batch > 1 ? this.readBatch(room, batch) : this.readRows(room)
    if (read === undefined) return
    const { rows, tokens, full } = read
    const cutoff =
      this.opts.ttlMs > 0 && this.opts.clockSane()
        ? Date.now() - this.opts.ttlMs
        : Number.NEGATIVE_INFINITY
    const expired: number[] = []
    const live: OutboxRow[] = []
    for (const row of rows) {
      this.cursor = row.id
      if (row.createdAt < cutoff) expired.push(row.id)
      else live.push(row)
    }
    this.bucket?.refund(tokens - live.length)
    if (expired.length > 0) this.deleteExpired(expired)
    for (let i = 0; i < live.length; i += batch) this.sendBatch(live.slice(i, i + batch))
    // A full read means more rows may be waiting; setImmediate lets I/O (acks) in between.
    if (full) this.schedulePump()
  }

  /** A row per publish: as many rows as the window and the pacer allow. */
  private readRows(room: number): Read | undefined {
    let want = room
    if (this.bucket !== undefined) {
      want = this.bucket.take(room)
      if (want === 0) {
        this.armPumpTimer(this.bucket.msUntilToken())
        return undefined
      }
    }
    try {
      const rows = this.queue.next(this.cursor, want)
      return { rows, tokens: want, full: rows.length === want }
    } catch (err) {
      this.bucket?.refund(want)
      this.recordError(err)
      return undefined // the poll timer tries again
    }
  }

  /**
   * A batching target gets whole batches: a batch smaller than `batch` waits for more rows
   * until its first row is `batchDelayMs` old (size or time, whichever first), then for
   * the tokens to send all of it at once. (Taking what tokens there were sent a backlog
   * in slivers: 2,000 rows/s and a 50 ms round trip made 100-row requests.)
   */
  private readBatch(room: number, batch: number): Read | undefined {
    const limit = Math.min(room, batch)
    let rows: OutboxRow[]
    try {
      rows = this.queue.next(this.cursor, limit)
    } catch (err) {
      this.recordError(err)
      return undefined // the poll timer tries again
    }
    const first = rows[0]
    if (first === undefined) return undefined
    if (rows.length < batch && this.window.length === 0) {
      const wait = first.createdAt + this.target.batchDelayMs - Date.now()
      if (wait > 0) {
        this.armPumpTimer(wait)
        return undefined
      }
    }
    if (this.bucket !== undefined) {
      const got = this.bucket.take(rows.length)
      if (got < rows.length) {
        this.bucket.refund(got)
        this.armPumpTimer(this.bucket.msUntilToken(rows.length))
        return undefined
      }
    }
    return { rows, tokens: rows.length, full: rows.length === limit }
  }

  private sendBatch(rows: readonly OutboxRow[]): void {
    const session = this.session
    const now = Date.now()
    const entries: InFlight[] = []
    for (const row of rows) {
      entries.push(this.window.push(row.id, now))
      this.counts.sent++
      if (row.id <= this.highestSent) this.counts.resent++
      else this.highestSent = row.id
    }
    this.target.send(rows, (d: Delivery) => {
      if (this.session !== session) return // an abandoned session: the rows are sent again
      if (d.kind === 'failed') {
        this.recordError(d.error)
        this.abandon()
        return
      }
      if (d.kind === 'delivered') {
        this.acknowledge(entries)
        return
      }
      // Refused for good: kept as dead letters first, deleted from the queue after.
      this.recordError(ERR.UPLINK_UPSTREAM_REJECTED(d.reason))
      this.onRejected(rows, d.reason, (err) => {
        if (this.session !== session) return
        if (err !== null) {
          this.recordError(err)
          this.abandon()
          return
        }
        this.counts.rejected += rows.length
        this.acknowledge(entries)
      })
    })
  }

  private acknowledge(entries: readonly InFlight[]): void {
    for (const e of entries) this.window.ack(e)
    this.counts.acked += entries.length
    this.scheduleFlush()
  }

  /**
   * Deletes come in batches to spare the flash: at once (after the current burst of I/O)
   * when the full window blocks sending or when stopping, else after `deleteDelayMs`.
   * Rows acknowledged but not yet deleted stay inside the window, so a crash still re-sends
   * at most `inflight` rows. Waiting for a larger acked prefix while the window is full
   * would stall the stream: the broker's PUBACKs then wait on Nagle and delayed ACKs.
   */
  private scheduleFlush(): void {
    const urgent = this.window.length >= this.opts.inflight || this.state !== 'running'
    if (!urgent) {
      this.flushTimer ??= setTimeout(() => {
        this.flushTimer = undefined
        this.flushAcks()
      }, this.opts.deleteDelayMs)
      return
    }
    if (this.flushQueued) return
    this.flushQueued = true
    setImmediate(() => {
      this.flushQueued = false
      this.flushAcks()
    })
  }

  /** Deletes the acknowledged prefix of the window in one commit and refills the window. */
  private flushAcks(): void {
    clearTimeout(this.flushTimer)
    this.flushTimer = undefined
    const acked = this.window.ackedRange()
    if (acked === undefined) return
    try {
      this.queue.deleteRange(acked.first, acked.last)
      this.counts.deleteCommits++
    } catch (err) {
      this.recordError(err) // rows stay and may be sent again: a bounded duplicate, never a loss
      return
    }
    this.window.dropAcked()
    if (this.window.length === 0) this.releaseDrainWaiters()
    this.schedulePump()
  }

  private deleteExpired(ids: readonly number[]): void {
    try {
      this.queue.delete(ids)
      this.counts.expired += ids.length
      this.expiredSinceLog += ids.length
    } catch (err) {
      this.recordError(err)
    }
  }

  /** Fallback wake-up, retries of failed deletes, and TTL expiry of rows not yet read. */
  private poll(): void {
    if (this.state !== 'running') return
    // A clock reading 1970 would expire nothing, but one set back into last week would
    // keep what should go; either way the TTL waits for a clock that can be trusted.
    if (this.opts.ttlMs > 0 && this.opts.clockSane()) {
      try {
        const n = this.queue.expire(Date.now() - this.opts.ttlMs, this.cursor)
        this.counts.expired += n
        this.expiredSinceLog += n
      } catch (err) {
        this.recordError(err)
      }
    }
    // One line per poll at most, however many batches met expired rows.
    if (this.expiredSinceLog > 0) {
      this.opts.logger.info(
        { rows: this.expiredSinceLog, total: this.counts.expired, ttlMs: this.opts.ttlMs },
        'uplink dropped expired rows',
      )
      this.expiredSinceLog = 0
    }
    this.checkAckTimeout()
    this.flushAcks()
    this.schedulePump()
  }

  /**
   * An upstream that keeps the session but stops acknowledging would hold the window
   * forever: give up on the session and resend from the table.
   */
  private checkAckTimeout(): void {
    const oldest = this.window.oldestUnacked()
    if (oldest === undefined || !this.connected) return
    const waited = Date.now() - oldest.sentAt
    if (waited <= this.opts.ackTimeoutMs) return
    this.recordError(
      this.target.kind === 'influxdb'
        ? ERR.UPLINK_NO_ANSWER(Math.round(waited / 1000))
        : ERR.UPLINK_NO_PUBACK(Math.round(waited / 1000)),
    )
    this.abandon()
  }

  private armPumpTimer(ms: number): void {
    if (this.pumpTimer !== undefined) return
    this.pumpTimer = setTimeout(
      () => {
        this.pumpTimer = undefined
        this.schedulePump()
      },
      Math.max(1, ms),
    )
  }

  private releaseDrainWaiters(): void {
    const waiters = this.drainWaiters
    this.drainWaiters = []
    for (const w of waiters) w()
  }

  private recordError(err: unknown): void {
    const msg = err instanceof Error ? err.message : String(err)
    const code = err instanceof FloxgateError ? err.code : undefined
    if (msg !== this.lastError)
      this.opts.logger.warn({ uplink: this.queue.id, err: msg, code }, 'uplink error')
    this.lastError = msg
    this.lastErrorAt = Date.now()
  }
}
