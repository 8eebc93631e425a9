/**
 * Home Assistant MQTT discovery messages (https://www.home-assistant.io/integrations/mqtt/
 * #mqtt-discovery): one retained config per entity at
 * `<prefix>/<component>/<object_id>/config`, pure functions of the gateway's config.
 *
 * - a `sensor` per device and metric, fed with each stored value on its state topic;
 * - a `binary_sensor` (device class `problem`) per device and alert rule, `ON` while raised;
 * - a `binary_sensor` (device class `connectivity`) for the gateway itself, the device the
 *   sensors name as `via_device`.
 * Every entity's availability follows the gateway's retained status topic, whose payload
 * is JSON (`{"state":"online",...}`): `availability_template` picks the state out of it.
 */
import type { DeviceEntry } from '../gateway/device-directory.js'
import type { AlertEvent } from '../gateway/reading.js'
import type { ResolvedRule } from '../gateway/rule-spec.js'
import { VERSION } from '../version.js'
import { haMetric } from './metric-classes.js'
import { haObjectId } from './object-id.js'

export interface DiscoveryContext {
  readonly prefix: string
  readonly gateway: string
  /** The gateway's retained status topic (online/offline JSON). */
  readonly statusTopic: string
}

/** One discovery config: its retained topic and JSON payload. */
export interface DiscoveryMessage {
  readonly topic: string
  readonly payload: string
}

const ORIGIN = { name: 'floxgate', sw_version: VERSION }

function gatewayIdentifier(c: DiscoveryContext): string {
  return `floxgate_${haObjectId(c.gateway)}`
}

function deviceIdentifier(c: DiscoveryContext, device: string): string {
  return `${gatewayIdentifier(c)}_${haObjectId(device)}`
}

function availability(c: DiscoveryContext): Record<string, string> {
  return {
    availability_topic: c.statusTopic,
    availability_template: '{{ value_json.state }}',
    payload_available: 'online',
    payload_not_available: 'offline',
  }
}

function deviceBlock(c: DiscoveryContext, d: DeviceEntry): Record<string, unknown> {
  return {
    identifiers: [deviceIdentifier(c, d.id)],
    name: d.name,
    model: d.profile.name,
    model_id: d.profile.id,
    manufacturer: 'floxgate',
    ...(d.location === undefined ? {} : { suggested_area: d.location }),
    via_device: gatewayIdentifier(c),
  }
}

/** Where the gateway publishes each stored value of a device's metric (plain number). */
export function sensorStateTopic(c: DiscoveryContext, device: string, metric: string): string {
  return `floxgate/${c.gateway}/ha/${device}/${metric}`
}

/** Where a device's rule state goes: `{"state":"ON"|"OFF", value, threshold, ...}`. */
export function problemStateTopic(c: DiscoveryContext, device: string, rule: string): string {
  return `floxgate/${c.gateway}/ha/${device}/problem/${rule}`
}

function sensorUniqueId(c: DiscoveryContext, device: string, metric: string): string {
  return `${deviceIdentifier(c, device)}_${haObjectId(metric)}`
}

function problemUniqueId(c: DiscoveryContext, device: string, rule: string): string {
  return `${deviceIdentifier(c, device)}_${haObjectId(rule)}_problem`
}

/** Where the discovery config of a device's metric goes. */
export function sensorConfigTopic(c: DiscoveryContext, device: string, metric: string): string {
  return `${c.prefix}/sensor/${sensorUniqueId(c, device, metric)}/config`
}

/** Where the discovery config of a device's rule goes. */
export function problemConfigTopic(c: DiscoveryContext, device: string, rule: string): string {
  return `${c.prefix}/binary_sensor/${problemUniqueId(c, device, rule)}/config`
}

/**
 * The device and, for a sensor, the metric of a discovery config published before (as
 * stored in `ha_discovery`), read back from its topics; undefined when it was published
 * under another prefix or gateway id.
 */
export function publishedEntity(
  c: DiscoveryContext,
  topic: string,
  stateTopic: string,
): { readonly device: string; readonly metric: string | undefined } | undefined {
  const base = `floxgate/${c.gateway}/ha/`
  if (!stateTopic.startsWith(base)) return undefined
  const rest = stateTopic.slice(base.length)
  if (topic.startsWith(`${c.prefix}/sensor/`)) {
    // Metric names hold no "/": the last level is the metric.
    const cut = rest.lastIndexOf('/')
    if (cut <= 0) return undefined
    const device = rest.slice(0, cut)
    const metric = rest.slice(cut + 1)
    return sensorConfigTopic(c, device, metric) === topic ? { device, metric } : undefined
  }
  const m = /^(.+)\/problem\/([^/]+)$/.exec(rest)
  if (m === null || problemConfigTopic(c, m[1]!, m[2]!) !== topic) return undefined
  return { device: m[1]!, metric: undefined }
}

export function sensorConfig(
  c: DiscoveryContext,
  d: DeviceEntry,
  metric: string,
): DiscoveryMessage {
  const m = haMetric(metric)
  // A metric Home Assistant has no class for keeps the unit the config or profile declares.
  const unit = m.unit ?? d.profile.metrics[metric]?.unit
  const uniqueId = sensorUniqueId(c, d.id, metric)
  return {
    topic: sensorConfigTopic(c, d.id, metric),
    payload: JSON.stringify({
      name: m.name,
      unique_id: uniqueId,
      state_topic: sensorStateTopic(c, d.id, metric),
      ...(m.deviceClass === undefined ? {} : { device_class: m.deviceClass }),
      state_class: 'measurement',
      ...(unit === undefined ? {} : { unit_of_measurement: unit }),
      ...availability(c),
      device: deviceBlock(c, d),
      origin: ORIGIN,
    }),
  }
}

export function problemConfig(
  c: DiscoveryContext,
  d: DeviceEntry,
  rule: ResolvedRule,
): DiscoveryMessage {
  const uniqueId = problemUniqueId(c, d.id, rule.id)
  const topic = problemStateTopic(c, d.id, rule.id)
  return {
    topic: problemConfigTopic(c, d.id, rule.id),
    payload: JSON.stringify({
      name: `Alert ${rule.id}`,
      unique_id: uniqueId,
      state_topic: topic,
      value_template: '{{ value_json.state }}',
      payload_on: 'ON',
      payload_off: 'OFF',
      device_class: 'problem',
      json_attributes_topic: topic,
      json_attributes_template:
        '{{ {"value": value_json.value, "threshold": value_json.threshold, "metric": value_json.metric, "severity": value_json.severity, "since": value_json.since} | tojson }}',
      ...availability(c),
      device: deviceBlock(c, d),
      origin: ORIGIN,
    }),
  }
}

export function gatewayConfig(c: DiscoveryContext): DiscoveryMessage {
  const uniqueId = `${gatewayIdentifier(c)}_status`
  return {
    topic: `${c.prefix}/binary_sensor/${uniqueId}/config`,
    payload: JSON.stringify({
      name: 'Status',
      unique_id: uniqueId,
      state_topic: c.statusTopic,
      value_template: '{{ value_json.state }}',
      payload_on: 'online',
      payload_off: 'offline',
      device_class: 'connectivity',
      device: {
        identifiers: [gatewayIdentifier(c)],
        name: `floxgate ${c.gateway}`,
        model: 'floxgate gateway',
        manufacturer: 'floxgate',
        sw_version: VERSION,
      },
      origin: ORIGIN,
    }),
  }
}

/** The retained state of a rule's binary sensor; its attributes are the alert's figures. */
export interface ProblemState {
  readonly on: boolean
  readonly value: number | undefined
  readonly threshold: number | undefined
  readonly metric: string | undefined
  readonly severity: string
  /** When it was raised, ms since the epoch (only while on). */
  readonly since: number | undefined
}

export function problemState(s: ProblemState): string {
  return JSON.stringify({
    state: s.on ? 'ON' : 'OFF',
    value: s.value ?? null,
    threshold: s.threshold ?? null,
    metric: s.metric ?? null,
    severity: s.severity,
    since: s.on && s.since !== undefined ? new Date(s.since).toISOString() : null,
  })
}

/** A rule's state when nothing is raised, or from its active alert. */
export function ruleState(rule: ResolvedRule, active: AlertEvent | undefined): ProblemState {
  if (active !== undefined) return alertState(active)
  return {
    on: false,
    value: undefined,
    // Stale thresholds are held in ms; the alert documents give seconds.
    threshold: rule.kind === 'stale' ? rule.threshold / 1000 : rule.threshold,
    metric: rule.metric,
    severity: rule.severity,
    since: undefined,
  }
}

export function alertState(a: AlertEvent): ProblemState {
  return {
    on: a.state === 'raised',
    value: a.value,
    threshold: a.threshold,
    metric: a.metric,
    severity: a.severity,
    since: a.since,
  }
}
