import type { IClientOptions } from 'mqtt'
import type { MqttEndpoint } from './endpoint.js'

/** What floxgate's MQTT.js connections (external broker, MQTT uplinks) set the same way. */
export interface MqttConnection extends MqttEndpoint {
  /** Fixed, so the broker keeps this gateway's session across reconnects and restarts. */
  readonly clientId: string
  readonly ca?: Buffer | undefined
  readonly cert?: Buffer | undefined
  readonly key?: Buffer | undefined
  /** Refuse certificates that do not verify; default true. */
  readonly rejectUnauthorized?: boolean
  readonly protocolVersion: 4 | 5
  readonly keepaliveSeconds: number
  readonly connectTimeoutMs: number
  /** The Last Will, published retained at QoS 1 when the connection dies (the `offline` status). */
  readonly will?: { readonly topic: string; readonly payload: Buffer } | undefined
  /** MQTT.js' own reconnect interval; 0 when the caller reconnects itself. */
  readonly reconnectPeriod: number
}

/** MQTT.js options for `c`; the caller adds what only it needs (MQTT 5 properties, acks). */
export function clientOptions(c: MqttConnection): IClientOptions {
  const opts: IClientOptions = {
    protocol: c.protocol,
    host: c.host,
    port: c.port,
    clientId: c.clientId,
    // A persistent session: what the broker holds for us survives a reconnect.
    clean: false,
    reconnectPeriod: c.reconnectPeriod,
    connectTimeout: c.connectTimeoutMs,
    keepalive: c.keepaliveSeconds,
    protocolVersion: c.protocolVersion,
    rejectUnauthorized: c.rejectUnauthorized ?? true,
  }
  if (c.will !== undefined) opts.will = { ...c.will, qos: 1, retain: true }
  if (c.username !== undefined) opts.username = c.username
  if (c.password !== undefined) opts.password = c.password
  if (c.ca !== undefined) opts.ca = c.ca
  if (c.cert !== undefined) opts.cert = c.cert
  if (c.key !== undefined) opts.key = c.key
  return opts
}
