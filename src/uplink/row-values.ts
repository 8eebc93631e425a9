import type { Aggregate, AlertRecord, DeadLetter, Reading } from '../gateway/reading.js'
import type { OutboxRow } from '../store/outbox.js'

/**
 * The outbox holds floxgate's own JSON (what `kind: mqtt` sends as is); other formats read
 * their values back from it, so one row serves every target and the hot path formats once.
 */
export type RowValue =
  | ({ readonly stream: 'readings' } & Pick<Reading, 'device' | 'metric' | 'value' | 'ts'>)
  | ({ readonly stream: 'aggregates' } & Aggregate)
  | ({ readonly stream: 'alerts' } & AlertRecord)
  | ({ readonly stream: 'dead-letters' } & Pick<DeadLetter, 'reason' | 'detail' | 'receivedAt'> & {
        readonly device: string | null
      })

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
