/**
 * `uplinks:` entries share one schema, but each kind reads only some of its keys. A key
 * the uplink's kind would ignore (a `gzip` on an MQTT uplink, a `caFile` on InfluxDB, a
 * `database` next to InfluxDB 2.x's `bucket`) is refused, so nothing accepted is silently
 * without effect.
 */
import { list, record } from './raw-tree.js'

type Found = { path: PropertyKey[]; message: string }

const COMMON = [
  'id',
  'kind',
  'enabled',
  'url',
  'username',
  'password',
  'streams',
  'maxBufferMB',
  'dropPolicy',
  'ttlHours',
  'maxReplayPerSecond',
] as const

const INFLUX_V1 = ['database', 'retentionPolicy'] as const
const INFLUX_V2 = ['org', 'bucket', 'token'] as const

/** The keys each kind reads (the rest of the schema's keys are someone else's). */
export const UPLINK_KEYS = {
  mqtt: [...COMMON, 'caFile', 'clientId', 'topicPrefix', 'inflight'],
  thingsboard: [...COMMON, 'caFile', 'clientId', 'inflight', 'alertsAs'],
  influxdb: [
    ...COMMON,
    ...INFLUX_V1,
    ...INFLUX_V2,
    'measurement',
    'measurementName',
    'batchSize',
    'batchDelayMs',
    'gzip',
  ],
} as const satisfies Record<'mqtt' | 'thingsboard' | 'influxdb', readonly string[]>

type Kind = keyof typeof UPLINK_KEYS

function kindsReading(key: string): Kind[] {
  return (Object.keys(UPLINK_KEYS) as Kind[]).filter((k) =>
    (UPLINK_KEYS[k] as readonly string[]).includes(key),
  )
}

export function uplinkCrossCheck(root: Record<string, unknown>): Found[] {
  const found: Found[] = []
  list(root.uplinks).forEach((entry, i) => {
    const u = record(entry)
    if (u === undefined) return
    const kind = (typeof u.kind === 'string' ? u.kind : 'mqtt') as Kind
    const reads = UPLINK_KEYS[kind] as readonly string[] | undefined
    if (reads === undefined) return // an unknown kind: the schema says so
    for (const key of Object.keys(u)) {
      const readers = kindsReading(key)
      // Keys no kind reads are unknown keys: the schema reports those with a suggestion.
      if (readers.length === 0 || reads.includes(key)) continue
      found.push({
        path: ['uplinks', i, key],
        message: `is not used by kind ${kind} (only by kind ${readers.join(' or ')}): remove it${key === 'caFile' ? ' (an https:// InfluxDB needs a certificate Node.js trusts, e.g. through NODE_EXTRA_CA_CERTS)' : ''}`,
      })
    }
    // InfluxDB 2.x (org, bucket, token) writes with its token: 1.x's keys would be ignored.
    if (kind === 'influxdb' && INFLUX_V2.some((k) => u[k] !== undefined)) {
      for (const key of [...INFLUX_V1, 'username', 'password'] as const) {
        if (u[key] === undefined) continue
        found.push({
          path: ['uplinks', i, key],
          message: `is an InfluxDB 1.x setting, not used with org, bucket and token (InfluxDB 2.x): remove one or the other`,
        })
      }
    }
  })
  return found
}
