import type BetterSqlite3 from 'better-sqlite3'
import type { Publisher } from '../broker/intake.js'
import type { DeviceDirectory, DeviceEntry } from '../gateway/device-directory.js'
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
  problemState,
  problemStateTopic,
  ruleState,
  sensorConfig,
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
 * Assistant then deletes the entity), and an unknown device's entities survive a restart.
 */
export class HomeAssistantSync {
  private readonly ctx: DiscoveryContext
  private readonly stmts
  private model: HomeAssistantModel | undefined
  /** `device\0metric` of sensors announced by this process. */
  private readonly sensors = new Set<string>()
  /** Devices whose rule sensors this process announced, with their rules. */
  private readonly rules = new Map<string, readonly ResolvedRule[]>()

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
  }

  /**
   * Publishes every config the model implies, removes those it no longer does, and sets
   * the rule sensors' states. Run at start and after each reload.
   */
  async sync(model: HomeAssistantModel): Promise<void> {
    this.model = model
    this.sensors.clear()
    this.rules.clear()
    const active = new Map(model.active.map((a) => [`${a.device}\u0000${a.rule}`, a]))
    const want = new Map<string, string>()
    const states: Array<[string, string]> = []
    const add = (m: DiscoveryMessage) => want.set(m.topic, m.payload)
    add(gatewayConfig(this.ctx))
    for (const d of model.devices.configured) {
      for (const metric of profileMetrics(d.profile)) {
        add(sensorConfig(this.ctx, d, metric))
        this.sensors.add(`${d.id}\u0000${metric}`)
      }
      const rules = this.rulesOf(d)
      for (const r of rules) {
        add(problemConfig(this.ctx, d, r))
        const state = ruleState(r, active.get(`${d.id}\u0000${r.id}`))
        states.push([problemStateTopic(this.ctx, d.id, r.id), problemState(state)])
      }
      this.rules.set(d.id, rules)
    }
    const sends: Promise<void>[] = []
    let removed = 0
    for (const row of this.stmts.all.all()) {
      if (want.has(row.topic)) continue
      if (row.configured === 0 && model.acceptUnknown) {
        // An unknown device seen before: keep its entities (re-published for a broker that
        // lost its retained messages in a restart).
        sends.push(this.send(row.topic, row.payload))
        continue
      }
      this.stmts.remove.run(row.topic)
      sends.push(this.send(row.topic, ''))
      // Its retained state goes too, so the broker does not keep values nobody shows.
      const state = stateTopicOf(row.payload)
      if (state !== undefined && state !== this.ctx.statusTopic) sends.push(this.send(state, ''))
      removed++
    }
    for (const [topic, payload] of want) {
      this.stmts.put.run(topic, payload, 1)
      sends.push(this.send(topic, payload))
    }
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
      if (!this.sensors.has(`${r.device}\u0000${r.metric}`)) this.announce(r.device, r.metric)
      void this.send(sensorStateTopic(this.ctx, r.device, r.metric), String(r.value))
    }
  }

  /** An alert transition: its rule's binary sensor goes ON or OFF with the alert's figures. */
  alertStored(a: AlertEvent): void {
    void this.send(problemStateTopic(this.ctx, a.device, a.rule), problemState(alertState(a)))
  }

  /** The first reading of a sensor this process has not announced (an unknown device). */
  private announce(device: string, metric: string): void {
    this.sensors.add(`${device}\u0000${metric}`)
    const entry = this.model?.devices.resolve(device)
    if (entry === undefined) return
    const configured = entry.known ? 1 : 0
    const sensor = sensorConfig(this.ctx, entry, metric)
    this.stmts.put.run(sensor.topic, sensor.payload, configured)
    void this.send(sensor.topic, sensor.payload)
    if (this.rules.has(device)) return
    const rules = this.rulesOf(entry)
    this.rules.set(device, rules)
    for (const r of rules) {
      const c = problemConfig(this.ctx, entry, r)
      this.stmts.put.run(c.topic, c.payload, configured)
      void this.send(c.topic, c.payload)
      void this.send(
        problemStateTopic(this.ctx, device, r.id),
        problemState(ruleState(r, undefined)),
      )
    }
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
