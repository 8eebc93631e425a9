/**
 * MQTT topic names and filters (MQTT 3.1.1 section 4.7). Filters come from the config
 * (sensor patterns, ACLs), so they are validated once and matched many times.
 */

/** True when `filter` is a valid MQTT topic filter. */
export function isValidFilter(filter: string): boolean {
  if (filter.length === 0 || filter.includes('\u0000')) return false
  const levels = filter.split('/')
  for (let i = 0; i < levels.length; i++) {
    const level = levels[i]!
    // [MQTT-4.7.1-2] '#' alone, last; [MQTT-4.7.1-3] '+' fills a whole level
    if (level.includes('#') && (level !== '#' || i !== levels.length - 1)) return false
    if (level.includes('+') && level !== '+') return false
  }
  return true
}

/**
 * True when the topic name `topic` matches `filter` (a valid filter). Runs for every
 * PUBLISH (ACL and sensor topics), so it walks both strings in place instead of
 * splitting them into arrays.
 */
export function matchTopic(filter: string, topic: string): boolean {
  // [MQTT-4.7.2-1] wildcards at the first level do not match topics starting with '$'
  if (
    topic.charCodeAt(0) === DOLLAR &&
    (filter.charCodeAt(0) === PLUS || filter.charCodeAt(0) === HASH)
  )
    return false
  const fl = filter.length
  const tl = topic.length
  let f = 0
  let t = 0
  for (;;) {
    // f and t are at the start of a level
    const c = filter.charCodeAt(f)
    if (c === HASH && f + 1 === fl) return true
    if (c === PLUS && (f + 1 === fl || filter.charCodeAt(f + 1) === SLASH)) {
      f++
      while (t < tl && topic.charCodeAt(t) !== SLASH) t++
    } else {
      while (f < fl && t < tl) {
        const fc = filter.charCodeAt(f)
        if (fc === SLASH || fc !== topic.charCodeAt(t)) break
        f++
        t++
      }
      if (f < fl && filter.charCodeAt(f) !== SLASH) return false
      if (t < tl && topic.charCodeAt(t) !== SLASH) return false
    }
    // both at a '/' or at their end
    if (f === fl) return t === tl
    if (t === tl) {
      // `sport/#` also matches `sport` [MQTT-4.7.1-2]
      return f + 2 === fl && filter.charCodeAt(f + 1) === HASH
    }
    f++
    t++
  }
}

const SLASH = 47
const PLUS = 43
const HASH = 35
const DOLLAR = 36

/**
 * True when every topic that `requested` can match is also matched by `allowed`: an ACL
 * entry `floxgate/alerts/#` covers a subscription to `floxgate/alerts/+/temperature`,
 * but `+/alerts/#` is not covered by `floxgate/alerts/#`.
 */
export function filterCovers(allowed: string, requested: string): boolean {
  // same rule as matching: a leading wildcard never grants `$SYS/...`
  if (requested.startsWith('$') && (allowed.startsWith('+') || allowed.startsWith('#'))) {
    return false
  }
  const a = allowed.split('/')
  const r = requested.split('/')
  for (let i = 0; i < a.length; i++) {
    const level = a[i]!
    if (level === '#') return true
    if (i >= r.length) return false
    const req = r[i]!
    if (req === '#') return false
    if (level === '+') continue
    if (req === '+' || req !== level) return false
  }
  return a.length === r.length
}
