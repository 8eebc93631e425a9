/**
 * Cross-checks of the notification sinks: unique ids, and every id a rule's `notify:`
 * names exists (a typo would silently send nothing).
 */

import { closest } from './problems.js'
import { list, record } from './raw-tree.js'

type Found = { path: PropertyKey[]; message: string }

export function notifyCrossCheck(root: Record<string, unknown>): Found[] {
  const found: Found[] = []
  const sinks: string[] = []
  list(root.notify).forEach((s, i) => {
    const sinkId = record(s)?.id
    if (typeof sinkId !== 'string') return
    if (sinks.includes(sinkId))
      found.push({ path: ['notify', i, 'id'], message: `duplicate notify sink id "${sinkId}"` })
    sinks.push(sinkId)
  })
  list(root.rules).forEach((r, i) => {
    list(record(r)?.notify).forEach((n, j) => {
      if (typeof n !== 'string' || sinks.includes(n)) return
      const guess = closest(n, sinks)
      found.push({
        path: ['rules', i, 'notify', j],
        message:
          guess === undefined
            ? `unknown notify sink "${n}" (known: ${sinks.join(', ') || 'none; add it under notify:'})`
            : `unknown notify sink "${n}", did you mean "${guess}"?`,
      })
    })
  })
  return found
}
