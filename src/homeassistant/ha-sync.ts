import type BetterSqlite3 from 'better-sqlite3'
import type { Publisher } from '../broker/intake.js'
import type { DeviceDirectory, DeviceEntry } from '../gateway/device-directory.js'
import { deviceIdProblem } from '../gateway/device-id.js'
import { profileMetrics } from '../gateway/profile.js'
import type { AlertEvent, Reading } from '../gateway/reading.js'
import { type ResolvedRule, type RuleConfig, resolveRules } from '../gateway/rule-spec.js'
import type { Log } from '../ops/log.js'
import type { RateLimitedLog } from '../ops/rate-limited-log.js'
import {
  alertState,
  type DiscoveryContext,
  type DiscoveryMessage,
  gatewayConfig,
  problemConfig,
  problemConfigTopic,
  problemState,
  problemStateTopic,
  publishedEntity,
  ruleState,
  sensorConfig,
  sensorConfigTopic,
  sensorStateTopic,
} from './discovery.js'

export interface HomeAssistantOptions {
  readonly discoveryPrefix: string
  readonly gateway: string
  readonly statusTopic: string
  readonly logger: Log
  /** Rate-limited warnings (a broker that refuses every publish costs one line per interval). */
  readonly rateLimited: RateLimitedLog
}

/** What the sync needs from the running config. */
export interface HomeAssistantModel {
  readonly devices: DeviceDirectory
  readonly rules: readonly RuleConfig[]
  readonly acceptUnknown: boolean
  /** Alerts raised now, for the rule sensors' initial states. */
  readonly active: readonly AlertEvent[]
  /**
   * True while an unknown device counts as live: heard within
   * `unknownDevices.forgetAfterSeconds`, counted across restarts from its newest stored
   * reading. Its entities are kept only while it is.
   */
  readonly unknownLive: (device: string) => boolean
  /** Unknown devices announced at most; the others publish nothing to Home Assistant. */
  readonly maxUnknownDevices: number
}

interface PublishedRow {
  readonly topic: string
  readonly payload: string
  readonly configured: number
}

/**
 * Keeps Home Assistant's view of the gateway in step: the discovery configs of every
 * configured device (its profile's metrics, its alert rules) and of unknown devices on
 * their first reading, each stored value on its sensor's state topic, each alert
 * transition on its rule's binary sensor.
 *
 * The configs published are recorded in SQLite (`ha_discovery`), so a device removed
 * from the config, even while floxgate was stopped, gets its empty retained config (Home
 * Assistant then deletes the entity). An unknown device's entities follow the config like
 * a configured one's while it is live, and are removed when it is forgotten.
 */
export class HomeAssistantSync {
  private readonly ctx: DiscoveryContext
  private readonly stmts
  private model: HomeAssistantModel | undefined
  /** Metrics announced by this process, per device. */
  private readonly sensors = new Map<string, Set<string>>()
  /** Devices whose rule sensors this process announced, with their rules. */
  private readonly rules = new Map<string, readonly ResolvedRule[]>()
  /** Device directories whose forgotten devices this sync hears of. */
  private readonly hooked = new WeakSet<DeviceDirectory>()
  /** Unknown devices announced now (counted against `maxUnknownDevices`). */
  private unknownAnnounced = 0
  /**
   * Unknown devices past `maxUnknownDevices`: not announced, their readings and alerts
   * not published. Bounded by the live unknown devices (dropped when forgotten).
   */
  private readonly unannounced = new Set<string>()
  private readonly putAll

  constructor(
    db: BetterSqlite3.Database,
    private readonly publisher: Publisher,
    private readonly opts: HomeAssistantOptions,
  ) {
    this.ctx = {
      prefix: opts.discoveryPrefix,
      gateway: opts.gateway,
      statusTopic: opts.statusTopic,
    }
    this.stmts = {
      all: db.prepare<[], PublishedRow>('SELECT topic, payload, configured FROM ha_discovery'),
      put: db.prepare<[string, string, number]>(
        'INSERT OR REPLACE INTO ha_discovery (topic, payload, configured) VALUES (?, ?, ?)',
      ),
      remove: db.prepare<[string]>('DELETE FROM ha_discovery WHERE topic = ?'),
    }
    // One transaction for a device's configs: one commit (one fsync), not one per entity.
    this.putAll = db.transaction((rows: readonly [string, string, number][]) => {
      for (const r of rows) this.stmts.put.run(...r)
    })
  }

  get prefix(): string {
    return this.ctx.prefix
  }

  /**
   * Publishes every config the model implies, removes those it no longer does, and sets
   * the rule sensors' states. Run at start and after each reload.
   */
  async sync(model: HomeAssistantModel): Promise<void> {
    this.model = model
    if (!this.hooked.has(model.devices)) {
      this.hooked.add(model.devices)
      model.devices.onForget((id) => {
        // A directory replaced by a reload hands its live devices over; only the current
        // one's forgetting counts.
        if (this.model?.devices === model.devices) this.forget(id)
      })
    }
    this.sensors.clear()
    this.rules.clear()
    this.unannounced.clear()
    this.unknownAnnounced = 0
    const active = new Map(model.active.map((a) => [`${a.device}\u0000${a.rule}`, a]))
    const want = new Map<string, { payload: string; configured: number }>()
    const states: Array<[string, string]> = []
    /** State topics still in use: a config removed under another prefix keeps its value. */
    const kept = new Set<string>([this.ctx.statusTopic])
    const gateway = gatewayConfig(this.ctx)
    want.set(gateway.topic, { payload: gateway.payload, configured: 1 })
    const addDevice = (d: DeviceEntry, metrics: Iterable<string>) => {
      const configured = d.known ? 1 : 0
      const add = (m: DiscoveryMessage) => want.set(m.topic, { payload: m.payload, configured })
      const announced = new Set<string>()
      for (const metric of metrics) {
        add(sensorConfig(this.ctx, d, metric))
        announced.add(metric)
        kept.add(sensorStateTopic(this.ctx, d.id, metric))
      }
      this.sensors.set(d.id, announced)
      const rules = this.rulesOf(d)
      for (const r of rules) {
        add(problemConfig(this.ctx, d, r))
        const state = ruleState(r, active.get(`${d.id}\u0000${r.id}`))
        states.push([problemStateTopic(this.ctx, d.id, r.id), problemState(state)])
      }
      this.rules.set(d.id, rules)
    }
    for (const d of model.devices.configured) addDevice(d, profileMetrics(d.profile))

    const rows = this.stmts.all.all()
    // Unknown devices announced before (this run or an earlier one) and still live: the
    // same metrics, under the current config's rules and names.
    const unknown = new Map<string, Set<string>>()
    if (model.acceptUnknown) {
      for (const row of rows) {
        if (row.configured !== 0) continue
        const state = stateTopicOf(row.payload)
        const e = state === undefined ? undefined : publishedEntity(this.ctx, row.topic, state)
        // A device id refused since it was announced (one with "+" or "#") is not kept.
        if (e === undefined || model.devices.isConfigured(e.device)) continue
        if (deviceIdProblem(e.device) !== undefined) continue
        let metrics = unknown.get(e.device)
        if (metrics === undefined) {
          if (unknown.size >= model.maxUnknownDevices || !model.unknownLive(e.device)) continue
          metrics = new Set()
          unknown.set(e.device, metrics)
        }
        if (e.metric !== undefined) metrics.add(e.metric)
      }
    }
    for (const [id, metrics] of unknown) {
      const entry = model.devices.describeUnknown(id)
      if (entry === undefined) continue
      addDevice(entry, metrics)
      this.unknownAnnounced++
    }

    const sends: Promise<void>[] = []
    let removed = 0
    for (const row of rows) {
      if (want.has(row.topic)) continue
      sends.push(...this.remove(row.topic, row.payload, kept))
      removed++
    }
    this.putAll([...want].map(([topic, w]) => [topic, w.payload, w.configured] as const))
    for (const [topic, w] of want) sends.push(this.send(topic, w.payload))
    for (const [topic, payload] of states) sends.push(this.send(topic, payload))
    await Promise.all(sends)
    this.opts.logger.info(
      { entities: want.size, removed, prefix: this.ctx.prefix },
      `Home Assistant discovery: ${want.size} entities published under ${this.ctx.prefix}/, ${removed} removed`,
    )
  }

  /** After a commit: each value on its sensor's state topic (announcing new sensors first). */
  readingsStored(readings: readonly Reading[]): void {
    for (const r of readings) {
      if (this.sensors.get(r.device)?.has(r.metric) !== true && !this.announce(r.device, r.metric))
        continue
      void this.send(sensorStateTopic(this.ctx, r.device, r.metric), String(r.value))
    }
  }

  /** An alert transition: its rule's binary sensor goes ON or OFF with the alert's figures. */
  alertStored(a: AlertEvent): void {
    // Only devices Home Assistant knows: no retained state for one never announced.
    if (!this.rules.has(a.device)) return
    void this.send(problemStateTopic(this.ctx, a.device, a.rule), problemState(alertState(a)))
  }

  /**
   * The first reading of a sensor this process has not announced (an unknown device, or a
   * metric its profile does not list): false when the device is not to be announced.
   */
  private announce(device: string, metric: string): boolean {
    if (this.unannounced.has(device)) return false
    const model = this.model
    const entry = model?.devices.resolve(device)
    if (model === undefined || entry === undefined) return false
    const first = !this.rules.has(device)
    if (first && !entry.known) {
      if (this.unknownAnnounced >= model.maxUnknownDevices) {
        this.unannounced.add(device)
        this.opts.rateLimited.warn(
          'homeassistant-max-unknown',
          { device: device.slice(0, 64), max: model.maxUnknownDevices },
          `unknown device not announced to Home Assistant: homeassistant.maxUnknownDevices (${model.maxUnknownDevices}) are; configure the device, or raise the limit`,
        )
        return false
      }
      this.unknownAnnounced++
    }
    let metrics = this.sensors.get(device)
    if (metrics === undefined) {
      metrics = new Set()
      this.sensors.set(device, metrics)
    }
    metrics.add(metric)
    const configured = entry.known ? 1 : 0
    const configs = [sensorConfig(this.ctx, entry, metric)]
    const states: [string, string][] = []
    if (first) {
      const rules = this.rulesOf(entry)
      this.rules.set(device, rules)
      for (const r of rules) {
        configs.push(problemConfig(this.ctx, entry, r))
        states.push([
          problemStateTopic(this.ctx, device, r.id),
          problemState(ruleState(r, undefined)),
        ])
      }
    }
    this.putAll(configs.map((c) => [c.topic, c.payload, configured] as const))
    for (const c of configs) void this.send(c.topic, c.payload)
    for (const [topic, payload] of states) void this.send(topic, payload)
    return true
  }

  /** An unknown device was forgotten: its entities and retained states go. */
  private forget(device: string): void {
    for (const metric of this.sensors.get(device) ?? []) {
      const topic = sensorConfigTopic(this.ctx, device, metric)
      this.stmts.remove.run(topic)
      void this.send(topic, '')
      void this.send(sensorStateTopic(this.ctx, device, metric), '')
    }
    for (const r of this.rules.get(device) ?? []) {
      const topic = problemConfigTopic(this.ctx, device, r.id)
      this.stmts.remove.run(topic)
      void this.send(topic, '')
      void this.send(problemStateTopic(this.ctx, device, r.id), '')
    }
    if (this.rules.delete(device)) this.unknownAnnounced--
    this.sensors.delete(device)
    this.unannounced.delete(device)
  }

  /** Removes a published config: its row, its retained config and its retained state. */
  private remove(topic: string, payload: string, kept: ReadonlySet<string>): Promise<void>[] {
    this.stmts.remove.run(topic)
    const sends = [this.send(topic, '')]
    // Its retained state goes too, so the broker does not keep values nobody shows.
    const state = stateTopicOf(payload)
    if (state !== undefined && !kept.has(state)) sends.push(this.send(state, ''))
    return sends
  }

  private rulesOf(d: DeviceEntry): readonly ResolvedRule[] {
    return resolveRules(
      this.model?.rules ?? [],
      { id: d.id, profileId: d.profile.id },
      d.ruleOverrides,
    )
  }

  /** Retained, QoS 1: Home Assistant may connect after the gateway published. */
  private send(topic: string, payload: string): Promise<void> {
    return this.publisher
      .publish(topic, payload, { qos: 1, retain: true })
      .catch((err: unknown) => {
        this.opts.rateLimited.warn(
          'homeassistant-publish',
          { topic, err: String(err) },
          'could not publish a Home Assistant discovery or state message; it is sent again at the next reload or restart',
        )
      })
  }
}

function stateTopicOf(payload: string): string | undefined {
  try {
    const t = (JSON.parse(payload) as { state_topic?: unknown }).state_topic
    return typeof t === 'string' ? t : undefined
  } catch {
    return undefined
  }
}
