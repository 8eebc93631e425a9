import { readFileSync } from 'node:fs'
import { ERR } from '../errors.js'

/** Where an MQTT.js connection goes, from an `mqtt://` or `mqtts://` URL. */
export interface MqttEndpoint {
  readonly protocol: 'mqtt' | 'mqtts'
  /** Bare: an IPv6 literal without the URL's brackets, as net.connect wants it. */
  readonly host: string
  readonly port: number
  /** From the URL's userinfo, percent-decoded; undefined when the URL has none. */
  readonly username: string | undefined
  readonly password: string | undefined
}

/** Parses the broker URL of config key `setting` (e.g. `uplinks[0].url`). */
export function parseMqttUrl(setting: string, raw: string): MqttEndpoint {
  let url: URL
  try {
    url = new URL(raw)
  } catch {
    throw ERR.MQTT_BAD_URL(setting, raw)
  }
  const protocol =
    url.protocol === 'mqtt:' ? 'mqtt' : url.protocol === 'mqtts:' ? 'mqtts' : undefined
  if (protocol === undefined || url.hostname === '') throw ERR.MQTT_BAD_URL(setting, raw)
  return {
    protocol,
    host: url.hostname.replace(/^\[(.*)\]$/, '$1'),
    port: url.port === '' ? (protocol === 'mqtt' ? 1883 : 8883) : Number(url.port),
    username: url.username === '' ? undefined : decodeURIComponent(url.username),
    password: url.password === '' ? undefined : decodeURIComponent(url.password),
  }
}

/** `mqtt://host:port`: how logs and stats name an endpoint (never with credentials). */
export function endpointName(e: MqttEndpoint): string {
  const host = e.host.includes(':') ? `[${e.host}]` : e.host
  return `${e.protocol}://${host}:${e.port}`
}

/** Reads a PEM file (CA, client certificate or key) named by config key `setting`. */
export function readTlsFile(setting: string, file: string): Buffer {
  try {
    return readFileSync(file)
  } catch (err) {
    throw ERR.MQTT_CA_UNREADABLE(setting, file, err instanceof Error ? err.message : String(err))
  }
}
