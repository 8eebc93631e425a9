/**
 * What a standard node's step produced. `route` names an action; the workflow's edges
 * turn the action into the next node.
 */
export type Outcome<A extends string, O = unknown> =
  | { readonly kind: 'success'; readonly output: O }
  | { readonly kind: 'skipped' }
  | { readonly kind: 'route'; readonly action: A }

const SKIPPED: Outcome<never, never> = Object.freeze({ kind: 'skipped' })

export const Outcome = {
  success<O>(output: O): Outcome<never, O> {
    return { kind: 'success', output }
  },
  skipped(): Outcome<never, never> {
    return SKIPPED
  },
  route<A extends string>(action: A): Outcome<A, never> {
    return { kind: 'route', action }
  },
} as const
