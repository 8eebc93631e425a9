import { filterCovers, matchTopic } from './topic-filter.js'

/**
 * What a client may do. Patterns are MQTT topic filters in which `{username}` and
 * `{clientid}` stand for the client's own values, e.g. `sensors/{username}/#` lets a
 * device publish only under its own topics.
 */
export interface Acl {
  readonly publish: readonly string[]
  readonly subscribe: readonly string[]
  /** Topics refused for publishing even when `publish` covers them (the gateway's outputs). */
  readonly publishDeny?: readonly string[]
}

export interface AclSubject {
  readonly username: string | undefined
  readonly clientId: string
}

export const DENY_ALL: Acl = { publish: [], subscribe: [] }

/**
 * Fills `{username}` / `{clientid}` in. A value that would change the pattern's shape
 * (it holds '/', '+', '#' or is empty) or is missing makes the entry grant nothing.
 */
export function expandPattern(pattern: string, who: AclSubject): string | undefined {
  let ok = true
  const out = pattern.replace(/\{(username|clientid)\}/g, (_m, key: string) => {
    const value = key === 'username' ? who.username : who.clientId
    if (value === undefined || value === '' || /[/+#]/.test(value) || value.includes('\u0000'))
      ok = false
    return value ?? ''
  })
  return ok ? out : undefined
}

export function mayPublish(acl: Acl, who: AclSubject, topic: string): boolean {
  if (acl.publishDeny?.some((f) => matchTopic(f, topic))) return false
  for (const p of acl.publish) {
    // Most entries have no placeholder: skip the regex on this per-PUBLISH path.
    const filter = p.includes('{') ? expandPattern(p, who) : p
    if (filter !== undefined && matchTopic(filter, topic)) return true
  }
  return false
}

export function maySubscribe(acl: Acl, who: AclSubject, filter: string): boolean {
  for (const p of acl.subscribe) {
    const allowed = expandPattern(p, who)
    if (allowed !== undefined && filterCovers(allowed, filter)) return true
  }
  return false
}
