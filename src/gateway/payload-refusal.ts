/**
 * Dead letters for payloads refused before any reading was found, and the one-line
 * renderings of bad values used in their details.
 */
import type { DeadLetterReason } from './reading.js'
import type { ParsedMessage } from './reading-parser.js'

const DETAIL_VALUE_CHARS = 40

/** Why a payload is not a JSON object. */
export class JsonRefusal {
  constructor(
    readonly reason: 'not-json' | 'not-an-object',
    readonly detail: string,
  ) {}
}

/** The payload as a JSON object, or why not. */
export function parseJsonObject(payload: Buffer): Record<string, unknown> | JsonRefusal {
  let obj: unknown
  try {
    obj = JSON.parse(payload.toString('utf8'))
  } catch (err) {
    const why = err instanceof Error ? err.message : String(err)
    return new JsonRefusal('not-json', `not JSON: ${clip(why, 80)}`)
  }
  if (obj === null || typeof obj !== 'object' || Array.isArray(obj)) {
    return new JsonRefusal('not-an-object', `expected a JSON object, got ${kindOf(obj)}`)
  }
  return obj as Record<string, unknown>
}

export function refuseJson(
  why: JsonRefusal,
  topic: string,
  payload: Buffer,
  device: string | undefined,
  receivedAt: number,
  prefix = '',
): ParsedMessage {
  return refuse(topic, payload, device, receivedAt, why.reason, prefix + why.detail)
}

export function refuse(
  topic: string,
  payload: Buffer,
  device: string | undefined,
  receivedAt: number,
  reason: DeadLetterReason,
  detail: string,
): ParsedMessage {
  return {
    device,
    readings: [],
    deadLetters: [{ topic, payload, reason, detail, device, receivedAt }],
  }
}

export function kindOf(v: unknown): string {
  if (v === null) return 'null'
  if (Array.isArray(v)) return 'a JSON array'
  if (typeof v === 'string') return `a string ${describe(v)}`
  return `a ${typeof v}`
}

export function describe(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(clip(v))
  if (v === null) return 'null'
  if (Array.isArray(v)) return 'an array'
  if (typeof v === 'object') return 'an object'
  return clip(String(v))
}

export function clip(s: string, max = DETAIL_VALUE_CHARS): string {
  return s.length <= max ? s : `${s.slice(0, max)}…`
}
