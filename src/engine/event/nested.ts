import { ERR } from '../errors.js'
import type { Node } from '../node.js'
import { Outcome } from '../outcome.js'
import type { EventDrivenWorkflow, EventRunResult } from './event-workflow.js'

export interface NestedEventDrivenWorkflowOptions<A extends string> {
  /** Node id in the standard workflow. */
  readonly id: string
  /** Returned when the inner run ends by terminate or by its sources closing; default `'complete'`. */
  readonly completeAction?: A
  /** Returned when the inner run times out; default `'timeout'`. */
  readonly timeoutAction?: A
  /** Bound on the inner run. */
  readonly timeoutMs?: number
}

/**
 * ADR-0009's NestedEventDrivenWorkflow: a whole event workflow as one node of a standard
 * workflow, on the same context object. Normal end -> complete action, timeout -> timeout
 * action; errors pass through (validation errors, and any error the inner workflow's
 * error handler rethrows); an abort throws ENGINE_ABORTED.
 */
export class NestedEventDrivenWorkflow<
  E,
  C,
  A extends string = 'complete' | 'timeout',
  IA extends string = string,
> implements Node<C, A, EventRunResult<E>>
{
  readonly id: string
  /** The inner run's result from the last run, for inspection. */
  lastResult: EventRunResult<E> | undefined

  constructor(
    readonly workflow: EventDrivenWorkflow<E, C, IA>,
    private readonly opts: NestedEventDrivenWorkflowOptions<A>,
  ) {
    this.id = opts.id
  }

  async run(ctx: C, signal?: AbortSignal): Promise<Outcome<A, EventRunResult<E>>> {
    const res = await this.workflow.execute(ctx, {
      ...(this.opts.timeoutMs === undefined ? {} : { timeoutMs: this.opts.timeoutMs }),
      ...(signal === undefined ? {} : { signal }),
    })
    this.lastResult = res
    switch (res.reason) {
      case 'timeout':
        return Outcome.route(this.opts.timeoutAction ?? ('timeout' as A))
      case 'aborted':
        throw ERR.ENGINE_ABORTED(`nested workflow '${this.id}'`)
      default:
        return Outcome.route(this.opts.completeAction ?? ('complete' as A))
    }
  }
}
