import type { Log } from '../ops/log.js'
import type { DurableCallback, Urgency } from './types.js'

export interface BatchWriterOptions<T> {
  /** Commit when this many rows wait... */
  readonly maxRows: number
  /** Rows an item stands for (default 1): one item may carry a message's readings. */
  readonly weight?: (item: T) => number
  /** ...or when the oldest waiting item someone waits for (a PUBACK) has waited this long, */
  readonly maxDelayMs: number
  /**
   * ...or the oldest of the others (QoS 0 readings: nobody waits) this long. Longer
   * batches at low rates write fewer pages per reading (flash wear). Default: maxDelayMs.
   */
  readonly relaxedDelayMs?: number
  /**
   * ...or as soon as the input goes idle (the event loop has handled every message that
   * had arrived) while at least this many writes someone waits for are queued (default:
   * never). A sender that waits for its PUBACKs cannot send more once they fill its
   * in-flight window (an external broker's window to us: 20 on Mosquitto for MQTT 3
   * clients and on VerneMQ, 32 on EMQX; it queues the rest, then drops past its queue's
   * limit): waiting out `maxDelayMs` then would cap intake at window/delay. 1 commits at
   * every idle moment: the lowest latency, but at moderate rates a commit (and an fsync)
   * every few messages. Under load, batches still grow to what arrives while the
   * previous commit runs.
   */
  readonly idleCommitAfter?: number
  /** Items kept in memory after a failed commit, retried later; more are given up. */
  readonly maxRetryItems: number
  /** Pause between retries while commits fail. */
  readonly retryDelayMs: number
  /** Writes all items in ONE transaction and returns after COMMIT, or throws (rolled back). */
  readonly commit: (items: readonly T[]) => void
  /**
   * True for errors of the environment (disk full, I/O, locked, corrupt): the batch is
   * kept for retry. Other errors come from an item: the batch is split to isolate it.
   */
  readonly isEnvironmentError: (err: unknown) => boolean
  /** The error for a write after close (a bug in the caller). */
  readonly closedError: () => Error
  /** Turns a raw error into the one given to callbacks. */
  readonly describe: (err: unknown) => Error
  readonly logger?: Log | undefined
  /** Items given up on (retry buffer full, or still kept at close): they were not stored. */
  readonly onGiveUp?: (items: readonly T[]) => void
}

/**
 * Group commit: writes accumulate and commit together at `maxRows` or `maxDelayMs`
 * (`relaxedDelayMs` while only writes nobody waits for are queued), whichever comes first; each write's callback fires after the COMMIT that made it
 * durable has returned (so an MQTT PUBACK sent from it never precedes durability).
 *
 * When a commit fails for an environment reason (disk full), every callback of that batch
 * gets the error (the sender must not be acknowledged) and the writer turns unhealthy:
 * new writes are refused at once with an error but still kept, like the failed batch, in a
 * bounded retry buffer that is committed when space returns. A redelivered copy is then
 * absorbed by the store's unique keys.
 */
export class BatchWriter<T> {
  /** Items waiting for the next commit, and their callbacks at the same index. */
  private waiting: T[] = []
  private callbacks: (DurableCallback | undefined)[] = []
  /** Rows of the waiting items (their weights). */
  private waitingRows = 0
  /** Waiting items someone waits for (urgency `ack`). */
  private waitingAcks = 0
  private retry: T[] = []
  private timer: NodeJS.Timeout | undefined
  /** The timer runs at maxDelayMs (not relaxedDelayMs): a later prompt write keeps it. */
  private timerPrompt = false
  private immediate: NodeJS.Immediate | undefined
  private failure: Error | undefined
  private closed = false
  private readonly counters = {
    batches: 0,
    failedBatches: 0,
    committedItems: 0,
    lastCommitMs: 0,
    maxCommitMs: 0,
    totalCommitMs: 0,
    droppedUnhealthy: 0,
  }

  constructor(private readonly opts: BatchWriterOptions<T>) {}

  /** `urgency`: how soon it must be committed (types.ts). */
  write(item: T, cb?: DurableCallback, urgency: Urgency = 'ack'): void {
    if (this.closed) throw this.opts.closedError()
    if (this.failure !== undefined) {
      this.keepForRetry([item])
      const err = this.failure
      if (cb !== undefined) process.nextTick(() => this.call(cb, err))
      return
    }
    this.waiting.push(item)
    this.callbacks.push(cb)
    this.waitingRows += this.opts.weight === undefined ? 1 : this.opts.weight(item)
    // A full batch commits now, inside this call: waiting for the event loop to come
    // round let a burst queue four times maxRows, all of it surviving the young
    // generation's collections until then (bench:gateway's flood, --trace-gc).
    const prompt = urgency !== 'later'
    if (urgency === 'ack') this.waitingAcks++
    if (this.waitingRows >= this.opts.maxRows) this.flush()
    else if (urgency === 'ack' && this.waitingAcks >= (this.opts.idleCommitAfter ?? Infinity))
      this.scheduleIdleCommit()
    else if (this.timer === undefined || (prompt && !this.timerPrompt)) {
      // a prompt write cuts a relaxed wait short; its own delay never ends later than that
      if (this.timer !== undefined) clearTimeout(this.timer)
      const relaxed = this.opts.relaxedDelayMs ?? this.opts.maxDelayMs
      this.timerPrompt = prompt
      this.timer = setTimeout(() => this.onTimer(), prompt ? this.opts.maxDelayMs : relaxed)
    }
  }

  /** Commits everything waiting (and retries kept rows) now; returns after COMMIT. */
  flush(): void {
    this.clearSchedule()
    const batch = this.waiting
    const callbacks = this.callbacks
    this.waiting = []
    this.callbacks = []
    this.waitingRows = 0
    this.waitingAcks = 0
    const retried = this.retry
    this.retry = []
    if (batch.length === 0 && retried.length === 0) {
      // Nothing kept to probe with: let the next write try a real commit.
      this.recovered()
      return
    }
    const items = retried.length === 0 ? batch : [...retried, ...batch]
    const err = this.tryCommit(items)
    if (err === undefined) {
      this.recovered()
      for (const cb of callbacks) if (cb !== undefined) this.call(cb, null)
      return
    }
    if (this.opts.isEnvironmentError(err)) {
      this.failed(err, items)
      for (const cb of callbacks) if (cb !== undefined) this.call(cb, this.failure ?? null)
      return
    }
    // An item the database refuses (a bug upstream): commit the others one by one.
    this.counters.failedBatches++
    for (const item of retried) this.commitAlone(item, undefined)
    for (let i = 0; i < batch.length; i++) this.commitAlone(batch[i] as T, callbacks[i])
  }

  /** Flushes and stops; later writes throw. Returns how many kept rows could not be stored. */
  close(): number {
    this.flush()
    this.closed = true
    this.clearSchedule()
    const lost = this.retry.length
    if (lost > 0) this.opts.onGiveUp?.(this.retry)
    this.retry = []
    return lost
  }

  health(): { ok: true } | { ok: false; reason: string } {
    return this.failure === undefined ? { ok: true } : { ok: false, reason: this.failure.message }
  }

  stats() {
    return {
      ...this.counters,
      pending: this.waiting.length + this.retry.length,
      retrying: this.retry.length,
      lastError: this.failure?.message,
    }
  }

  private commitAlone(item: T, cb: DurableCallback | undefined): void {
    const err = this.tryCommit([item])
    if (err !== undefined && this.opts.isEnvironmentError(err)) this.failed(err, [item])
    const result = err === undefined ? null : this.opts.describe(err)
    if (err !== undefined) this.opts.logger?.error({ err: result }, 'store: row refused')
    if (cb !== undefined) this.call(cb, result)
  }

  private tryCommit(items: readonly T[]): unknown {
    const started = performance.now()
    try {
      this.opts.commit(items)
    } catch (err) {
      return err ?? new Error('commit failed')
    }
    const ms = performance.now() - started
    const c = this.counters
    c.batches++
    c.committedItems += items.length
    c.lastCommitMs = ms
    c.maxCommitMs = Math.max(c.maxCommitMs, ms)
    c.totalCommitMs += ms
    return undefined
  }

  private failed(err: unknown, items: readonly T[]): void {
    const first = this.failure === undefined
    this.failure = this.opts.describe(err)
    this.counters.failedBatches++
    this.keepForRetry(items)
    if (first) {
      this.opts.logger?.error({ err: this.failure }, 'store: commit failed, refusing new writes')
    }
    if (!this.closed && this.timer === undefined) {
      this.timerPrompt = true
      this.timer = setTimeout(() => this.onTimer(), this.opts.retryDelayMs)
    }
  }

  private recovered(): void {
    if (this.failure === undefined) return
    this.opts.logger?.info(
      { dropped: this.counters.droppedUnhealthy },
      'store: writes succeed again',
    )
    this.failure = undefined
  }

  private keepForRetry(items: readonly T[]): void {
    const room = this.opts.maxRetryItems - this.retry.length
    // Keep the oldest: newer ones were refused to their senders, who will resend them.
    this.retry.push(...items.slice(0, Math.max(0, room)))
    const given = items.slice(Math.max(0, room))
    this.counters.droppedUnhealthy += given.length
    if (given.length > 0) this.opts.onGiveUp?.(given)
  }

  private onTimer(): void {
    this.timer = undefined
    // Due: commit once this turn's deliveries are written (see scheduleIdleCommit).
    this.scheduleIdleCommit()
  }

  /**
   * Commits once the input is idle: after the current turn of the event loop, and after
   * the immediates that turn queued. aedes writes a message to its subscribers from an
   * immediate queued once its retained store resolved, i.e. after ours: one immediate
   * made an alert wait behind the commit of the reading that raised it, fsync included
   * (strace: the alert's writev 4.6 ms after the PUBLISH's read, right after the fsync).
   */
  private scheduleIdleCommit(): void {
    if (this.immediate !== undefined) return
    this.immediate = setImmediate(() => {
      this.immediate = setImmediate(() => {
        this.immediate = undefined
        this.flush()
      })
    })
  }

  private clearSchedule(): void {
    if (this.timer !== undefined) clearTimeout(this.timer)
    if (this.immediate !== undefined) clearImmediate(this.immediate)
    this.timer = undefined
    this.immediate = undefined
  }

  private call(cb: DurableCallback, err: Error | null): void {
    try {
      cb(err)
    } catch (thrown) {
      this.opts.logger?.error({ err: thrown }, 'store: a durability callback threw')
    }
  }
}
