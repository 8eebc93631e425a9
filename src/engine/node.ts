import type { Outcome } from './outcome.js'

/** floxide's default action set; event workflows add `terminate` and `timeout`. */
export type DefaultAction = 'default' | 'next' | 'error'

/**
 * One step of a standard workflow: works on the shared context `C` and returns an
 * outcome. `signal` is aborted when the run times out or is aborted; long waits inside a
 * node (retry backoff, I/O) should honour it.
 */
export interface Node<C, A extends string = DefaultAction, O = unknown> {
  readonly id: string
  run(ctx: C, signal?: AbortSignal): Outcome<A, O> | Promise<Outcome<A, O>>
}

/** A node from a plain function, for small steps and tests. */
export function node<C, A extends string = DefaultAction, O = unknown>(
  id: string,
  run: (ctx: C, signal?: AbortSignal) => Outcome<A, O> | Promise<Outcome<A, O>>,
): Node<C, A, O> {
  return { id, run }
}
