import { createHash } from 'node:crypto'

const VALID = /^[a-zA-Z0-9_-]+$/

/**
 * A Home Assistant object id: its discovery topics allow only `[a-zA-Z0-9_-]`. A valid id
 * is used as is; any other (floxgate allows `.` and `:`, unknown devices can send
 * anything) has each other character replaced by `_` and a 6-hex hash of the original
 * appended, so `a.b` and `a_b` stay two entities and an id keeps its object id across
 * restarts.
 */
export function haObjectId(raw: string): string {
  if (VALID.test(raw)) return raw
  const cleaned = raw.replace(/[^a-zA-Z0-9_-]/g, '_').slice(0, 64)
  const hash = createHash('sha256').update(raw).digest('hex').slice(0, 6)
  return `${cleaned}_${hash}`
}
