import { readFileSync } from 'node:fs'
import { EmbeddedBroker } from '../broker/embedded.js'
import { EXTERNAL_BROKER_SETTINGS } from '../broker/external-settings.js'
import type { Publisher, SensorIntake } from '../broker/intake.js'
import { type Config, externalClientId } from '../config/load.js'
import { ERR } from '../errors.js'
import { writePacketNumbersWithoutTable } from '../mqtt/packet-writer.js'
import type { Log } from '../ops/log.js'
import { RateLimitedLog } from '../ops/rate-limited-log.js'

/** The broker the gateway runs on, whichever mode the config chose. */
export interface GatewayBroker {
  readonly mode: 'embedded' | 'external'
  readonly intake: SensorIntake
  readonly publisher: Publisher
  /** Bound listener ports (embedded mode). */
  readonly ports: { tcp?: number; tls?: number; websocket?: number }
  /** One line for /healthz when something is wrong, else undefined. */
  problem(): string | undefined
  setSensorTopics(filters: readonly string[]): void
  close(): Promise<void>
}

export async function startBroker(
  config: Config,
  sensorTopics: readonly string[],
  log: Log,
  onRefusal: (reason: string) => void,
  receiveTime: () => number = Date.now,
): Promise<GatewayBroker> {
  const status = { topic: config.broker.statusTopic, gatewayId: config.gateway.id }
  // Before any MQTT connection writes its first packet (the broker's, then the uplinks').
  writePacketNumbersWithoutTable()
  if (config.broker.mode === 'external') {
    return await connectExternal(config, sensorTopics, status, log, receiveTime)
  }

  const e = config.broker.embedded
  // Anonymous clients (loopback by default) may publish sensor readings and read
  // everything, but not publish as the gateway (alerts, status). Sessions hold this very
  // object, so a reload that changes the sensor topics updates it in place: otherwise a
  // connected (or new) anonymous sensor would be refused on a topic added by SIGHUP.
  const anonymousPublish = [...sensorTopics]
  const broker = await EmbeddedBroker.start({
    tcp: { host: e.host, port: e.port },
    tls: e.tls && {
      host: e.tls.host ?? e.host,
      port: e.tls.port,
      cert: readFileSync(e.tls.cert),
      key: readFileSync(e.tls.key),
    },
    websocket: e.websocket && {
      host: e.websocket.host ?? e.host,
      port: e.websocket.port,
      path: e.websocket.path,
    },
    sensorTopics,
    users: e.users.map((u) => ({
      username: u.username,
      passwordHash: u.passwordHash,
      acl: { publish: u.publish, subscribe: u.subscribe },
    })),
    allowAnonymous: e.allowAnonymous,
    anonymousAcl:
      e.anonymousPublish === 'any'
        ? { publish: ['#'], publishDeny: outputFilters(config), subscribe: ['#'] }
        : { publish: anonymousPublish, subscribe: ['#'] },
    maxPayloadBytes: e.maxPayloadBytes,
    maxConnections: e.maxConnections,
    maxConnectionsPerAddress: e.maxConnectionsPerAddress,
    rateLimit: e.rateLimit.messagesPerSecond > 0 ? e.rateLimit : undefined,
    status,
    receiveTime,
    onError: (err) =>
      log.warn({ err: err.message }, 'embedded broker error (one client; others unaffected)'),
  })
  // Per client and reason: a sensor flooding past its rate limit is refused per message,
  // which must cost one line per 10 s, not thousands (the count is in the metrics).
  const refusals = new RateLimitedLog(log)
  broker.onRefusal((r) => {
    onRefusal(r.reason)
    refusals.warn(
      `${r.reason}:${r.clientId}`,
      {
        reason: r.reason,
        clientId: r.clientId,
        username: r.username,
        topic: r.topic,
        action: r.action,
      },
      `refused a client request: ${r.detail}`,
    )
  })
  return {
    mode: 'embedded',
    intake: broker.intake,
    publisher: broker.publisher,
    ports: broker.ports,
    problem: () => undefined,
    setSensorTopics: (filters) => {
      broker.setSensorTopics(filters) // validates them first
      anonymousPublish.splice(0, anonymousPublish.length, ...filters)
    },
    close: () => broker.close(),
  }
}

async function connectExternal(
  config: Config,
  sensorTopics: readonly string[],
  status: { topic: string; gatewayId: string },
  log: Log,
  receiveTime: () => number,
): Promise<GatewayBroker> {
  const x = config.broker.external
  if (x.url === undefined) {
    // The config loader refuses this; kept as a guard for callers building configs by hand.
    throw ERR.MQTT_BAD_URL('broker.external.url', '')
  }
  // Loaded only in this mode: MQTT.js adds about 12 MB of resident memory.
  const { ExternalBroker } = await import('../broker/external.js')
  log.info({ url: x.url }, EXTERNAL_BROKER_SETTINGS)
  const broker = ExternalBroker.connect({
    url: x.url,
    clientId: x.clientId ?? externalClientId(config.gateway.id),
    username: x.username,
    password: x.password,
    caFile: x.caFile,
    certFile: x.certFile,
    keyFile: x.keyFile,
    sensorTopics,
    status,
    receiveTime,
    onError: (err) =>
      log.warn(
        { err: err.message, url: x.url },
        'external broker connection problem; reconnecting',
      ),
  })
  return {
    mode: 'external',
    intake: broker.intake,
    publisher: broker.publisher,
    ports: {},
    problem: () => (broker.connected ? undefined : `not connected to ${x.url}`),
    setSensorTopics: (filters) => broker.setSensorTopics(filters),
    close: () => broker.close(),
  }
}

/**
 * floxgate's own output topics as filters (placeholders become `+`): with
 * `anonymousPublish: any` nobody else may publish an alert, an aggregate or the status.
 */
export function outputFilters(config: Config): string[] {
  const filter = (template: string) =>
    template
      .split('/')
      .map((level) => (level.includes('{') ? '+' : level))
      .join('/')
  return [config.alerts.topic, config.aggregates.topic, config.broker.statusTopic].map(filter)
}
