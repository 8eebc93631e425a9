import { clip } from './payload-refusal.js'

/** Longest device id accepted (docs/security.md); a longer one is dead-lettered `bad-device-id`. */
export const MAX_DEVICE_ID_CHARS = 64
// C0/C1 control characters: an id is shown in logs, CSV exports and status output.
// biome-ignore lint/suspicious/noControlCharactersInRegex: that is the point
const CONTROL_CHARS = /[\u0000-\u001f\u007f-\u009f]/
// ...and MQTT's wildcards: an id is a level of the topics floxgate publishes (alerts,
// aggregates, Home Assistant states), where "+" and "#" are not allowed [MQTT-3.3.2-2].
// One test for both keeps the common case (a good id) to a single regex.
// biome-ignore lint/suspicious/noControlCharactersInRegex: that is the point
const REFUSED_CHARS = /[\u0000-\u001f\u007f-\u009f+#]/

/**
 * Why a device id from a topic or payload is refused, or undefined. Ids key maps, rows
 * and log lines: an unbounded one would let a client fill memory with a few messages.
 */
export function deviceIdProblem(id: string): string | undefined {
  if (id.length > MAX_DEVICE_ID_CHARS) {
    return `device id of ${id.length} characters is longer than ${MAX_DEVICE_ID_CHARS}: "${clip(id)}"`
  }
  if (!REFUSED_CHARS.test(id)) return undefined
  if (CONTROL_CHARS.test(id)) return `device id "${clip(id)}" contains control characters`
  return `device id "${clip(id)}" contains the MQTT wildcard "${id.includes('#') ? '#' : '+'}", which no topic floxgate publishes under (alerts, aggregates, Home Assistant) may hold`
}
