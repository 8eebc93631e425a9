import { ERR } from './errors.js'
import type { DefaultAction, Node } from './node.js'

export interface WorkflowOptions {
  /** Name used in error messages. */
  readonly id?: string
  /**
   * How often one node may be reached in one run. 1 (the default) refuses cycles:
   * reaching a node twice is ENGINE_CYCLE_DETECTED. A larger value allows loops up to it.
   */
  readonly maxVisits?: number
}

export interface WorkflowRunOptions {
  /** Ends the run with ENGINE_TIMEOUT; the running node's signal is aborted. */
  readonly timeoutMs?: number
  readonly signal?: AbortSignal
}

export interface WorkflowResult<O = unknown> {
  /** How the last node ended the run: a success without a next node, or a skip. */
  readonly status: 'success' | 'skipped'
  /** The output of the last successful node (undefined if none succeeded). */
  readonly output: O | undefined
  readonly lastNodeId: string
  /** Node ids in the order they ran. */
  readonly path: readonly string[]
}

/**
 * A standard workflow: a start node, edges `(node, action) -> node` and default routes.
 * Routing of `route(X)`: the edge for X, else the edge for `'default'`, else the node's
 * default route, else ENGINE_ACTION_NOT_HANDLED. `success` and `skipped` follow the
 * `'default'` edge or the default route, and end the run when there is neither.
 */
export class Workflow<C, A extends string = DefaultAction, O = unknown> {
  readonly id: string
  private readonly nodes = new Map<string, Node<C, A, O>>()
  private readonly edges = new Map<string, Map<string, string>>()
  private readonly defaults = new Map<string, string>()
  private readonly maxVisits: number
  private readonly startId: string

  constructor(start: Node<C, A, O>, opts: WorkflowOptions = {}) {
    this.id = opts.id ?? 'workflow'
    this.maxVisits = opts.maxVisits ?? 1
    if (!Number.isInteger(this.maxVisits) || this.maxVisits < 1) {
      throw ERR.ENGINE_BAD_OPTION('maxVisits', this.maxVisits, 'an integer >= 1')
    }
    this.startId = start.id
    this.addNode(start)
  }

  addNode(node: Node<C, A, O>): this {
    if (this.nodes.has(node.id)) throw ERR.ENGINE_DUPLICATE_NODE(node.id)
    this.nodes.set(node.id, node)
    return this
  }

  /** The edge `(from, action) -> to`. Unknown ids are reported by `validate()`. */
  setRoute(from: string, action: A, to: string): this {
    let byAction = this.edges.get(from)
    if (!byAction) {
      byAction = new Map()
      this.edges.set(from, byAction)
    }
    byAction.set(action, to)
    return this
  }

  /** Where `from` goes when no edge matches (and after success or skip). */
  setDefaultRoute(from: string, to: string): this {
    this.defaults.set(from, to)
    return this
  }

  /** Throws ENGINE_INVALID_GRAPH naming every route whose end is not a node. */
  validate(): void {
    const problems: string[] = []
    const need = (id: string, where: string) => {
      if (!this.nodes.has(id)) problems.push(`${where} names unknown node '${id}'`)
    }
    for (const [from, byAction] of this.edges) {
      for (const [action, to] of byAction) {
        need(from, `route (${from}, ${action}) -> ${to}`)
        need(to, `route (${from}, ${action}) -> ${to}`)
      }
    }
    for (const [from, to] of this.defaults) {
      need(from, `default route ${from} -> ${to}`)
      need(to, `default route ${from} -> ${to}`)
    }
    if (problems.length > 0) throw ERR.ENGINE_INVALID_GRAPH(this.id, problems)
  }

  async run(ctx: C, opts: WorkflowRunOptions = {}): Promise<WorkflowResult<O>> {
    this.validate()
    const what = `workflow '${this.id}'`
    if (opts.signal?.aborted) throw ERR.ENGINE_ABORTED(what)
    const ac = new AbortController()
    const onAbort = () => ac.abort(ERR.ENGINE_ABORTED(what))
    opts.signal?.addEventListener('abort', onAbort, { once: true })
    let current: string | undefined
    let timer: NodeJS.Timeout | undefined
    // The race lets a timeout or abort end the run even if a node ignores its signal.
    const stopped = new Promise<never>((_, reject) => {
      ac.signal.addEventListener('abort', () => reject(ac.signal.reason), { once: true })
      if (opts.timeoutMs !== undefined) {
        const ms = opts.timeoutMs
        timer = setTimeout(() => ac.abort(ERR.ENGINE_TIMEOUT(what, ms, current)), ms)
      }
    })
    stopped.catch(() => {})
    try {
      return await Promise.race([this.walk(ctx, ac.signal, (id) => (current = id)), stopped])
    } finally {
      clearTimeout(timer)
      opts.signal?.removeEventListener('abort', onAbort)
      if (!ac.signal.aborted) ac.abort(ERR.ENGINE_ABORTED(what))
    }
  }

  private async walk(
    ctx: C,
    signal: AbortSignal,
    enter: (id: string) => void,
  ): Promise<WorkflowResult<O>> {
    const visits = new Map<string, number>()
    const path: string[] = []
    let output: O | undefined
    let id = this.startId
    for (;;) {
      // A node that ignores its signal may still resolve after a timeout: stop here.
      if (signal.aborted) throw signal.reason
      const node = this.nodes.get(id)
      if (!node) throw ERR.ENGINE_NODE_NOT_FOUND(id, `workflow '${this.id}'`)
      const n = (visits.get(id) ?? 0) + 1
      if (n > this.maxVisits) throw ERR.ENGINE_CYCLE_DETECTED(id, this.maxVisits)
      visits.set(id, n)
      path.push(id)
      enter(id)
      const outcome = await node.run(ctx, signal)
      let next: string | undefined
      if (outcome.kind === 'route') {
        next = this.edges.get(id)?.get(outcome.action) ?? this.fallback(id)
        if (next === undefined) throw ERR.ENGINE_ACTION_NOT_HANDLED(id, outcome.action)
      } else {
        if (outcome.kind === 'success') output = outcome.output
        next = this.fallback(id)
        if (next === undefined) return { status: outcome.kind, output, lastNodeId: id, path }
      }
      id = next
    }
  }

  private fallback(id: string): string | undefined {
    return this.edges.get(id)?.get('default') ?? this.defaults.get(id)
  }
}
