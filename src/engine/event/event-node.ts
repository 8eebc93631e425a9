/** Returned by `waitForEvent` when a source has no more events, ever. */
export const SOURCE_CLOSED: unique symbol = Symbol('floxgate.sourceClosed')
export type SourceClosed = typeof SOURCE_CLOSED

/** Returned by `pollEvent` when no event is ready right now. */
export const NO_EVENT: unique symbol = Symbol('floxgate.noEvent')
export type NoEvent = typeof NO_EVENT

/**
 * What `processEvent` returns: an action, or an action with a transformed event that the
 * next node receives instead (e.g. raw MQTT message -> parsed reading).
 */
export type EventResult<E, A extends string> = A | { readonly action: A; readonly event: E }

/** Given to the node at the end of an `'error'` route: what failed, and where. */
export interface NodeFailure {
  readonly error: unknown
  readonly nodeId: string
}

/**
 * ADR-0009's EventDrivenNode. A node that implements `waitForEvent` is a source; other
 * nodes are processors and never wait.
 *
 * Methods (not function properties) on purpose: a source of `TimerTick` can join a
 * workflow whose event type is a union containing `TimerTick`.
 */
export interface EventDrivenNode<E, C, A extends string> {
  readonly id: string
  /**
   * Sources only: the next event, or SOURCE_CLOSED when there will be none. Must reject
   * promptly when `signal` aborts and must not consume an event it then rejects, or that
   * event is lost.
   */
  waitForEvent?(signal?: AbortSignal): Promise<E | SourceClosed>
  /**
   * Sources only, optional: an event that is ready now, or NO_EVENT. Lets the run loop
   * drain a busy source without a promise per event.
   */
  pollEvent?(): E | NoEvent
  /**
   * Processes one event. A synchronous return is used as is (never awaited). `failure`
   * is set only when this node was reached by an `'error'` route.
   */
  processEvent(
    event: E,
    ctx: C,
    failure?: NodeFailure,
  ): EventResult<E, A> | Promise<EventResult<E, A>>
}

export function isSource<E, C, A extends string>(
  node: EventDrivenNode<E, C, A>,
): node is EventDrivenNode<E, C, A> & {
  waitForEvent(signal?: AbortSignal): Promise<E | SourceClosed>
} {
  return typeof node.waitForEvent === 'function'
}

/** A processor from a plain function, for small steps and tests. */
export function processor<E, C, A extends string>(
  id: string,
  processEvent: (
    event: E,
    ctx: C,
    failure?: NodeFailure,
  ) => EventResult<E, A> | Promise<EventResult<E, A>>,
): EventDrivenNode<E, C, A> {
  return { id, processEvent }
}
