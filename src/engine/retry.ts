import type { Backoff } from './backoff.js'
import { delay } from './delay.js'
import { ERR } from './errors.js'
import type { DefaultAction, Node } from './node.js'
import type { Outcome } from './outcome.js'

export interface RetryOptions {
  /** Attempts in total, the first included (>= 1). */
  readonly maxAttempts: number
  readonly backoff: Backoff
  /** Which errors are worth retrying; default all. A refused error is rethrown at once. */
  readonly retryOn?: (err: unknown, attempt: number) => boolean
  /** Called before each wait, e.g. to log it. */
  readonly onRetry?: (err: unknown, attempt: number, waitMs: number) => void
}

/**
 * Wraps a node: when its `run` throws, waits per the backoff policy and runs it again,
 * up to `maxAttempts`; then throws ENGINE_RETRY_EXHAUSTED with the last error as cause.
 * Waits end early with ENGINE_ABORTED when the run's signal aborts.
 */
export class RetryNode<C, A extends string = DefaultAction, O = unknown> implements Node<C, A, O> {
  readonly id: string

  constructor(
    readonly inner: Node<C, A, O>,
    private readonly opts: RetryOptions,
  ) {
    if (!Number.isInteger(opts.maxAttempts) || opts.maxAttempts < 1) {
      throw ERR.ENGINE_BAD_OPTION('maxAttempts', opts.maxAttempts, 'an integer >= 1')
    }
    this.id = inner.id
  }

  async run(ctx: C, signal?: AbortSignal): Promise<Outcome<A, O>> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.inner.run(ctx, signal)
      } catch (err) {
        if (this.opts.retryOn && !this.opts.retryOn(err, attempt)) throw err
        if (attempt >= this.opts.maxAttempts) {
          const msg = err instanceof Error ? err.message : String(err)
          const out = ERR.ENGINE_RETRY_EXHAUSTED(this.id, attempt, msg)
          out.cause = err
          throw out
        }
        const waitMs = this.opts.backoff(attempt)
        this.opts.onRetry?.(err, attempt, waitMs)
        await delay(waitMs, signal, `retry of node '${this.id}'`)
      }
    }
  }
}

export function retry<C, A extends string, O>(
  inner: Node<C, A, O>,
  opts: RetryOptions,
): RetryNode<C, A, O> {
  return new RetryNode(inner, opts)
}
