/**
 * Evaluates valid readings against the alert rules and emits raise/clear transitions.
 *
 * - high/low: raise when the value is past the threshold for `count` consecutive readings
 *   spanning at least `forSeconds` (reading time); any reading back inside resets that.
 *   A raised alert clears only past threshold ∓ hysteresis, so a noisy signal at the
 *   threshold raises once and stays raised until it really leaves.
 * - rate: |change| per minute measured against an anchor reading between ½ and 1½
 *   `windowSeconds` old (two sliding anchors: constant memory, no per-sample noise).
 * - stale: raised by `checkStale(now)` when no reading arrived for `staleSeconds`
 *   (receive time); cleared by the device's next reading.
 *
 * State is one small object per device and rule; an active alert is never re-raised.
 */
import type { DeviceDirectory, DeviceEntry } from './device-directory.js'
import type { AlertEvent, Metric, Reading } from './reading.js'
import { type ResolvedRule, type RuleConfig, resolveRules } from './rule-spec.js'

export interface AlertRulesOptions {
  readonly gateway: string
  readonly rules: readonly RuleConfig[]
  readonly devices: DeviceDirectory
  /** Start time: configured devices silent since then become stale. Default Date.now(). */
  readonly now?: number | undefined
}

/**
 * An alert known active before a restart (e.g. from the store). `lastSeen`: when its
 * device was last heard of, for an unknown device (default: now).
 */
export type ActiveAlertSeed = Pick<
  AlertEvent,
  'gateway' | 'device' | 'metric' | 'rule' | 'kind' | 'severity' | 'since'
> &
  Partial<Pick<AlertEvent, 'value' | 'threshold'>> & { readonly lastSeen?: number | undefined }

class RuleState {
  active = false
  /** When the active alert was raised (its `since`). */
  since = 0
  /** Start of a pending (not yet raised) condition, reading time. */
  pendingSince = 0
  pendingCount = 0
  lastValue: number | undefined = undefined
  /** Stale rules: last receive time of a matching reading. Rate rules: anchor times. */
  lastSeen = 0
  anchorTs = Number.NaN
  anchorValue = 0
  nextTs = Number.NaN
  nextValue = 0
}

interface DeviceRules {
  readonly device: string
  readonly rules: readonly ResolvedRule[]
  readonly states: readonly RuleState[]
  /** Indexes of the rules a reading of each metric feeds (metrics without rules: absent). */
  readonly byMetric: ReadonlyMap<Metric, readonly number[]>
  /** Stale rules without a metric: any reading of the device feeds them. */
  readonly anyMetric: readonly number[]
  readonly staleIdx: readonly number[]
}

const NONE: AlertEvent[] = []

export class AlertRules {
  readonly #gateway: string
  readonly #rules: readonly RuleConfig[]
  readonly #devices: DeviceDirectory
  readonly #state = new Map<string, DeviceRules>()
  /** Clears of alerts whose rule or device is gone, for the next tick to publish and store. */
  #orphaned: AlertEvent[] = []

  constructor(opts: AlertRulesOptions) {
    this.#gateway = opts.gateway
    this.#rules = opts.rules
    this.#devices = opts.devices
    const now = opts.now ?? Date.now()
    for (const entry of opts.devices.configured) this.#deviceRules(entry, now)
  }

  /** Transitions caused by one valid reading (a shared empty array when none). */
  evaluate(reading: Reading): AlertEvent[] {
    const d = this.#forDevice(reading.device, reading.receivedAt)
    if (d === undefined) return NONE
    let out: AlertEvent[] | undefined
    for (const i of d.byMetric.get(reading.metric) ?? d.anyMetric) {
      const rule = d.rules[i]!
      const s = d.states[i]!
      const ev =
        rule.kind === 'stale'
          ? this.#seen(d.device, rule, s, reading)
          : rule.kind === 'rate'
            ? this.#rate(d.device, rule, s, reading)
            : this.#threshold(d.device, rule, s, reading)
      if (ev === undefined) continue
      out ??= []
      out.push(ev)
    }
    return out ?? NONE
  }

  /**
   * Forgets the unknown devices silent past `unknownDevices.forgetAfterSeconds` (the
   * directory decides which) and returns the clear events of their active alerts: a
   * one-shot id must not keep an alert, nor a place under `unknownDevices.max`, forever.
   */
  forgetSilent(now: number): { forgotten: string[]; cleared: AlertEvent[] } {
    const forgotten = this.#devices.forgetSilent(now)
    if (forgotten.length === 0) return { forgotten, cleared: NONE }
    const cleared: AlertEvent[] = []
    for (const id of forgotten) {
      const d = this.#state.get(id)
      if (d === undefined) continue
      this.#state.delete(id)
      d.rules.forEach((rule, i) => {
        const s = d.states[i]!
        if (!s.active) return
        const value = rule.kind === 'stale' ? undefined : s.lastValue
        cleared.push(this.#event(id, rule, 'cleared', value, now, s.since))
      })
    }
    return { forgotten, cleared }
  }

  /** Raises stale alerts for devices silent longer than their rule allows. */
  checkStale(now: number): AlertEvent[] {
    let out: AlertEvent[] | undefined
    for (const d of this.#state.values()) {
      for (const i of d.staleIdx) {
        const rule = d.rules[i]!
        const s = d.states[i]!
        if (s.active || now - s.lastSeen < rule.threshold) continue
        s.active = true
        s.since = now
        out ??= []
        out.push(this.#event(d.device, rule, 'raised', undefined, now, now))
      }
    }
    return out ?? NONE
  }

  /**
   * Counts every device's silence from `now` at the latest: after the clock was set
   * (src/ops/clock-sanity.ts), receive times stamped before it are lower bounds, and
   * measuring silence against them would raise every stale rule at once.
   */
  restartSilence(now: number): void {
    for (const d of this.#state.values()) {
      for (const i of d.staleIdx) {
        const s = d.states[i]!
        if (s.lastSeen < now) s.lastSeen = now
      }
    }
  }

  /** Every alert currently raised, as its raise event. */
  activeAlerts(): AlertEvent[] {
    const out: AlertEvent[] = []
    for (const d of this.#state.values()) {
      d.rules.forEach((rule, i) => {
        const s = d.states[i]!
        if (s.active) {
          const value = rule.kind === 'stale' ? undefined : s.lastValue
          out.push(this.#event(d.device, rule, 'raised', value, s.since, s.since))
        }
      })
    }
    return out
  }

  /**
   * Marks alerts as already raised (e.g. the store's active alerts at start) so a restart
   * does not raise them again; the next reading past the clear point clears them.
   * An alert whose rule no longer applies to its device (removed from the config, or the
   * device is gone) is cleared instead: `takeOrphaned` hands out its clear event.
   */
  seed(active: Iterable<ActiveAlertSeed>, now = Date.now()): void {
    for (const a of active) {
      // a stored alert's device is taken in even past unknownDevices.max: it must be
      // there to be forgotten, and its alert cleared, once it has been silent long enough
      const d =
        this.#devices.adopt(a.device, a.lastSeen ?? now) === undefined
          ? undefined
          : this.#forDevice(a.device, now)
      const i =
        d?.rules.findIndex((r) => r.id === a.rule && r.kind === a.kind && r.metric === a.metric) ??
        -1
      if (d === undefined || i < 0) {
        this.#orphaned.push({
          gateway: a.gateway,
          device: a.device,
          metric: a.metric,
          rule: a.rule,
          kind: a.kind,
          severity: a.severity,
          state: 'cleared',
          value: a.kind === 'stale' ? undefined : a.value,
          threshold: a.threshold,
          ts: now,
          since: a.since,
        })
        continue
      }
      const s = d.states[i]!
      s.active = true
      s.since = a.since
      s.lastValue = a.value
    }
  }

  /**
   * A reload: takes over every series' state from the rules it replaces (silence, pending
   * conditions, rate anchors, active alerts), for each rule that still applies to the
   * device under the same id, kind and metric. An active alert whose rule is gone, or
   * whose device no longer is, is cleared (see `takeOrphaned`).
   */
  carryFrom(prev: AlertRules, now: number): void {
    for (const old of prev.#state.values()) {
      const d =
        this.#devices.adopt(old.device, now) === undefined
          ? undefined
          : this.#forDevice(old.device, now)
      old.rules.forEach((rule, i) => {
        const s = old.states[i]!
        const j =
          d?.rules.findIndex(
            (r) => r.id === rule.id && r.kind === rule.kind && r.metric === rule.metric,
          ) ?? -1
        if (d !== undefined && j >= 0) {
          Object.assign(d.states[j]!, s)
          return
        }
        if (!s.active) return
        const value = rule.kind === 'stale' ? undefined : s.lastValue
        this.#orphaned.push(this.#event(old.device, rule, 'cleared', value, now, s.since))
      })
    }
    this.#orphaned.push(...prev.takeOrphaned())
  }

  /** Clear events of alerts whose rule or device is gone, once each (the next tick's). */
  takeOrphaned(): AlertEvent[] {
    if (this.#orphaned.length === 0) return NONE
    const out = this.#orphaned
    this.#orphaned = []
    return out
  }

  #forDevice(device: string, now: number): DeviceRules | undefined {
    const hit = this.#state.get(device)
    if (hit !== undefined) return hit
    const entry = this.#devices.resolve(device)
    return entry === undefined ? undefined : this.#deviceRules(entry, now)
  }

  #deviceRules(entry: DeviceEntry, now: number): DeviceRules {
    const rules = resolveRules(
      this.#rules,
      { id: entry.id, profileId: entry.profile.id },
      entry.ruleOverrides,
    )
    const states = rules.map(() => {
      const s = new RuleState()
      s.lastSeen = now
      return s
    })
    const anyMetric = rules.flatMap((r, i) =>
      r.kind === 'stale' && r.metric === undefined ? [i] : [],
    )
    const byMetric = new Map<Metric, number[]>()
    for (const m of new Set(rules.flatMap((r) => (r.metric === undefined ? [] : [r.metric])))) {
      byMetric.set(
        m,
        rules.flatMap((r, i) =>
          r.metric === m || (r.kind === 'stale' && r.metric === undefined) ? [i] : [],
        ),
      )
    }
    const d: DeviceRules = {
      device: entry.id,
      rules,
      states,
      byMetric,
      anyMetric,
      staleIdx: rules.flatMap((r, i) => (r.kind === 'stale' ? [i] : [])),
    }
    this.#state.set(entry.id, d)
    return d
  }

  #seen(device: string, rule: ResolvedRule, s: RuleState, r: Reading): AlertEvent | undefined {
    if (r.receivedAt > s.lastSeen) s.lastSeen = r.receivedAt
    if (!s.active) return undefined
    s.active = false
    return this.#event(device, rule, 'cleared', undefined, r.receivedAt, s.since)
  }

  #threshold(device: string, rule: ResolvedRule, s: RuleState, r: Reading): AlertEvent | undefined {
    const v = r.value
    s.lastValue = v
    const high = rule.kind === 'high'
    if (s.active) {
      const back = high
        ? v < rule.threshold - rule.hysteresis
        : v > rule.threshold + rule.hysteresis
      if (!back) return undefined
      s.active = false
      s.pendingCount = 0
      return this.#event(device, rule, 'cleared', v, r.ts, s.since)
    }
    return this.#pending(device, rule, s, high ? v > rule.threshold : v < rule.threshold, v, r.ts)
  }

  #rate(device: string, rule: ResolvedRule, s: RuleState, r: Reading): AlertEvent | undefined {
    const half = rule.windowMs / 2
    if (Number.isNaN(s.anchorTs)) {
      s.anchorTs = s.nextTs = r.ts
      s.anchorValue = s.nextValue = r.value
      return undefined
    }
    // Out-of-order readings would make the rate meaningless.
    if (r.ts <= s.nextTs) return undefined
    if (r.ts - s.nextTs >= half) {
      s.anchorTs = s.nextTs
      s.anchorValue = s.nextValue
      s.nextTs = r.ts
      s.nextValue = r.value
    }
    const span = r.ts - s.anchorTs
    if (span < half) return undefined
    const rate = ((r.value - s.anchorValue) / span) * 60_000
    const magnitude = Math.abs(rate)
    s.lastValue = rate
    if (s.active) {
      if (magnitude >= rule.threshold - rule.hysteresis) return undefined
      s.active = false
      s.pendingCount = 0
      return this.#event(device, rule, 'cleared', rate, r.ts, s.since)
    }
    return this.#pending(device, rule, s, magnitude > rule.threshold, rate, r.ts)
  }

  #pending(
    device: string,
    rule: ResolvedRule,
    s: RuleState,
    past: boolean,
    value: number,
    ts: number,
  ): AlertEvent | undefined {
    if (!past) {
      s.pendingCount = 0
      return undefined
    }
    // A clock jump backwards restarts the duration rather than stretching it.
    if (s.pendingCount === 0 || ts < s.pendingSince) s.pendingSince = ts
    s.pendingCount++
    if (s.pendingCount < rule.count || ts - s.pendingSince < rule.forMs) return undefined
    s.active = true
    s.since = s.pendingSince
    return this.#event(device, rule, 'raised', value, s.since, s.since)
  }

  #event(
    device: string,
    rule: ResolvedRule,
    state: 'raised' | 'cleared',
    value: number | undefined,
    ts: number,
    since: number,
  ): AlertEvent {
    return {
      gateway: this.#gateway,
      device,
      metric: rule.metric,
      rule: rule.id,
      kind: rule.kind,
      severity: rule.severity,
      state,
      value,
      threshold: rule.kind === 'stale' ? rule.threshold / 1000 : rule.threshold,
      ts,
      since,
    }
  }
}
