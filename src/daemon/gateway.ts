import { mkdirSync } from 'node:fs'
import { BUILD_DATE } from '../build-date.js'
import type { Config, UplinkConfig } from '../config/load.js'
import type { EventRunResult } from '../engine/event/event-workflow.js'
import { TimerEventSource } from '../engine/event/timer-source.js'
import type { DeviceEntry } from '../gateway/device-directory.js'
import { profileUnits } from '../gateway/profile.js'
import { ReadingIdentity } from '../gateway/reading-identity.js'
import { resolveRules } from '../gateway/rule-spec.js'
import { HomeAssistantSync } from '../homeassistant/ha-sync.js'
import { AggregateNode, type AggregateOutput } from '../nodes/aggregate-node.js'
import { AlertNode, type AlertOutput } from '../nodes/alert-node.js'
import { ClassifyNode } from '../nodes/classify-node.js'
import type { GatewayContext } from '../nodes/context.js'
import type { GatewayEvent } from '../nodes/events.js'
import { HousekeepingNode } from '../nodes/housekeeping-node.js'
import { alertPayload, alertTopic, type OutputTopics, type Stream } from '../nodes/output.js'
import { ParseNode } from '../nodes/parse-node.js'
import { SensorSource } from '../nodes/sensor-source.js'
import { type StoredObserver, StoreNode, type StoreNodeOptions } from '../nodes/store-node.js'
import { Notifier } from '../notify/notifier.js'
import { NotifyMetrics } from '../notify/notify-metrics.js'
import { NotifyRouting } from '../notify/routing.js'
import { type ClockReference, ClockSanity } from '../ops/clock-sanity.js'
import type { EventLoopLag } from '../ops/event-loop-lag.js'
import { diskSpaceCheck, type HealthCheck, healthy, unhealthy } from '../ops/health.js'
import type { Logger } from '../ops/logger.js'
import type { GatewayMetrics } from '../ops/metrics.js'
import { PipelineProgress } from '../ops/pipeline-progress.js'
import { RateLimitedLog } from '../ops/rate-limited-log.js'
import { type KeptWindows, openStore, type Store } from '../store/index.js'
import type { PageDevice } from '../ui/status-page.js'
import type { Forwarder } from '../uplink/forwarder.js'
import { type GatewayBroker, startBroker } from './broker-setup.js'
import { buildGatewayParts, type GatewayParts } from './gateway-parts.js'
import { buildGatewayWorkflow, type GatewayNodes } from './gateway-workflow.js'

export interface GatewayDeps {
  readonly logger: Logger
  readonly metrics: GatewayMetrics
  readonly eventLoop?: EventLoopLag
  /** The SQLite addon's path inside a single executable (undefined: the npm install's). */
  readonly nativeBinding?: string | undefined
}

/** How often the clock source ticks: stale checks, window closes, retention. */
const HOUSEKEEPING_MS = 1000
const RETENTION_EVERY_MS = 60_000
/** A graceful stop must end within systemd's patience (TimeoutStopSec) and the 5 s. */
const DRAIN_TIMEOUT_MS = 3500
/** A sink that stays down costs one warning per minute per failure reason. */
const NOTIFY_LOG_MS = 60_000
/** The status page marks a metric stale after this long when no stale rule says otherwise. */
const DEFAULT_STALE_MS = 600_000

/**
 * One running gateway: broker, SQLite store, the workflow between them and the uplink,
 * wired from a validated config. `start` brings it up; `stop` drains without losing a
 * reading; `reload` applies a new config's topics, devices and rules in place.
 */
export class Gateway {
  private run: Promise<EventRunResult<GatewayEvent>> | undefined
  /** Home Assistant discovery, when `homeassistant.enabled`. */
  private ha: HomeAssistantSync | undefined
  /** Who hears about committed readings and alerts (Home Assistant, the status page). */
  private readonly observers = new Set<StoredObserver>()
  private readonly fanOut: StoredObserver = fanOut(this.observers)
  private stopping: Promise<void> | undefined

  private constructor(
    private config: Config,
    private parts: GatewayParts,
    readonly store: Store,
    readonly broker: GatewayBroker,
    private readonly nodes: GatewayNodes,
    readonly forwarders: readonly Forwarder[],
    readonly notifier: Notifier,
    private readonly deps: GatewayDeps,
    /** Clock ticks getting through the workflow (the `pipeline` check). */
    private readonly progress: PipelineProgress,
    /** Whether the system clock can be trusted (the `clock` check). */
    readonly clock: ClockSanity,
  ) {}

  static async start(config: Config, deps: GatewayDeps): Promise<Gateway> {
    const log = deps.logger
    mkdirSync(config.gateway.dataDir, { recursive: true })
    // Made once the database is open (it holds the newest receive time); the store's
    // timestamps and holds go through it from the first commit on.
    let clock: ClockSanity | undefined
    const store = openStore({
      file: config.store.file,
      durability: config.store.durability,
      maxSizeBytes: config.store.retention.maxSizeMB * 1024 * 1024,
      maxAgeMs: config.store.retention.maxAgeDays * 86_400_000,
      nativeBinding: deps.nativeBinding,
      batchMaxRows: config.store.batch.maxRows,
      batchMaxDelayMs: config.store.batch.maxDelayMs,
      batchRelaxedDelayMs: config.store.batch.qos0DelayMs,
      now: () => clock?.now() ?? Date.now(),
      clockSane: () => clock?.sane() ?? true,
      batchCommitWhenIdle: config.store.batch.commitWhenIdle,
      logger: log.child({ part: 'store' }),
      onCommit: (c) => {
        deps.metrics.stored(c.inserted.reading)
        if (c.duplicates > 0) deps.metrics.duplicates(c.duplicates)
        deps.metrics.commitSeconds(c.seconds)
      },
      // One queue per uplink, with its own cap, drop policy and TTL.
      outboxes: enabledUplinks(config).map((u) => ({
        id: u.id,
        streams: u.streams,
        maxBytes: u.maxBufferMB * 1024 * 1024,
        dropPolicy: u.dropPolicy,
        ttlMs: u.ttlHours * 3_600_000,
      })),
    })
    let broker: GatewayBroker | undefined
    let kept: KeptWindows | undefined
    try {
      const sane = new ClockSanity({
        references: clockReferences(store),
        log: log.child({ part: 'clock' }),
      })
      clock = sane
      const clockSane = () => sane.sane()
      const parts = buildGatewayParts(config, sane.now(), clockSane)
      // A restart must not re-raise what is already active, nor forget it. An unknown
      // device's silence goes on across the restart: it counts from its newest stored
      // reading (or the alert), so one-shot ids are still forgotten in time.
      const active = store.activeAlerts()
      parts.rules.seed(
        active.map((a) =>
          parts.devices.isConfigured(a.device)
            ? a
            : { ...a, lastSeen: Math.max(a.since, store.lastHeard(a.device) ?? 0) },
        ),
      )
      broker = await startBroker(
        config,
        parts.parser.subscriptions,
        log.child({ part: 'broker' }),
        (r) => deps.metrics.refused(r),
        () => sane.receiveTime(),
      )
      const forwarders = await startForwarders(config, store, log, clockSane, deps.metrics)
      const notifyLog = new RateLimitedLog(log.child({ part: 'notify' }), NOTIFY_LOG_MS)
      const notifier = new Notifier(store, {
        routing: new NotifyRouting(config.notify, config.rules),
        logger: log.child({ part: 'notify' }),
        rateLimited: notifyLog,
        metrics: new NotifyMetrics(deps.metrics.registry),
        now: () => sane.now(),
        clockSane,
      })
      // The windows open at the last graceful stop go on (docs/storage.md, Aggregates).
      kept = store.takeWindows()
      const carried = config.aggregates.enabled
        ? [...kept.closed, ...parts.aggregator.restore(kept.open)]
        : []
      const progress = new PipelineProgress()
      const nodes: GatewayNodes = {
        sensors: new SensorSource(broker.intake),
        clock: new TimerEventSource(HOUSEKEEPING_MS, 'clock'),
        parse: new ParseNode(parts.parser, new ReadingIdentity(store)),
        classify: new ClassifyNode(parts),
        alerts: new AlertNode(broker.publisher, alertOutput(config)),
        housekeeping: new HousekeepingNode(
          parts.rules,
          config.alerts.staleCheckSeconds * 1000,
          () => progress.beat(),
          clockSane,
        ),
        aggregate: new AggregateNode(
          parts.aggregator,
          broker.publisher,
          aggregateOutput(config),
          carried,
        ),
        store: new StoreNode(store, storeOptions(config, forwarders, notifier, undefined)),
      }
      const gw = new Gateway(
        config,
        parts,
        store,
        broker,
        nodes,
        forwarders,
        notifier,
        deps,
        progress,
        sane,
      )
      // Silence before the clock was set was measured against lower bounds.
      sane.onRecovered((now) => gw.parts.rules.restartSilence(now))
      nodes.store.replace(storeOptions(config, forwarders, notifier, gw.fanOut))
      deps.metrics.setSources({
        activeAlerts: () => gw.parts.rules.activeAlerts().length,
        unknownDevices: () => gw.parts.devices.unknownCount,
        bufferRows: () => store.outboxStats().rows,
        uplinks: () =>
          forwarders.map((f) => {
            const s = f.stats()
            return {
              id: s.id,
              backlogRows: s.backlogRows,
              lagSeconds: s.oldestAgeMs / 1000,
              // Acknowledged means the upstream took the row: rows it refused are dead letters.
              sent: s.acked - s.rejected,
            }
          }),
        dropped: () => store.outboxStats().dropped,
        bufferBytes: () => store.fileBytes(),
        clockSane: () => (sane.sane() ? 1 : 0),
      })
      // Only what is still raised: an alert whose rule is gone is cleared at the first tick.
      const raised = new Set(parts.rules.activeAlerts().map((a) => `${a.device}\u0000${a.rule}`))
      if (broker.mode === 'embedded') {
        await gw.republishActive(active.filter((a) => raised.has(`${a.device}\u0000${a.rule}`)))
      }
      await gw.syncHomeAssistant()
      gw.run = gw.execute()
      notifier.start()
      await nodes.sensors.start()
      return gw
    } catch (err) {
      await broker?.close().catch(() => {})
      // a start that fails must not lose the windows the last stop kept
      if (kept !== undefined) store.keepWindows(kept)
      store.close()
      throw err
    }
  }

  /** The workflow run; resolves when the gateway stops. */
  get finished(): Promise<EventRunResult<GatewayEvent>> | undefined {
    return this.run
  }

  private execute(): Promise<EventRunResult<GatewayEvent>> {
    const log = this.deps.logger
    const ctx: GatewayContext = {
      metrics: this.deps.metrics,
      badInput: new RateLimitedLog(log),
      log,
    }
    const wf = buildGatewayWorkflow(this.nodes, (err, event, nodeId) => {
      // Only the store node has no error route: its write failed, so the message was not
      // stored. It is not acknowledged: the sender delivers it again.
      if (event !== undefined && event.kind === 'telemetry') {
        event.message.ack(err instanceof Error ? err : new Error(String(err)))
      }
      ctx.badInput.warn(
        `workflow-error:${nodeId}`,
        { node: nodeId, err: err instanceof Error ? err.message : String(err) },
        `node "${nodeId}" failed; the message was not acknowledged and the sender will resend it. Check the database health (/healthz)`,
      )
    })
    return wf.execute(ctx)
  }

  /**
   * Publishes Home Assistant's discovery configs for the current config (removing those of
   * devices and rules that are gone) and hands the store node the sync, so each stored
   * value reaches its state topic. Turned off by a reload: publishing stops, the entities
   * stay in Home Assistant (unavailable once the gateway goes offline).
   */
  private async syncHomeAssistant(): Promise<void> {
    const c = this.config
    if (!c.homeassistant.enabled) {
      if (this.ha !== undefined) this.observers.delete(this.ha)
      this.ha = undefined
      return
    }
    if (this.ha !== undefined && this.ha.prefix !== c.homeassistant.discoveryPrefix) {
      // A new prefix: a new sync, whose first run removes what went out under the old one.
      this.observers.delete(this.ha)
      this.ha = undefined
    }
    const haLog = new RateLimitedLog(this.deps.logger.child({ part: 'homeassistant' }))
    this.ha ??= new HomeAssistantSync(this.store.database, this.broker.publisher, {
      discoveryPrefix: c.homeassistant.discoveryPrefix,
      gateway: c.gateway.id,
      statusTopic: c.broker.statusTopic,
      logger: this.deps.logger.child({ part: 'homeassistant' }),
      rateLimited: haLog,
    })
    await this.ha.sync({
      devices: this.parts.devices,
      rules: c.rules,
      acceptUnknown: c.unknownDevices.policy === 'accept',
      maxUnknownDevices: c.homeassistant.maxUnknownDevices,
      active: this.parts.rules.activeAlerts(),
      unknownLive: (id) => {
        // Heard since the start (or a reload), else before it: its newest stored reading.
        const seen = this.parts.devices.unknownSeenAt(id) ?? this.store.lastHeard(id)
        const limit = this.clock.now() - c.unknownDevices.forgetAfterSeconds * 1000
        return seen !== undefined && seen > limit
      },
    })
    this.observers.add(this.ha)
  }

  /** Hears about every committed reading and alert transition; returns the unsubscribe. */
  observe(o: StoredObserver): () => void {
    this.observers.add(o)
    return () => this.observers.delete(o)
  }

  /** The configured devices for the status page, with when each counts as stale. */
  pageDevices(): PageDevice[] {
    return this.parts.devices.configured.map((d) => ({
      id: d.id,
      name: d.name,
      location: d.location,
      profile: d.profile.id,
      staleMs: this.staleMs(d.id, d.profile.id, d.ruleOverrides),
      units: profileUnits(d.profile),
    }))
  }

  /** How the page describes a device that is not configured. */
  pageUnknownDevice(id: string): PageDevice {
    const profile = this.config.unknownDevices.profile
    const p = this.config.profiles.get(profile)
    return {
      id,
      name: id,
      location: undefined,
      profile,
      staleMs: this.staleMs(id, profile, {}),
      units: p === undefined ? {} : profileUnits(p),
    }
  }

  /** The device's shortest stale rule, else 10 minutes. */
  private staleMs(id: string, profileId: string, overrides: DeviceEntry['ruleOverrides']): number {
    const stale = resolveRules(this.config.rules, { id, profileId }, overrides)
      .filter((r) => r.kind === 'stale')
      .map((r) => r.threshold)
    return stale.length === 0 ? DEFAULT_STALE_MS : Math.min(...stale)
  }

  /** The embedded broker keeps retained messages in memory: restore active alerts. */
  private async republishActive(active: ReturnType<Store['activeAlerts']>): Promise<void> {
    const out = alertOutput(this.config)
    for (const a of active) {
      const ev = { ...a, state: 'raised' as const }
      const topic = alertTopic(out.topics, ev)
      // One alert that cannot be published (a device id from before ids with "+" or "#"
      // were refused) must not keep the gateway from starting.
      await this.broker.publisher
        .publish(topic, alertPayload(ev), { qos: out.qos, retain: out.retain })
        .catch((err: unknown) => {
          this.deps.logger.warn(
            { topic, err: String(err) },
            'could not publish an active alert again at start; it stays in the alert history (floxgate export) and clears as usual',
          )
        })
    }
  }

  /** Health checks by name, for /healthz and the watchdog. */
  checks(): Record<'broker' | 'database' | 'uplink' | 'disk' | 'pipeline' | 'clock', HealthCheck> {
    return {
      clock: this.clock.check(),
      // The watchdog's stall limit: a workflow stuck this long gets the daemon restarted.
      pipeline: this.progress.check(this.config.watchdog.stallSeconds * 1000),
      broker: () => {
        const p = this.broker.problem()
        return p === undefined ? healthy(this.broker.mode) : unhealthy(p)
      },
      database: () => {
        const h = this.store.health()
        return h.ok ? healthy() : unhealthy(h.reason)
      },
      uplink: () => {
        if (this.forwarders.length === 0) return healthy('not configured')
        // One unhealthy uplink makes the check fail, and says which.
        const bad = this.forwarders
          .map((f) => ({ id: f.id, h: f.health() }))
          .filter((x) => !x.h.ok)
          .map((x) => (this.forwarders.length === 1 ? x.h.reason : `${x.id}: ${x.h.reason}`))
        return bad.length === 0 ? healthy() : unhealthy(bad.join('; '))
      },
      disk: diskSpaceCheck(this.config.gateway.dataDir),
    }
  }

  /**
   * Applies a new, already validated config: sensor topics, devices, profiles, rules and
   * windows change in place; alert states carry over. Broker, store, uplink and HTTP
   * settings need a restart: returned so the caller can say so.
   */
  reload(next: Config): string[] {
    const parts = buildGatewayParts(next, this.clock.now(), () => this.clock.sane())
    // live unknown devices stay live (and keep their silence) across a reload
    for (const [id, seen] of this.parts.devices.unknownDevices()) parts.devices.adopt(id, seen)
    // every series' alert state goes on; alerts whose rule or device is gone are cleared
    parts.rules.carryFrom(this.parts.rules, this.clock.now())
    parts.classifier.carryFrom(this.parts.classifier)
    const sameWindow =
      next.aggregates.windowSeconds === this.config.aggregates.windowSeconds &&
      next.aggregates.graceSeconds === this.config.aggregates.graceSeconds
    const aggregator = sameWindow ? this.parts.aggregator : parts.aggregator
    this.broker.setSensorTopics(parts.parser.subscriptions)
    this.nodes.parse.replace(parts.parser)
    this.nodes.classify.replace(parts)
    this.nodes.housekeeping.replace(parts.rules, next.alerts.staleCheckSeconds * 1000)
    this.nodes.alerts.replace(alertOutput(next))
    this.nodes.aggregate.replace(aggregator, aggregateOutput(next))
    this.notifier.replace(new NotifyRouting(next.notify, next.rules))
    const needRestart = restartOnly(this.config, next)
    // Upstreams that keep a device list hear which devices are gone (ThingsBoard).
    const kept = new Set(next.devices.map((d) => d.id))
    for (const d of this.config.devices) {
      if (kept.has(d.id)) continue
      for (const f of this.forwarders) f.deviceRemoved(d.id)
    }
    this.parts = { ...parts, aggregator }
    this.config = next
    this.nodes.store.replace(storeOptions(next, this.forwarders, this.notifier, this.fanOut))
    void this.syncHomeAssistant().catch((err: unknown) => {
      this.deps.logger.warn(
        { err: String(err) },
        'Home Assistant discovery was not brought up to date after the reload; it is retried at the next reload or restart',
      )
    })
    return needRestart
  }

  /**
   * Stops intake, processes what was already received, commits it all (which releases
   * the sensors' acknowledgements), then closes the uplink, the broker and the database.
   */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      const log = this.deps.logger
      await this.nodes.sensors.stop()
      this.nodes.clock.close()
      const drained = await Promise.race([
        this.run,
        new Promise<undefined>((r) => {
          setTimeout(() => r(undefined), DRAIN_TIMEOUT_MS).unref()
        }),
      ])
      if (drained === undefined) {
        log.warn(
          { queued: this.nodes.sensors.size },
          'the workflow did not drain in time; unprocessed messages were not acknowledged and their senders will resend them',
        )
      }
      this.store.flush()
      // Open windows are kept for the next start rather than closed half-full: their
      // readings go on arriving after the restart.
      if (this.config.aggregates.enabled) {
        try {
          this.store.keepWindows(this.nodes.aggregate.kept())
        } catch (err) {
          log.error(
            { err: String(err) },
            'the open aggregate windows could not be kept for the next start: their aggregates are lost (the readings are stored); check the database health',
          )
        }
      }
      await this.notifier.stop()
      await Promise.all(
        this.forwarders.map((f) =>
          f.stop().catch((err: unknown) => {
            log.warn(
              { uplink: f.id, err: String(err) },
              'uplink did not stop cleanly; unsent rows stay in the outbox',
            )
          }),
        ),
      )
      await this.broker.close()
      this.store.close()
    })()
    return this.stopping
  }
}

function topicsOf(c: Config): OutputTopics {
  return { gateway: c.gateway.id, alerts: c.alerts.topic, aggregates: c.aggregates.topic }
}

function alertOutput(c: Config): AlertOutput {
  return { topics: topicsOf(c), qos: c.alerts.qos, retain: c.alerts.retain }
}

function aggregateOutput(c: Config): AggregateOutput {
  return { enabled: c.aggregates.enabled, topics: topicsOf(c), qos: c.aggregates.qos }
}

function enabledUplinks(c: Config): readonly UplinkConfig[] {
  return c.uplinks.filter((u) => u.enabled)
}

/** One observer for many; idle while the set is empty. */
function fanOut(observers: ReadonlySet<StoredObserver>): StoredObserver {
  return {
    get idle() {
      return observers.size === 0
    },
    readingsStored: (rs) => {
      for (const o of observers) o.readingsStored(rs)
    },
    alertStored: (a) => {
      for (const o of observers) o.alertStored(a)
    },
  }
}

function storeOptions(
  c: Config,
  forwarders: readonly Forwarder[],
  notifier: Notifier,
  observer: StoredObserver | undefined,
): StoreNodeOptions {
  // The store node writes each entry once; the store copies it into each uplink that wants it.
  const running = new Set(forwarders.map((f) => f.id))
  const forward = new Set<Stream>(
    enabledUplinks(c)
      .filter((u) => running.has(u.id))
      .flatMap((u) => u.streams),
  )
  const routing = new NotifyRouting(c.notify, c.rules)
  return {
    notifications: c.notify.length === 0 ? undefined : (a) => routing.entriesFor(a),
    onNotifications: () => notifier.wake(),
    observer,
    gateway: c.gateway.id,
    forward,
    onOutbox:
      forwarders.length === 0
        ? undefined
        : () => {
            for (const f of forwarders) f.notify()
          },
    retentionEveryMs: RETENTION_EVERY_MS,
  }
}

async function startForwarders(
  c: Config,
  store: Store,
  log: Logger,
  clockSane: () => boolean,
  metrics: GatewayMetrics,
): Promise<Forwarder[]> {
  const list = enabledUplinks(c)
  if (list.length === 0) return []
  // Loaded only with an uplink: MQTT.js adds about 12 MB of resident memory.
  const { startUplink } = await import('./uplink-setup.js')
  return list.map((u) =>
    startUplink(c, u, store, log.child({ part: 'uplink', uplink: u.id }), clockSane, (n) =>
      metrics.deadLetter('upstream-rejected', n),
    ),
  )
}

/** Times the system clock cannot be earlier than: this build, and what the database holds. */
function clockReferences(store: Store): ClockReference[] {
  const refs: ClockReference[] = [{ at: Date.parse(BUILD_DATE), what: 'the build date' }]
  const stored = store.newestReceivedAt()
  if (stored !== undefined) {
    refs.push({ at: stored, what: 'the newest receive time stored in the database' })
  }
  return refs
}

/** Settings a reload cannot apply in place, by section name. */
function restartOnly(prev: Config, next: Config): string[] {
  const sections = ['broker', 'store', 'uplink', 'uplinks', 'http', 'gateway', 'watchdog'] as const
  return sections.filter((s) => JSON.stringify(prev[s]) !== JSON.stringify(next[s]))
}
