import { timingSafeEqual } from 'node:crypto'
import type { IncomingMessage } from 'node:http'

export const COOKIE = 'floxgate_token'

/** True when no token is configured, or the request carries it (bearer or cookie). */
export function authorized(req: IncomingMessage, token: string | undefined): boolean {
  if (token === undefined) return true
  const auth = req.headers.authorization
  if (auth?.startsWith('Bearer ') && same(auth.slice(7), token)) return true
  const cookie = req.headers.cookie ?? ''
  for (const part of cookie.split(';')) {
    const [k, ...v] = part.trim().split('=')
    if (k === COOKIE && same(decoded(v.join('=')), token)) return true
  }
  return false
}

/** A cookie value as /login wrote it; a malformed one (anyone can send it) matches nothing. */
function decoded(value: string): string {
  try {
    return decodeURIComponent(value)
  } catch {
    return ''
  }
}

export function same(given: string, token: string): boolean {
  const a = Buffer.from(given)
  const b = Buffer.from(token)
  return a.length === b.length && timingSafeEqual(a, b)
}
