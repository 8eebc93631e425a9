import type { Config, UplinkConfig } from '../config/load.js'
import type { Logger } from '../ops/logger.js'
import type { Store } from '../store/index.js'
import { Forwarder } from '../uplink/forwarder.js'
import { InfluxTarget } from '../uplink/influxdb-target.js'
import { type ForwarderOptions, resolveMqttOptions } from '../uplink/options.js'
import type { RejectedRows, UplinkTarget } from '../uplink/target.js'
import { ThingsBoardTarget } from '../uplink/thingsboard-target.js'
import { VERSION } from '../version.js'

/** Builds and starts the forwarder of one configured uplink, on its queue in the store. */
export function startUplink(
  c: Config,
  u: UplinkConfig,
  store: Store,
  log: Logger,
  clockSane: () => boolean,
  /** Rows the upstream refused, once they are committed as dead letters (the metric). */
  deadLettered: (rows: number) => void = () => {},
): Forwarder {
  const mqtt: ForwarderOptions = {
    url: u.url,
    caFile: u.caFile,
    username: u.username,
    password: u.password,
    clientId: u.clientId,
    topicPrefix: u.topicPrefix,
    gatewayId: c.gateway.id,
    version: VERSION,
  }
  const f = new Forwarder(store.outbox(u.id), {
    ...mqtt,
    target: target(c, u, mqtt),
    onRejected: deadLetters(store, u, deadLettered),
    // A batching target keeps one batch in flight: one HTTP request at a time keeps order.
    inflight: u.kind === 'influxdb' ? u.batchSize : u.inflight,
    maxReplayPerSecond: u.maxReplayPerSecond,
    ttlMs: u.ttlHours > 0 ? u.ttlHours * 3_600_000 : undefined,
    clockSane,
    logger: log,
  })
  f.start()
  return f
}

function target(c: Config, u: UplinkConfig, mqtt: ForwarderOptions): UplinkTarget | undefined {
  const devices = new Map(c.devices.map((d) => [d.id, d]))
  const tags = (device: string) => {
    const d = devices.get(device)
    return { location: d?.location, profile: d?.profile }
  }
  switch (u.kind) {
    case 'mqtt':
      return undefined // the forwarder's default
    case 'thingsboard':
      return new ThingsBoardTarget({
        // ThingsBoard takes the gateway device's access token as the MQTT username.
        session: resolveMqttOptions({ ...mqtt, topicPrefix: '' }),
        alertsAs: u.alertsAs,
      })
    case 'influxdb':
      return new InfluxTarget({
        url: u.url,
        database: u.database,
        retentionPolicy: u.retentionPolicy,
        username: u.username,
        password: u.password,
        org: u.org,
        bucket: u.bucket,
        token: u.token,
        measurement: u.measurement,
        measurementName: u.measurementName,
        batchRows: u.batchSize,
        batchDelayMs: u.batchDelayMs,
        gzip: u.gzip,
        gateway: c.gateway.id,
        tags,
      })
  }
}

/** Rows an upstream refused for good become dead letters (committed before they leave the queue). */
function deadLetters(
  store: Store,
  u: UplinkConfig,
  deadLettered: (rows: number) => void,
): RejectedRows {
  return (rows, reason, done) => {
    let pending = rows.length
    let failed = false
    for (const row of rows) {
      store.write(
        {
          kind: 'dead-letter',
          deadLetter: {
            topic: row.topic,
            payload: row.payload,
            reason: 'upstream-rejected',
            detail: `uplink ${u.id} (${u.kind}) refused it: ${reason}`.slice(0, 1000),
            device: undefined,
            receivedAt: row.createdAt,
          },
        },
        (err) => {
          if (failed) return
          if (err !== null) {
            failed = true
            done(err)
          } else if (--pending === 0) {
            deadLettered(rows.length)
            done(null)
          }
        },
      )
    }
  }
}
