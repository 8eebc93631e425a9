/**
 * What travels through the gateway's workflow. One object per sensor message is enriched
 * node by node (parsed readings, dead letters, alert transitions, closed windows) and
 * ends at the store node, which acknowledges the message once all of it is durable.
 */
import type { SensorMessage } from '../broker/intake.js'
import type { TimerTick } from '../engine/event/timer-source.js'
import type { DeviceEntry } from '../gateway/device-directory.js'
import type { Aggregate, AlertEvent, DeadLetter, Reading } from '../gateway/reading.js'
import type { Delivery } from '../gateway/reading-identity.js'

export interface TelemetryEvent {
  readonly kind: 'telemetry'
  readonly message: SensorMessage
  device: string | undefined
  /** The device's directory entry when the parser found one device for all readings. */
  entry: DeviceEntry | undefined
  /** The device's profile id (the `device_class` metric label). */
  deviceClass: string | undefined
  // The lists are replaced, never pushed into: most stay empty, and share NONE (frozen),
  // so a message allocates only the lists it fills (bench:pipeline counts the bytes).
  readings: readonly Reading[]
  /** Readings of this message already stored (a redelivery): acknowledged, not counted. */
  duplicates: number
  /** Stored after the message's rows, so a redelivery of it is recognised. */
  delivery: Delivery | undefined
  deadLetters: readonly DeadLetter[]
  alerts: readonly AlertEvent[]
  aggregates: readonly Aggregate[]
}

/** A timer tick turned into housekeeping output: stale alerts and windows due to close. */
export interface HousekeepingEvent {
  readonly kind: 'housekeeping'
  readonly at: number
  /** The system clock cannot be trusted: no stale check, window close or age retention. */
  readonly clockHeld: boolean
  alerts: readonly AlertEvent[]
  /** Unknown devices forgotten at this tick (silent past unknownDevices.forgetAfterSeconds). */
  readonly forgotten: readonly string[]
  aggregates: readonly Aggregate[]
}

export type GatewayEvent = TelemetryEvent | HousekeepingEvent | TimerTick

/**
 * The gateway's actions. `readings`: the message holds valid readings; `invalid`: only
 * dead letters; `duplicate`: only readings already stored; `alert`: transitions to publish; `normal`: nothing to alert; `done`: end
 * of the path (no route).
 */
export type GatewayAction =
  | 'default'
  | 'error'
  | 'readings'
  | 'invalid'
  | 'duplicate'
  | 'alert'
  | 'normal'
  | 'done'
  | 'terminate'

/** The empty list every event starts with; frozen, so a push into it fails loudly. */
export const NONE: readonly never[] = Object.freeze([])

export function telemetryEvent(message: SensorMessage): TelemetryEvent {
  return {
    kind: 'telemetry',
    message,
    device: undefined,
    entry: undefined,
    deviceClass: undefined,
    readings: NONE,
    duplicates: 0,
    delivery: undefined,
    deadLetters: NONE,
    alerts: NONE,
    aggregates: NONE,
  }
}

/** `list` with `more` after it; `list` itself when there is nothing more. */
export function appended<T>(list: readonly T[], more: readonly T[]): readonly T[] {
  if (more.length === 0) return list
  if (list.length === 0) return more
  return [...list, ...more]
}
