import { ERR } from '../errors.js'
import type { DefaultAction, Node } from '../node.js'
import { Outcome } from '../outcome.js'
import { type EventDrivenNode, SOURCE_CLOSED } from './event-node.js'

export interface EventDrivenNodeAdapterOptions<A extends string> {
  /** How long one run waits for an event before returning the timeout action. */
  readonly timeoutMs: number
  /** Default `'timeout'`. */
  readonly timeoutAction?: A
  /** Node id in the standard workflow; default the event node's id. */
  readonly id?: string
}

/**
 * ADR-0009's EventDrivenNodeAdapter: an event source used as one step of a standard
 * workflow. Each run waits for one event (bounded by `timeoutMs`), processes it, and
 * routes by the action it returns. Timeout gives the timeout action; a source that is
 * closed gives `skipped`. The wait is cancelled through the source's abort signal, so an
 * event that arrives after the timeout stays in the source.
 */
export class EventDrivenNodeAdapter<E, C, A extends string = DefaultAction | 'timeout'>
  implements Node<C, A>
{
  readonly id: string
  private readonly timeoutAction: A

  constructor(
    readonly node: EventDrivenNode<E, C, A>,
    private readonly opts: EventDrivenNodeAdapterOptions<A>,
  ) {
    if (typeof node.waitForEvent !== 'function') {
      throw ERR.ENGINE_BAD_OPTION('node', node.id, 'an event source (a node with waitForEvent)')
    }
    if (!(opts.timeoutMs >= 0)) {
      throw ERR.ENGINE_BAD_OPTION('timeoutMs', opts.timeoutMs, 'a number of ms >= 0')
    }
    this.id = opts.id ?? node.id
    this.timeoutAction = opts.timeoutAction ?? ('timeout' as A)
  }

  async run(ctx: C, signal?: AbortSignal): Promise<Outcome<A>> {
    const ac = new AbortController()
    const onAbort = () => ac.abort(signal?.reason)
    if (signal?.aborted) throw ERR.ENGINE_ABORTED(`adapter '${this.id}'`)
    signal?.addEventListener('abort', onAbort, { once: true })
    let timedOut = false
    const timer = setTimeout(() => {
      timedOut = true
      ac.abort(ERR.ENGINE_TIMEOUT(`adapter '${this.id}'`, this.opts.timeoutMs, this.id))
    }, this.opts.timeoutMs)
    let event: E | typeof SOURCE_CLOSED
    try {
      // Not a race: a value the source already handed over wins over a late timeout.
      event = await this.node.waitForEvent!(ac.signal)
    } catch (err) {
      if (timedOut) return Outcome.route(this.timeoutAction)
      throw err
    } finally {
      clearTimeout(timer)
      signal?.removeEventListener('abort', onAbort)
    }
    if (event === SOURCE_CLOSED) return Outcome.skipped()
    const r = await this.node.processEvent(event, ctx)
    return Outcome.route(typeof r === 'string' ? r : r.action)
  }
}
