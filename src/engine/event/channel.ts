import { ERR } from '../errors.js'
import { Fifo } from '../fifo.js'
import { NO_EVENT, type NoEvent, SOURCE_CLOSED, type SourceClosed } from './event-node.js'

interface Receiver<T> {
  resolve(v: T | SourceClosed): void
  reject(err: unknown): void
  signal: AbortSignal | undefined
}

interface Sender<T> {
  value: T
  resolve(): void
}

const SENT: Promise<void> = Promise.resolve()

/**
 * A bounded async queue (the in-process channel of ADR-0009). A full channel makes
 * `send` wait: nothing is dropped. `close()` refuses new sends but every value already
 * accepted, and every `send` already waiting, is still received; then receivers get
 * SOURCE_CLOSED.
 */
export class Channel<T> {
  private readonly buf: Fifo<T>
  private readonly receivers = new Fifo<Receiver<T>>(4)
  private readonly senders = new Fifo<Sender<T>>(4)
  /**
   * Signals this channel listens to: one listener per signal for the channel's life, not
   * one added and removed per wait (1.4 µs of each wait-and-wake, paid per message when
   * messages arrive one at a time).
   */
  private readonly watched = new WeakSet<AbortSignal>()
  private closed = false

  constructor(
    readonly capacity: number,
    readonly id = 'channel',
  ) {
    if (!Number.isInteger(capacity) || capacity < 1) {
      throw ERR.ENGINE_BAD_OPTION('capacity', capacity, 'an integer >= 1')
    }
    this.buf = new Fifo<T>(Math.min(capacity, 1024))
  }

  /** Values accepted and not yet received (waiting senders not counted). */
  get size(): number {
    return this.buf.length
  }

  /** Senders waiting for room. */
  get waitingSenders(): number {
    return this.senders.length
  }

  get isClosed(): boolean {
    return this.closed
  }

  /** Accepts the value now, or returns false when the channel is full. Throws when closed. */
  trySend(value: T): boolean {
    if (this.closed) throw ERR.ENGINE_CHANNEL_CLOSED(this.id)
    const r = this.receivers.shift()
    if (r !== undefined) {
      this.handOff(r, value)
      return true
    }
    if (this.buf.length < this.capacity && this.senders.length === 0) {
      this.buf.push(value)
      return true
    }
    return false
  }

  /** Resolves once the value is accepted; waits while the channel is full. */
  send(value: T): Promise<void> {
    if (this.closed) return Promise.reject(ERR.ENGINE_CHANNEL_CLOSED(this.id))
    if (this.trySend(value)) return SENT
    return new Promise((resolve) => this.senders.push({ value, resolve }))
  }

  /** A value ready now, or NO_EVENT (also when closed and drained). */
  tryReceive(): T | NoEvent {
    if (this.buf.length === 0) return NO_EVENT
    const v = this.buf.shift() as T
    const s = this.senders.shift()
    if (s !== undefined) {
      this.buf.push(s.value)
      s.resolve()
    }
    return v
  }

  /** The next value; SOURCE_CLOSED once closed and drained. Rejects when `signal` aborts. */
  receive(signal?: AbortSignal): Promise<T | SourceClosed> {
    const v = this.tryReceive()
    if (v !== NO_EVENT) return Promise.resolve(v)
    if (this.closed) return Promise.resolve(SOURCE_CLOSED)
    if (signal?.aborted) return Promise.reject(signal.reason ?? ERR.ENGINE_ABORTED('receive'))
    if (signal !== undefined && !this.watched.has(signal)) this.watch(signal)
    return new Promise((resolve, reject) => {
      this.receivers.push({ resolve, reject, signal })
    })
  }

  /** On abort, the waiters still queued with this signal are cancelled. */
  private watch(signal: AbortSignal): void {
    this.watched.add(signal)
    signal.addEventListener(
      'abort',
      () => {
        // Only a waiter still queued is cancelled; one already handed a value keeps it.
        const reason = signal.reason ?? ERR.ENGINE_ABORTED('receive')
        for (const r of this.receivers.drain()) {
          if (r.signal === signal) r.reject(reason)
          else this.receivers.push(r)
        }
      },
      { once: true },
    )
  }

  /** Refuses new sends; queued values and waiting senders are still delivered. Idempotent. */
  close(): void {
    if (this.closed) return
    this.closed = true
    // Receivers only wait on an empty buffer, and then no sender waits either.
    for (let r = this.receivers.shift(); r !== undefined; r = this.receivers.shift()) {
      r.resolve(SOURCE_CLOSED)
    }
  }

  private handOff(r: Receiver<T>, value: T): void {
    r.resolve(value)
  }
}
