import type BetterSqlite3 from 'better-sqlite3'
import { connect, type MqttClient } from 'mqtt'
import { ERR } from '../errors.js'
import { Backoff } from './backoff.js'
import { clientOptions } from './connection.js'
import {
  type ForwarderOptions,
  joinTopic,
  type ResolvedOptions,
  resolveOptions,
} from './options.js'
import { OutboxQueue, type OutboxRow } from './outbox.js'
import { SendWindow } from './send-window.js'
import { assessHealth, type ForwarderHealth, type ForwarderStats } from './stats.js'
import { statusPayload } from './status.js'
import { TokenBucket } from './token-bucket.js'

type State = 'new' | 'running' | 'stopping' | 'stopped'

/**
 * Drains the SQLite outbox to the upstream broker: oldest first, QoS 1, up to `inflight`
 * publishes awaiting PUBACK, all on one connection so the upstream sees them in id order.
 * A row is deleted only after its PUBACK, and only as part of an acknowledged prefix of
 * the send order, so after a crash or a reconnect at most the window is sent again.
 *
 * While disconnected nothing is published: the rows stay in the table, never in MQTT.js'
 * in-memory queue. Each connection is a fresh MQTT.js client (its store starts empty) and
 * starts again from the head of the table.
 */
export class Forwarder {
  private readonly opts: ResolvedOptions
  private readonly queue: OutboxQueue
  private readonly bucket: TokenBucket | undefined
  private readonly backoff: Backoff
  private state: State = 'new'
  private client: MqttClient | undefined
  private connected = false
  private everConnected = false
  private disconnectedSince = Date.now()
  private readonly window = new SendWindow()
  /** Highest row id read on the current connection. */
  private cursor = 0
  /** Highest row id ever published by this process: a lower id published again is a resend. */
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
    deleteCommits: 0,
    reconnects: 0,
    connectAttempts: 0,
  }

  constructor(db: BetterSqlite3.Database, options: ForwarderOptions) {
    this.opts = resolveOptions(options)
    this.queue = new OutboxQueue(db)
    this.bucket =
      this.opts.maxReplayPerSecond > 0
        ? new TokenBucket(this.opts.maxReplayPerSecond, this.opts.replayBurst)
        : undefined
    this.backoff = new Backoff({
      initialMs: this.opts.reconnectInitialMs,
      maxMs: this.opts.reconnectMaxMs,
      random: this.opts.random,
    })
  }

  /** Connects and starts draining. Returns at once; progress shows in stats(). */
  start(): void {
    if (this.state !== 'new') throw ERR.UPLINK_NOT_RUNNING(this.state)
    this.state = 'running'
    this.pollTimer = setInterval(() => this.poll(), this.opts.pollIntervalMs)
    this.pollTimer.unref()
    this.openConnection()
  }

  /** Call after a commit that added outbox rows: wakes the forwarder without polling. */
  notify(): void {
    if (this.state === 'running') this.schedulePump()
  }

  /** Tokens the replay pacer has granted so far (undefined when unpaced). */
  get pacedPublishes(): number | undefined {
    return this.bucket?.granted
  }

  stats(): ForwarderStats {
    let backlog = { rows: 0, bytes: 0, oldestCreatedAt: undefined as number | undefined }
    try {
      backlog = this.queue.estimate()
    } catch (err) {
      this.recordError(err)
    }
    return {
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
   * Stops sending, waits up to `stopTimeoutMs` for the PUBACKs of rows in flight (then
   * deletes them), publishes the offline status and disconnects cleanly (so the broker
   * does not fire the Last Will). Rows not acknowledged stay in the outbox.
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
    const client = this.client
    this.client = undefined
    if (client !== undefined && this.connected) {
      const offline = statusPayload('offline', this.opts.gatewayId, this.opts.version)
      await withTimeout(
        new Promise<void>((r) =>
          client.publish(this.opts.statusTopic, offline, { qos: 1, retain: true }, () => r()),
        ),
        t,
      )
      const ended = await withTimeout(
        new Promise<boolean>((r) => client.end(false, {}, () => r(true))),
        t,
      )
      if (ended !== true) client.end(true)
    } else {
      client?.end(true)
    }
    this.connected = false
    this.window.clear()
    this.state = 'stopped'
    this.opts.logger.info({ ...this.counts }, 'uplink stopped')
  }

  private openConnection(): void {
    const o = this.opts
    this.counts.connectAttempts++
    const client = connect(clientOptions(o))
    this.client = client
    client.on('connect', () => {
      if (this.client === client) this.onConnected(client)
    })
    client.on('error', (err) => {
      if (this.client === client) this.recordError(err)
    })
    client.on('close', () => {
      if (this.client === client) this.abandon(client)
    })
  }

  private onConnected(client: MqttClient): void {
    this.connected = true
    if (this.everConnected) this.counts.reconnects++
    this.everConnected = true
    this.backoff.reset()
    this.window.clear()
    this.cursor = 0
    this.opts.logger.info(
      { host: this.opts.host, port: this.opts.port, clientId: this.opts.clientId },
      'uplink connected',
    )
    const online = statusPayload('online', this.opts.gatewayId, this.opts.version)
    client.publish(this.opts.statusTopic, online, { qos: 1, retain: true }, (err) => {
      if (err && this.client === client) this.recordError(err)
    })
    this.schedulePump()
  }

  /** The connection is gone (or unusable): forget its in-flight state and retry later. */
  private abandon(client: MqttClient): void {
    const wasConnected = this.connected
    this.flushAcks()
    this.client = undefined
    this.connected = false
    // Unacknowledged rows are still in the table; the next connection starts from its head.
    this.window.clear()
    this.cursor = 0
    // Drops MQTT.js' in-memory copy of what was in flight: the table is the only queue.
    client.end(true)
    this.releaseDrainWaiters()
    if (wasConnected) {
      this.disconnectedSince = Date.now()
      this.opts.logger.warn(
        { lastError: this.lastError },
        'uplink disconnected, buffering in the outbox',
      )
    }
    if (this.state !== 'running') return
    const delay = this.backoff.next()
    this.opts.logger.debug(
      { delayMs: delay, attempt: this.backoff.attempts },
      'uplink reconnect scheduled',
    )
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined
      if (this.state === 'running') this.openConnection()
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
    const client = this.client
    if (this.state !== 'running' || !this.connected || client === undefined) return
    const room = this.opts.inflight - this.window.length
    if (room <= 0) return // PUBACKs will call us again
    let want = room
    if (this.bucket !== undefined) {
      want = this.bucket.take(room)
      if (want === 0) {
        this.armPumpTimer(this.bucket.msUntilToken())
        return
      }
    }
    let rows: OutboxRow[]
    try {
      rows = this.queue.next(this.cursor, want)
    } catch (err) {
      this.bucket?.refund(want)
      this.recordError(err)
      return // the poll timer tries again
    }
    const cutoff = this.opts.ttlMs > 0 ? Date.now() - this.opts.ttlMs : Number.NEGATIVE_INFINITY
    const expired: number[] = []
    let published = 0
    for (const row of rows) {
      this.cursor = row.id
      if (row.createdAt < cutoff) expired.push(row.id)
      else {
        this.publishRow(client, row)
        published++
      }
    }
    this.bucket?.refund(want - published)
    if (expired.length > 0) this.deleteExpired(expired)
    // A full batch means more rows may be waiting; setImmediate lets I/O (PUBACKs) in between.
    if (rows.length === want) this.schedulePump()
  }

  private publishRow(client: MqttClient, row: OutboxRow): void {
    const entry = this.window.push(row.id, Date.now())
    this.counts.sent++
    if (row.id <= this.highestSent) this.counts.resent++
    else this.highestSent = row.id
    client.publish(joinTopic(this.opts.topicPrefix, row.topic), row.payload, { qos: 1 }, (err) => {
      if (this.client !== client) return // an abandoned connection: the row is sent again
      if (err) {
        // A refused publish (MQTT 5 reason code): keep the row, reconnect and retry later.
        this.recordError(err)
        this.abandon(client)
        return
      }
      this.window.ack(entry)
      this.counts.acked++
      this.scheduleFlush()
    })
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
    if (this.opts.ttlMs > 0) {
      try {
        const n = this.queue.expireHead(this.cursor, Date.now() - this.opts.ttlMs)
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
   * A broker that keeps the connection (and answers pings) but stops acknowledging would
   * hold the window forever: give up on the connection and resend from the table.
   */
  private checkAckTimeout(): void {
    const oldest = this.window.oldestUnacked()
    const client = this.client
    if (oldest === undefined || client === undefined || !this.connected) return
    const waited = Date.now() - oldest.sentAt
    if (waited <= this.opts.ackTimeoutMs) return
    this.recordError(ERR.UPLINK_NO_PUBACK(Math.round(waited / 1000)))
    this.abandon(client)
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
    if (msg !== this.lastError) this.opts.logger.warn({ err: msg }, 'uplink error')
    this.lastError = msg
    this.lastErrorAt = Date.now()
  }
}

/** Resolves with the promise's value, or undefined after `ms`. */
async function withTimeout<T>(p: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<undefined>((r) => {
    timer = setTimeout(() => r(undefined), ms)
  })
  try {
    return await Promise.race([p, timeout])
  } finally {
    clearTimeout(timer)
  }
}
