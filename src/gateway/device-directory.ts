import { ERR } from '../errors.js'
/**
 * The devices the gateway knows: each configured device with its profile, calibration
 * and rule overrides, plus the policy for devices nobody configured.
 */
import type { DerivedMetric } from './derived.js'
import type { DeviceProfile } from './profile.js'
import type { Metric } from './reading.js'
import type { RuleOverride } from './rule-spec.js'

export interface DeviceConfig {
  readonly id: string
  readonly profile: string
  readonly name?: string | undefined
  readonly location?: string | undefined
  /** Added to the converted value before validation, canonical unit. */
  readonly calibration: Readonly<Record<Metric, number>>
  readonly rules: Readonly<Record<string, RuleOverride>>
  /** Derived metrics for this device, in addition to its profile's. */
  readonly derive?: readonly DerivedMetric[] | undefined
}

export interface UnknownDevicePolicy {
  readonly policy: 'accept' | 'dead-letter'
  /** Profile given to accepted unknown devices. */
  readonly profile: string
  /** Live unknown devices at most; beyond that they are refused (memory bound). */
  readonly max: number
  /**
   * An unknown device silent this long is forgotten: it no longer counts against `max`
   * and its alerts are cleared, so one-shot ids cannot lock new sensors out.
   */
  readonly forgetAfterSeconds: number
}

export interface DeviceEntry {
  readonly id: string
  readonly name: string
  readonly location: string | undefined
  readonly profile: DeviceProfile
  readonly calibration: Readonly<Record<Metric, number>>
  /** Derived metrics computed for this device (profile's and device's own). */
  readonly derive: readonly DerivedMetric[]
  readonly ruleOverrides: Readonly<Record<string, RuleOverride>>
  /** False for an unknown device accepted with the default profile. */
  readonly known: boolean
}

export interface DeviceDirectoryOptions {
  readonly devices: readonly DeviceConfig[]
  readonly profiles: ReadonlyMap<string, DeviceProfile>
  readonly unknownDevices: UnknownDevicePolicy
}

export class DeviceDirectory {
  readonly #entries = new Map<string, DeviceEntry>()
  readonly #configured: DeviceEntry[] = []
  readonly #policy: UnknownDevicePolicy
  readonly #defaultProfile: DeviceProfile | undefined
  /** Live unknown devices: id -> when last heard of (receive time, ms). */
  readonly #unknownSeen = new Map<string, number>()
  readonly #forgetListeners: ((id: string) => void)[] = []
  #derives = false

  constructor(opts: DeviceDirectoryOptions) {
    this.#policy = opts.unknownDevices
    this.#defaultProfile = opts.profiles.get(opts.unknownDevices.profile)
    if (opts.unknownDevices.policy === 'accept' && this.#defaultProfile === undefined) {
      throw ERR.GATEWAY_UNKNOWN_PROFILE('unknownDevices.profile', opts.unknownDevices.profile)
    }
    for (const d of opts.devices) {
      const profile = opts.profiles.get(d.profile)
      if (profile === undefined) throw ERR.GATEWAY_UNKNOWN_PROFILE(`device ${d.id}`, d.profile)
      const entry: DeviceEntry = {
        id: d.id,
        name: d.name ?? d.id,
        location: d.location,
        profile,
        calibration: d.calibration,
        derive: [...new Set([...profile.derive, ...(d.derive ?? [])])],
        ruleOverrides: d.rules,
        known: true,
      }
      this.#entries.set(d.id, entry)
      this.#configured.push(entry)
      if (entry.derive.length > 0) this.#derives = true
    }
    if ((this.#defaultProfile?.derive.length ?? 0) > 0) this.#derives = true
  }

  /**
   * False when no device can have derived metrics (none configured with them, and the
   * unknown devices' profile has none): the classifier then skips looking for them.
   */
  get derives(): boolean {
    return this.#derives
  }

  /** The configured devices, in config order. */
  get configured(): readonly DeviceEntry[] {
    return this.#configured
  }

  /** Unknown devices currently accepted (those not yet forgotten). */
  get unknownCount(): number {
    return this.#unknownSeen.size
  }

  /**
   * The device, or undefined when it is unknown and the policy refuses it. `seenAt`
   * (a message's receive time) keeps an unknown device live; lookups without it (alert
   * seeds, derived metrics) do not.
   */
  resolve(id: string, seenAt?: number): DeviceEntry | undefined {
    const hit = this.#entries.get(id)
    if (hit !== undefined) {
      if (!hit.known && seenAt !== undefined) this.#seen(id, seenAt)
      return hit
    }
    if (this.#unknownSeen.size >= this.#policy.max) return undefined
    return this.#accept(id, seenAt ?? Date.now())
  }

  /**
   * Takes in an unknown device known from before (a stored alert at start, the previous
   * config at a reload) as last heard of at `lastSeen`, even past `max`: it is forgotten
   * in time like any other, and its alerts cleared then.
   */
  adopt(id: string, lastSeen: number): DeviceEntry | undefined {
    return this.#entries.get(id) ?? this.#accept(id, lastSeen)
  }

  /** True for a device the config lists. */
  isConfigured(id: string): boolean {
    return this.#entries.get(id)?.known === true
  }

  /**
   * The entry an unknown device has or would get under the current policy, without
   * accepting it (no slot of `max` taken, no silence restarted); undefined when the policy
   * refuses unknown devices or `id` is configured.
   */
  describeUnknown(id: string): DeviceEntry | undefined {
    const hit = this.#entries.get(id)
    if (hit !== undefined) return hit.known ? undefined : hit
    const profile = this.#defaultProfile
    if (this.#policy.policy !== 'accept' || profile === undefined) return undefined
    return unknownEntry(id, profile)
  }

  /** When a live unknown device was last heard of, undefined if it is not one. */
  unknownSeenAt(id: string): number | undefined {
    return this.#unknownSeen.get(id)
  }

  /** The live unknown devices and when each was last heard of (for a reload). */
  unknownDevices(): IterableIterator<[string, number]> {
    return this.#unknownSeen.entries()
  }

  /** Calls `listener` with each unknown device forgotten (parts that keep per-device state). */
  onForget(listener: (id: string) => void): void {
    this.#forgetListeners.push(listener)
  }

  /** Forgets the unknown devices silent for `forgetAfterSeconds` at `now`; returns them. */
  forgetSilent(now: number): string[] {
    const limit = now - this.#policy.forgetAfterSeconds * 1000
    const gone: string[] = []
    for (const [id, seen] of this.#unknownSeen) if (seen <= limit) gone.push(id)
    for (const id of gone) {
      this.#unknownSeen.delete(id)
      this.#entries.delete(id)
      for (const l of this.#forgetListeners) l(id)
    }
    return gone
  }

  #seen(id: string, at: number): void {
    if (at > (this.#unknownSeen.get(id) ?? Number.NEGATIVE_INFINITY)) this.#unknownSeen.set(id, at)
  }

  #accept(id: string, seenAt: number): DeviceEntry | undefined {
    const profile = this.#defaultProfile
    if (this.#policy.policy !== 'accept' || profile === undefined) return undefined
    this.#unknownSeen.set(id, seenAt)
    const entry = unknownEntry(id, profile)
    this.#entries.set(id, entry)
    return entry
  }

  /** Why `id` was refused, for the dead letter's detail. */
  refusal(id: string): string {
    if (this.#policy.policy === 'accept') {
      return `device "${id}" is not configured and ${this.#policy.max} unknown devices are already accepted (each is forgotten after ${this.#policy.forgetAfterSeconds} s of silence; raise unknownDevices.max or configure the device)`
    }
    return `device "${id}" is not configured (unknownDevices.policy is dead-letter)`
  }
}

function unknownEntry(id: string, profile: DeviceProfile): DeviceEntry {
  return {
    id,
    name: id,
    location: undefined,
    profile,
    calibration: {},
    derive: profile.derive,
    ruleOverrides: {},
    known: false,
  }
}
