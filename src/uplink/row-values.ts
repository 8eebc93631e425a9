import type { OutboxRow } from '../store/outbox.js'

/**
 * The outbox holds floxgate's own JSON (what `kind: mqtt` sends as is); other formats read
 * their values back from it, so one row serves every target and the hot path formats once.
 */
export type RowValue =
  | {
      readonly stream: 'readings'
      readonly device: string
      readonly metric: string
      readonly value: number
      readonly ts: number
    }
  | {
      readonly stream: 'aggregates'
      readonly device: string
      readonly metric: string
      readonly windowStart: number
      readonly windowEnd: number
      readonly count: number
      readonly min: number
      readonly max: number
      readonly mean: number
      readonly last: number
    }
  | {
      readonly stream: 'alerts'
      readonly device: string
      readonly metric: string | null
      readonly rule: string
      readonly kind: string
      readonly severity: string
      readonly state: string
      readonly value: number | null
      readonly threshold: number | null
      readonly ts: number
      readonly since: number
    }
  | {
      readonly stream: 'dead-letters'
      readonly device: string | null
      readonly reason: string
      readonly detail: string
      readonly receivedAt: number
    }

/** The row's values, or undefined for a stream this version does not know. */
export function rowValue(row: OutboxRow): RowValue | undefined {
  const v = JSON.parse(row.payload.toString('utf8')) as Record<string, unknown>
  switch (row.stream) {
    case 'readings':
    case 'aggregates':
    case 'alerts':
    case 'dead-letters':
      return { ...v, stream: row.stream } as RowValue
    default:
      return undefined
  }
}
