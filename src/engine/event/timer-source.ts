import { ERR } from '../errors.js'
import {
  type EventDrivenNode,
  NO_EVENT,
  type NoEvent,
  SOURCE_CLOSED,
  type SourceClosed,
} from './event-node.js'

/**
 * One tick of a TimerEventSource. Ticks are not data: when processing falls behind,
 * missed ticks are merged into the next one (`missed` counts them) instead of piling up.
 */
export interface TimerTick {
  readonly kind: 'tick'
  /** The timer's node id, so one handler can serve several timers. */
  readonly timer: string
  /** When this tick fired, ms since the epoch (Date.now()). */
  readonly at: number
  /** 1, 2, 3, ... per tick delivered. */
  readonly seq: number
  /** Ticks that fired while this one was still waiting to be taken, merged into it. */
  readonly missed: number
}

export function isTimerTick(e: unknown): e is TimerTick {
  return typeof e === 'object' && e !== null && (e as { kind?: unknown }).kind === 'tick'
}

/**
 * Emits a TimerTick every `intervalMs` (stale-sensor checks, window closes). At most one
 * tick waits at a time. `close()` stops the interval; a tick not yet taken is dropped
 * and the source reports closed.
 */
export class TimerEventSource implements EventDrivenNode<TimerTick, unknown, 'default'> {
  private timer: NodeJS.Timeout | undefined
  private pending: { at: number; missed: number } | undefined
  private waiter: ((v: TimerTick | SourceClosed) => void) | undefined
  private seq = 0
  private closed = false

  constructor(
    readonly intervalMs: number,
    readonly id = 'timer',
  ) {
    if (!Number.isFinite(intervalMs) || intervalMs < 1) {
      throw ERR.ENGINE_BAD_OPTION('intervalMs', intervalMs, 'a number of ms >= 1')
    }
  }

  /** Starts on the first wait, so ticks do not accumulate before the run begins. */
  private start(): void {
    if (this.timer || this.closed) return
    this.timer = setInterval(() => this.fire(), this.intervalMs)
  }

  private fire(): void {
    const at = Date.now()
    const w = this.waiter
    if (w) {
      this.waiter = undefined
      w(this.tick(at, 0))
    } else if (this.pending) {
      this.pending = { at, missed: this.pending.missed + 1 }
    } else {
      this.pending = { at, missed: 0 }
    }
  }

  private tick(at: number, missed: number): TimerTick {
    this.seq++
    return { kind: 'tick', timer: this.id, at, seq: this.seq, missed }
  }

  /** Ticks fired and not yet taken (merged into one event; 0 when none waits). */
  get backlog(): number {
    return this.pending ? this.pending.missed + 1 : 0
  }

  pollEvent(): TimerTick | NoEvent {
    const p = this.pending
    if (!p) return NO_EVENT
    this.pending = undefined
    return this.tick(p.at, p.missed)
  }

  waitForEvent(signal?: AbortSignal): Promise<TimerTick | SourceClosed> {
    if (this.closed) return Promise.resolve(SOURCE_CLOSED)
    this.start()
    const ready = this.pollEvent()
    if (ready !== NO_EVENT) return Promise.resolve(ready)
    if (signal?.aborted) return Promise.reject(signal.reason ?? ERR.ENGINE_ABORTED('timer wait'))
    return new Promise((resolve, reject) => {
      const onAbort = () => {
        if (this.waiter !== done) return
        this.waiter = undefined
        reject(signal?.reason ?? ERR.ENGINE_ABORTED('timer wait'))
      }
      const done = (v: TimerTick | SourceClosed) => {
        signal?.removeEventListener('abort', onAbort)
        resolve(v)
      }
      this.waiter = done
      signal?.addEventListener('abort', onAbort, { once: true })
    })
  }

  processEvent(): 'default' {
    return 'default'
  }

  close(): void {
    if (this.closed) return
    this.closed = true
    clearInterval(this.timer)
    this.timer = undefined
    this.pending = undefined
    const w = this.waiter
    this.waiter = undefined
    w?.(SOURCE_CLOSED)
  }
}
