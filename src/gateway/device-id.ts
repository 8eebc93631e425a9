import { clip } from './payload-refusal.js'

/** Longest device id accepted (docs/security.md); a longer one is dead-lettered `bad-device-id`. */
export const MAX_DEVICE_ID_CHARS = 64
// C0/C1 control characters: an id is shown in logs, CSV exports and status output.
// biome-ignore lint/suspicious/noControlCharactersInRegex: that is the point
const CONTROL_CHARS = /[\u0000-\u001f\u007f-\u009f]/

/**
 * Why a device id from a topic or payload is refused, or undefined. Ids key maps, rows
 * and log lines: an unbounded one would let a client fill memory with a few messages.
 */
export function deviceIdProblem(id: string): string | undefined {
  if (id.length > MAX_DEVICE_ID_CHARS) {
    return `device id of ${id.length} characters is longer than ${MAX_DEVICE_ID_CHARS}: "${clip(id)}"`
  }
  if (CONTROL_CHARS.test(id)) return `device id "${clip(id)}" contains control characters`
  return undefined
}
