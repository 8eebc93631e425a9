import type { IClientOptions } from 'mqtt'
import type { ResolvedOptions } from './options.js'
import { statusPayload } from './status.js'

/** MQTT.js options for one connection attempt to the upstream. */
export function clientOptions(o: ResolvedOptions): IClientOptions {
  const opts: IClientOptions = {
    protocol: o.protocol,
    host: o.host,
    port: o.port,
    clientId: o.clientId,
    // The upstream keeps this gateway's session across reconnects and restarts.
    clean: false,
    // Reconnection is ours (capped exponential backoff with jitter, see backoff.ts).
    reconnectPeriod: 0,
    connectTimeout: o.connectTimeoutMs,
    keepalive: o.keepaliveSeconds,
    protocolVersion: o.protocolVersion,
    rejectUnauthorized: o.rejectUnauthorized,
    will: {
      topic: o.statusTopic,
      payload: statusPayload('offline', o.gatewayId, o.version),
      qos: 1,
      retain: true,
    },
  }
  if (o.username !== undefined) opts.username = o.username
  if (o.password !== undefined) opts.password = o.password
  if (o.ca !== undefined) opts.ca = o.ca
  return opts
}
