import { ERR } from '../errors.js'
import { type EventDrivenNode, isSource } from './event-node.js'
import { EventRun, type Step } from './event-run.js'

/** Called for a node error that has no `'error'` route. Throwing from it ends the run. */
export type EventErrorHandler<E> = (err: unknown, event: E | undefined, nodeId: string) => void

export interface EventWorkflowOptions<E, A extends string> {
  /** Name used in error messages. */
  readonly id?: string
  /** The action that ends the run with reason `'terminated'`; default `'terminate'`. */
  readonly terminateAction?: A
  readonly onError?: EventErrorHandler<E>
  /** Nodes one event may pass through before ENGINE_PATH_TOO_LONG (a routing loop); default 256. */
  readonly maxHops?: number
}

export interface ExecuteOptions {
  /** Ends the run with reason `'timeout'`. */
  readonly timeoutMs?: number
  /** Ends the run with reason `'aborted'`; pending `waitForEvent` calls get it too. */
  readonly signal?: AbortSignal
}

export type RunEndReason = 'terminated' | 'timeout' | 'aborted' | 'closed'

export interface EventRunResult<E> {
  readonly reason: RunEndReason
  /** Events whose path ran to its end (errors included). */
  readonly eventsProcessed: number
  /** Node errors that reached the error handler (not those taken by an `'error'` route). */
  readonly errors: number
  /** The first few of those errors, for a caller without a handler. */
  readonly firstErrors: readonly { readonly nodeId: string; readonly error: unknown }[]
  /**
   * Events taken from sources but not processed because the run ended first (at most
   * one per source; only after terminate, timeout or abort). The caller decides their fate.
   */
  readonly unprocessed: readonly E[]
  /** The node that returned the terminate action. */
  readonly terminatedBy: string | undefined
  readonly durationMs: number
}

/**
 * ADR-0009's EventDrivenWorkflow. Events enter at sources (nodes with `waitForEvent`) and
 * travel along routes `(node, action) -> node`; an action without a route ends that
 * event's path. A node that throws follows its `'error'` route, else goes to the error
 * handler, and the run goes on. Several sources pump at once; see docs/engine.md for
 * ordering and fairness.
 */
export class EventDrivenWorkflow<E, C, A extends string> {
  readonly id: string
  private readonly nodes = new Map<string, EventDrivenNode<E, C, A>>()
  private readonly routes = new Map<string, Map<string, string>>()
  private errorHandler: EventErrorHandler<E> | undefined
  private readonly terminateAction: string
  private readonly maxHops: number
  private running = false

  constructor(opts: EventWorkflowOptions<E, A> = {}) {
    this.id = opts.id ?? 'event-workflow'
    this.terminateAction = opts.terminateAction ?? 'terminate'
    this.errorHandler = opts.onError
    this.maxHops = opts.maxHops ?? 256
    if (!Number.isInteger(this.maxHops) || this.maxHops < 1) {
      throw ERR.ENGINE_BAD_OPTION('maxHops', this.maxHops, 'an integer >= 1')
    }
  }

  addNode(node: EventDrivenNode<E, C, A>): this {
    if (this.nodes.has(node.id)) throw ERR.ENGINE_DUPLICATE_NODE(node.id)
    this.nodes.set(node.id, node)
    return this
  }

  /** Routes `action` of `from` to `to`. `'error'` routes a throwing node's event. */
  setRoute(from: string, action: A | 'error', to: string): this {
    let byAction = this.routes.get(from)
    if (!byAction) {
      byAction = new Map()
      this.routes.set(from, byAction)
    }
    byAction.set(action, to)
    return this
  }

  onError(handler: EventErrorHandler<E>): this {
    this.errorHandler = handler
    return this
  }

  /**
   * Throws ENGINE_INVALID_GRAPH listing every problem: routes naming unknown nodes, no
   * source at all, processors that no source reaches.
   */
  validate(): void {
    const problems: string[] = []
    for (const [from, byAction] of this.routes) {
      for (const [action, to] of byAction) {
        if (!this.nodes.has(from))
          problems.push(`route (${from}, ${action}) starts at unknown node '${from}'`)
        if (!this.nodes.has(to))
          problems.push(`route (${from}, ${action}) goes to unknown node '${to}'`)
      }
    }
    const sources = [...this.nodes.values()].filter(isSource).map((n) => n.id)
    if (sources.length === 0) {
      problems.push('it has no source (a node with waitForEvent), so no event can enter')
    }
    const reached = new Set(sources)
    const todo = [...sources]
    for (let id = todo.pop(); id !== undefined; id = todo.pop()) {
      for (const to of this.routes.get(id)?.values() ?? []) {
        if (!reached.has(to) && this.nodes.has(to)) {
          reached.add(to)
          todo.push(to)
        }
      }
    }
    const orphans = [...this.nodes.keys()].filter((id) => !reached.has(id))
    if (orphans.length > 0) {
      problems.push(`no source reaches node(s) ${orphans.map((id) => `'${id}'`).join(', ')}`)
    }
    if (problems.length > 0) throw ERR.ENGINE_INVALID_GRAPH(this.id, problems)
  }

  /** Runs until terminate, timeout, abort, or every source closed and drained. */
  async execute(ctx: C, opts: ExecuteOptions = {}): Promise<EventRunResult<E>> {
    this.validate()
    if (this.running) throw ERR.ENGINE_ALREADY_RUNNING(this.id)
    if (opts.timeoutMs !== undefined && !(opts.timeoutMs >= 0)) {
      throw ERR.ENGINE_BAD_OPTION('timeoutMs', opts.timeoutMs, 'a number of ms >= 0')
    }
    this.running = true
    try {
      const run = new EventRun<E, C, A>(this.compile(), ctx, {
        terminateAction: this.terminateAction,
        maxHops: this.maxHops,
        onError: this.errorHandler,
        name: this.id,
      })
      return await run.run(opts)
    } finally {
      this.running = false
    }
  }

  /** Steps hold their routes directly, so the run loop follows a path without a lookup by id. */
  private compile(): Step<E, C, A>[] {
    const steps = new Map<string, Step<E, C, A>>()
    for (const [id, node] of this.nodes) {
      steps.set(id, { id, node, actions: [], targets: [], onError: undefined })
    }
    for (const [from, byAction] of this.routes) {
      const step = steps.get(from)!
      for (const [action, to] of byAction) {
        // A returned 'error' action follows the same route as a thrown error.
        if (action === 'error') step.onError = steps.get(to)
        step.actions.push(action)
        step.targets.push(steps.get(to)!)
      }
    }
    return [...steps.values()]
  }
}
