import { ERR } from '../errors.js'
import type { MqttConnection } from '../mqtt/client-options.js'
import { parseMqttUrl, readTlsFile } from '../mqtt/endpoint.js'
import { type Log, silentLog } from '../ops/log.js'
import type { RejectedRows, UplinkTarget } from './target.js'

export interface ForwarderOptions {
  /**
   * The upstream format and session; default an MQTT target built from the MQTT options
   * below (`url`, `caFile`, `username`, ...), which then are required.
   */
  readonly target?: UplinkTarget
  /** Where rows the upstream refused for good go (dead letters); default: logged, dropped. */
  readonly onRejected?: RejectedRows
  /** Upstream broker: `mqtt://host:port` or `mqtts://host:port` (MQTT target). */
  readonly url?: string
  /** PEM file of the CA that signed the upstream's certificate (mqtts). */
  readonly caFile?: string
  /** Refuse upstream certificates that do not verify (default true). */
  readonly rejectUnauthorized?: boolean
  readonly username?: string
  readonly password?: string
  /** Fixed so the upstream keeps this gateway's session; default `floxgate-<gatewayId>`. */
  readonly clientId?: string
  /** MQTT protocol version: 4 (3.1.1, default) or 5. */
  readonly protocolVersion?: 4 | 5
  /** Prepended to each row's topic, joined with `/` (e.g. `site-7/gw-1`). */
  readonly topicPrefix?: string
  /** Publishes awaiting PUBACK (and rows awaiting deletion) at most; default 64. */
  readonly inflight?: number
  /** Upper bound on publishes per second (token bucket); default 2000, 0 = unlimited. */
  readonly maxReplayPerSecond?: number
  /** Token bucket size; default 1/20 s worth of `maxReplayPerSecond` (at least 1). */
  readonly replayBurst?: number
  /** Rows older than this are deleted unsent and counted; 0 or absent = keep forever. */
  readonly ttlMs?: number
  /** False while the system clock cannot be trusted: the TTL is held (src/ops/clock-sanity.ts). */
  readonly clockSane?: () => boolean
  /** Retained online/offline status topic; default `<topicPrefix>/floxgate/status`. */
  readonly statusTopic?: string
  readonly gatewayId: string
  readonly version: string
  readonly logger?: Log
  /** Fallback wake-up when nobody calls notify(); also runs TTL expiry. Default 1000 ms. */
  readonly pollIntervalMs?: number
  /** Reconnect backoff bounds; defaults 500 ms and 30 s. */
  readonly reconnectInitialMs?: number
  readonly reconnectMaxMs?: number
  readonly keepaliveSeconds?: number
  readonly connectTimeoutMs?: number
  /** Reconnect when the oldest publish in flight waited this long for its PUBACK; default 60 s. */
  readonly ackTimeoutMs?: number
  /** Longest wait before acknowledged rows are deleted, to batch deletes; default 250 ms. */
  readonly deleteDelayMs?: number
  /** How long stop() waits for PUBACKs of publishes in flight; default 5000 ms. */
  readonly stopTimeoutMs?: number
  /** health() turns not ok when the oldest unsent row is older than this; default 10 min. */
  readonly maxLagMs?: number
  /** health() tolerates a disconnect this long before reporting it; default 30 s. */
  readonly disconnectGraceMs?: number
  /** Injected for tests. */
  readonly random?: () => number
}

/** The MQTT session settings of the MQTT-based targets. */
export interface MqttSessionOptions
  extends Omit<MqttConnection, 'cert' | 'key' | 'will' | 'reconnectPeriod'> {
  readonly ca: Buffer | undefined
  readonly rejectUnauthorized: boolean
  readonly topicPrefix: string
  readonly statusTopic: string
  readonly gatewayId: string
  readonly version: string
}

export interface ResolvedOptions {
  readonly inflight: number
  readonly maxReplayPerSecond: number
  readonly replayBurst: number
  readonly ttlMs: number
  readonly clockSane: () => boolean
  readonly gatewayId: string
  readonly logger: Log
  readonly pollIntervalMs: number
  readonly reconnectInitialMs: number
  readonly reconnectMaxMs: number
  readonly deleteDelayMs: number
  readonly ackTimeoutMs: number
  readonly stopTimeoutMs: number
  readonly maxLagMs: number
  readonly disconnectGraceMs: number
  readonly random: () => number
}

/** `prefix` + `/` + `topic`, without doubling or leading slashes. */
export function joinTopic(prefix: string, topic: string): string {
  if (prefix === '') return topic
  return `${prefix.replace(/\/+$/, '')}/${topic.replace(/^\/+/, '')}`
}

function nonNegative(name: string, v: number | undefined, dflt: number): number {
  const n = v ?? dflt
  if (!Number.isFinite(n) || n < 0)
    throw ERR.UPLINK_BAD_OPTION(name, `must be a number >= 0, got ${n}`)
  return n
}

/** The MQTT settings of `o`, validated (`url` must be mqtt:// or mqtts://). */
export function resolveMqttOptions(o: ForwarderOptions): MqttSessionOptions {
  const endpoint = parseMqttUrl('uplink.url', o.url ?? '')
  const ca = o.caFile === undefined ? undefined : readTlsFile('uplink.caFile', o.caFile)
  const topicPrefix = o.topicPrefix ?? ''
  if (/[#+]/.test(topicPrefix)) {
    throw ERR.UPLINK_BAD_OPTION(
      'topicPrefix',
      `must not contain MQTT wildcards, got "${topicPrefix}"`,
    )
  }
  return {
    ...endpoint,
    ca,
    rejectUnauthorized: o.rejectUnauthorized ?? true,
    username: o.username ?? endpoint.username,
    password: o.password ?? endpoint.password,
    clientId: o.clientId ?? `floxgate-${o.gatewayId}`,
    protocolVersion: o.protocolVersion ?? 4,
    topicPrefix,
    statusTopic: o.statusTopic ?? joinTopic(topicPrefix, 'floxgate/status'),
    gatewayId: o.gatewayId,
    version: o.version,
    keepaliveSeconds: nonNegative('keepaliveSeconds', o.keepaliveSeconds, 30),
    connectTimeoutMs: nonNegative('connectTimeoutMs', o.connectTimeoutMs, 10_000),
  }
}

/** The forwarder's own settings (queue, pacing, timers), whatever the target. */
export function resolveOptions(o: ForwarderOptions): ResolvedOptions {
  const inflight = nonNegative('inflight', o.inflight, 64)
  if (!Number.isInteger(inflight) || inflight < 1 || inflight > 65_000) {
    throw ERR.UPLINK_BAD_OPTION(
      'inflight',
      `must be a whole number from 1 to 65000, got ${inflight}`,
    )
  }
  const rate = nonNegative('maxReplayPerSecond', o.maxReplayPerSecond, 2000)
  const burst = nonNegative('replayBurst', o.replayBurst, Math.max(1, Math.ceil(rate / 20)))
  if (rate > 0 && burst < 1)
    throw ERR.UPLINK_BAD_OPTION('replayBurst', `must be >= 1, got ${burst}`)
  const reconnectInitialMs = nonNegative('reconnectInitialMs', o.reconnectInitialMs, 500)
  const reconnectMaxMs = nonNegative('reconnectMaxMs', o.reconnectMaxMs, 30_000)
  if (reconnectMaxMs < reconnectInitialMs) {
    throw ERR.UPLINK_BAD_OPTION(
      'reconnectMaxMs',
      `must be >= reconnectInitialMs (${reconnectInitialMs})`,
    )
  }
  return {
    inflight,
    maxReplayPerSecond: rate,
    replayBurst: burst,
    ttlMs: nonNegative('ttlMs', o.ttlMs, 0),
    clockSane: o.clockSane ?? (() => true),
    gatewayId: o.gatewayId,
    logger: o.logger ?? silentLog,
    pollIntervalMs: Math.max(10, nonNegative('pollIntervalMs', o.pollIntervalMs, 1000)),
    reconnectInitialMs,
    reconnectMaxMs,
    ackTimeoutMs: nonNegative('ackTimeoutMs', o.ackTimeoutMs, 60_000),
    deleteDelayMs: nonNegative('deleteDelayMs', o.deleteDelayMs, 250),
    stopTimeoutMs: nonNegative('stopTimeoutMs', o.stopTimeoutMs, 5000),
    maxLagMs: nonNegative('maxLagMs', o.maxLagMs, 600_000),
    disconnectGraceMs: nonNegative('disconnectGraceMs', o.disconnectGraceMs, 30_000),
    random: o.random ?? Math.random,
  }
}
