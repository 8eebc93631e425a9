/**
 * Decides whether a parsed reading is valid: calibration applied first, then a finite
 * value within the device profile's physical range, and a timestamp within the allowed
 * skew. Valid readings go on to rules, store and aggregation; the rest become dead letters.
 */
import { DerivedReadings } from './derived-readings.js'
import type { DeviceDirectory, DeviceEntry } from './device-directory.js'
import type { DeadLetter, DeadLetterReason, Reading } from './reading.js'
import { unitLabel } from './units.js'

export interface TimestampLimits {
  /** A sensor timestamp more than this ahead of the receive time is refused. */
  readonly maxFutureSeconds: number
  /** A sensor timestamp more than this behind the receive time is refused. */
  readonly maxPastSeconds: number
}

export interface ClassifierOptions {
  readonly devices: DeviceDirectory
  readonly timestamps: TimestampLimits
  /**
   * False while the gateway's clock cannot be trusted: a sensor timestamp ahead of it is
   * then more likely right than the clock, so the future limit is not applied. The past
   * limit still is (the receive time is then a lower bound of the real time).
   */
  readonly clockSane?: () => boolean
}

export interface Refusal {
  readonly reason: DeadLetterReason
  readonly detail: string
}

export interface ClassifiedMessage {
  /** Valid, calibrated readings (the input list itself when all were valid as they were). */
  readonly readings: readonly Reading[]
  /** The parser's dead letters plus the readings refused here. */
  readonly deadLetters: readonly DeadLetter[]
}

/** What the parser made of a message (ParsedMessage, or the workflow's event). */
export interface ParsedReadings {
  readonly readings: readonly Reading[]
  readonly deadLetters: readonly DeadLetter[]
  /** The device's entry, when the parser looked it up for every reading. */
  readonly entry?: DeviceEntry | undefined
}

export class Classifier {
  readonly #devices: DeviceDirectory
  readonly #maxFutureMs: number
  readonly #maxPastMs: number
  readonly #derived = new DerivedReadings()
  readonly #clockSane: () => boolean

  constructor(opts: ClassifierOptions) {
    this.#devices = opts.devices
    this.#devices.onForget((id) => this.#derived.forget(id))
    this.#maxFutureMs = opts.timestamps.maxFutureSeconds * 1000
    this.#maxPastMs = opts.timestamps.maxPastSeconds * 1000
    this.#clockSane = opts.clockSane ?? (() => true)
  }

  /**
   * A reload: takes over the state kept per device (the latest temperature and humidity
   * waiting for their partner to derive from), so a pair split by the reload still pairs.
   */
  carryFrom(prev: Classifier): void {
    this.#derived.carryFrom(prev.#derived)
  }

  /**
   * The calibrated reading when valid, otherwise why not (a `Refusal` has `reason`).
   * `known`: the device's entry when the caller already looked it up (the parser did).
   */
  classify(reading: Reading, known?: DeviceEntry): Reading | Refusal {
    const entry =
      known !== undefined && known.id === reading.device
        ? known
        : this.#devices.resolve(reading.device, reading.receivedAt)
    if (entry === undefined) {
      return { reason: 'unknown-device', detail: this.#devices.refusal(reading.device) }
    }
    const spec = entry.profile.metrics[reading.metric]
    if (spec === undefined) {
      return {
        reason: 'unknown-metric',
        detail: `profile ${entry.profile.id} does not measure ${reading.metric}`,
      }
    }
    const offset = entry.calibration[reading.metric]
    const value = offset === undefined ? reading.value : reading.value + offset
    if (!Number.isFinite(value)) {
      return { reason: 'non-finite', detail: `${reading.metric}: ${value} is not a finite number` }
    }
    if (value < spec.min || value > spec.max) {
      const unit = spec.unit ?? unitLabel(reading.metric)
      return {
        reason: 'out-of-range',
        detail: `${reading.metric}: ${round(value)} is outside ${entry.profile.name}'s range ${spec.min}..${spec.max} ${unit}`,
      }
    }
    if (!reading.tsFromReceive) {
      const skew = reading.ts - reading.receivedAt
      if (skew > this.#maxFutureMs && this.#clockSane()) {
        return {
          reason: 'timestamp-future',
          detail: `timestamp ${iso(reading.ts)} is ${Math.round(skew / 1000)} s ahead of the gateway clock (limit ${this.#maxFutureMs / 1000} s)`,
        }
      }
      if (-skew > this.#maxPastMs) {
        return {
          reason: 'timestamp-past',
          detail: `timestamp ${iso(reading.ts)} is ${Math.round(-skew / 1000)} s old (limit ${this.#maxPastMs / 1000} s)`,
        }
      }
    }
    return value === reading.value ? reading : { ...reading, value }
  }

  /**
   * Classifies every reading of a parsed message, collecting all dead letters. Allocates
   * only when something changes (a refusal, a calibration, a derived metric): this runs
   * once per sensor message.
   */
  classifyMessage(msg: ParsedReadings, topic: string, payload: Buffer): ClassifiedMessage {
    const input = msg.readings
    // Stays the input list while every reading passes unchanged.
    let readings: Reading[] | undefined
    let deadLetters: DeadLetter[] | undefined
    for (let i = 0; i < input.length; i++) {
      const r = input[i] as Reading
      const out = this.classify(r, msg.entry)
      if (out === r) {
        readings?.push(r)
        continue
      }
      readings ??= input.slice(0, i)
      if ('reason' in out) {
        deadLetters ??= [...msg.deadLetters]
        deadLetters.push({
          topic,
          payload,
          reason: out.reason,
          detail: out.detail,
          device: r.device,
          receivedAt: r.receivedAt,
        })
      } else {
        readings.push(out)
      }
    }
    return this.#derive(readings ?? input, deadLetters ?? msg.deadLetters)
  }

  /** Derived metrics come from valid, calibrated values only, after the message's own. */
  #derive(readings: readonly Reading[], deadLetters: readonly DeadLetter[]): ClassifiedMessage {
    const first = readings[0]
    if (first === undefined || !this.#devices.derives) return { readings, deadLetters }
    let several = false
    for (const r of readings) if (r.device !== first.device) several = true
    const ids = several ? [...new Set(readings.map((r) => r.device))] : [first.device]
    let all: Reading[] | undefined
    for (const id of ids) {
      const entry = this.#devices.resolve(id)
      if (entry === undefined || entry.derive.length === 0) continue
      all ??= [...readings]
      all.push(...this.#derived.add(entry, all))
    }
    return { readings: all ?? readings, deadLetters }
  }
}

function round(v: number): string {
  return Math.abs(v) >= 1e6 ? v.toExponential(3) : String(Math.round(v * 1000) / 1000)
}

function iso(ms: number): string {
  const d = new Date(ms)
  return Number.isNaN(d.getTime()) ? String(ms) : d.toISOString()
}
