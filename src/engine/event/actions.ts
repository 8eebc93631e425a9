/** The two actions the event subsystem gives meaning to, for any action type. */
export interface EventActionSet<A extends string> {
  /** The action that ends a run with reason `'terminated'`. */
  terminate(): A
  /** The action an adapter or nested workflow returns when its wait times out. */
  timeout(): A
}

/** Event actions for a custom action type, e.g. `eventActions({ terminate: 'stop', timeout: 'late' })`. */
export function eventActions<A extends string>(names: {
  readonly terminate: A
  readonly timeout: A
}): EventActionSet<A> {
  return { terminate: () => names.terminate, timeout: () => names.timeout }
}

/** For plain string actions: `'terminate'` and `'timeout'`. */
export const EventActions: { terminate(): 'terminate'; timeout(): 'timeout' } = {
  terminate: () => 'terminate',
  timeout: () => 'timeout',
}
