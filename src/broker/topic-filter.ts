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

/** True when the topic name `topic` matches `filter`. */
export function matchTopic(filter: string, topic: string): boolean {
  // [MQTT-4.7.2-1] wildcards at the first level do not match topics starting with '$'
  if (topic.startsWith('$') && (filter.startsWith('+') || filter.startsWith('#'))) return false
  const f = filter.split('/')
  const t = topic.split('/')
  for (let i = 0; i < f.length; i++) {
    const level = f[i]!
    if (level === '#') return true
    if (i >= t.length) return false
    if (level !== '+' && level !== t[i]) return false
  }
  return f.length === t.length
}

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
