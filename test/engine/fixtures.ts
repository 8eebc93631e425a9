import { type EventDrivenNode, processor } from '../../src/index.js'

/** A processor that records every event it sees into `seen` and returns `action`. */
export function recorder<E, C, A extends string>(
  id: string,
  seen: E[],
  action: A,
): EventDrivenNode<E, C, A> {
  return processor<E, C, A>(id, (e) => {
    seen.push(e)
    return action
  })
}
