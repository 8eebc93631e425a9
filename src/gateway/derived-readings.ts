/**
 * Adds derived readings (dew point, spread, absolute humidity) for devices that opt in
 * (profile or device `derive:`). Temperature and humidity often arrive in separate
 * messages (Shelly Gen1, ESPHome: one topic per metric), so each device's latest valid
 * value of both is kept and paired when they are at most PAIR_MS apart; a message with
 * both pairs them at once. One small record per opted-in device: bounded by the device
 * directory's own limit.
 */
import { derive, magnusApplies } from './derived.js'
import type { DeviceEntry } from './device-directory.js'
import type { Reading } from './reading.js'

/** Temperature and humidity further apart than this are not paired. */
export const PAIR_MS = 10 * 60_000

interface Latest {
  t: number
  tTs: number
  h: number
  hTs: number
}

export class DerivedReadings {
  readonly #latest = new Map<string, Latest>()

  /** A reload: the latest values of `prev` go on pairing (copied, not shared). */
  carryFrom(prev: DerivedReadings): void {
    for (const [id, l] of prev.#latest) this.#latest.set(id, { ...l })
  }

  /** Drops what is kept of a device that was forgotten (an unknown device gone silent). */
  forget(device: string): void {
    this.#latest.delete(device)
  }

  /**
   * The derived readings for one message's valid readings of `entry` (empty when the
   * device derives nothing or lacks a recent partner value).
   */
  add(entry: DeviceEntry, readings: readonly Reading[]): Reading[] {
    if (entry.derive.length === 0) return []
    let latest = this.#latest.get(entry.id)
    let newest: Reading | undefined
    for (const r of readings) {
      if (r.device !== entry.id || (r.metric !== 'temperature' && r.metric !== 'humidity')) continue
      latest ??= { t: Number.NaN, tTs: Number.NaN, h: Number.NaN, hTs: Number.NaN }
      if (r.metric === 'temperature') {
        latest.t = r.value
        latest.tTs = r.ts
      } else {
        latest.h = r.value
        latest.hTs = r.ts
      }
      newest = r
    }
    if (newest === undefined || latest === undefined) return []
    this.#latest.set(entry.id, latest)
    if (!(Math.abs(latest.tTs - latest.hTs) <= PAIR_MS)) return []
    if (!magnusApplies(latest.t, latest.h)) return []
    return entry.derive.map((metric) => ({
      device: entry.id,
      metric,
      value: derive(metric, latest.t, latest.h),
      ts: newest.ts,
      receivedAt: newest.receivedAt,
      tsFromReceive: newest.tsFromReceive,
    }))
  }
}
