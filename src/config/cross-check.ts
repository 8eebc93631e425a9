/**
 * Checks across sections (references between devices, rules and profiles), run on the
 * raw value so they are reported together with schema problems even when those exist.
 */
import { httpCrossCheck } from './http-check.js'
import { notifyCrossCheck } from './notify-check.js'
import { closest, unknownKey } from './problems.js'
import { list, record } from './raw-tree.js'
import { uplinkCrossCheck } from './uplink-check.js'

type Found = { path: PropertyKey[]; message: string }

const KIND_KEYS = ['high', 'low', 'ratePerMinute', 'staleSeconds'] as const

function unknownName(what: string, name: string, known: readonly string[]): string {
  const guess = closest(name, known)
  return guess === undefined
    ? `unknown ${what} "${name}" (known: ${known.join(', ') || 'none'})`
    : `unknown ${what} "${name}", did you mean "${guess}"?`
}

export function crossCheck(
  raw: unknown,
  profileIds: readonly string[],
  metrics: readonly string[] = [],
): Found[] {
  const found: Found[] = []
  const root = record(raw) ?? {}
  const checkMetric = (path: PropertyKey[], m: unknown) => {
    if (typeof m === 'string' && metrics.length > 0 && !metrics.includes(m))
      found.push({
        path,
        message: `${unknownName('metric', m, metrics)}; declare it under metrics: or in a profile`,
      })
  }

  // One list of uplinks: the old one-uplink section is its one-element shorthand.
  if (root.uplink !== undefined && root.uplinks !== undefined) {
    found.push({
      path: ['uplinks'],
      message:
        'both uplink and uplinks are set: move the uplink section into uplinks as { id: default, ... }',
    })
  }

  // Rules: unique ids, known profiles in filters.
  const ruleKinds = new Map<string, string>()
  list(root.rules).forEach((r, i) => {
    const rule = record(r)
    if (rule === undefined || typeof rule.id !== 'string') return
    if (ruleKinds.has(rule.id))
      found.push({ path: ['rules', i, 'id'], message: `duplicate rule id "${rule.id}"` })
    const kind = KIND_KEYS.find((k) => rule[k] !== undefined)
    ruleKinds.set(rule.id, kind ?? '')
    checkMetric(['rules', i, 'metric'], rule.metric)
    list(rule.profiles).forEach((p, j) => {
      if (typeof p === 'string' && !profileIds.includes(p)) {
        found.push({
          path: ['rules', i, 'profiles', j],
          message: unknownName('profile', p, profileIds),
        })
      }
    })
  })

  // Devices: unique ids, known profile, overrides of existing rules of the same kind.
  const deviceIds = new Set<string>()
  list(root.devices).forEach((d, i) => {
    const dev = record(d)
    if (dev === undefined) return
    if (typeof dev.id === 'string') {
      if (deviceIds.has(dev.id))
        found.push({ path: ['devices', i, 'id'], message: `duplicate device id "${dev.id}"` })
      deviceIds.add(dev.id)
    }
    if (typeof dev.profile === 'string' && !profileIds.includes(dev.profile)) {
      found.push({
        path: ['devices', i, 'profile'],
        message: unknownName('profile', dev.profile, profileIds),
      })
    }
    for (const m of Object.keys(record(dev.calibration) ?? {}))
      checkMetric(['devices', i, 'calibration', m], m)
    const overrides = record(dev.rules) ?? {}
    for (const [ruleId, o] of Object.entries(overrides)) {
      const kind = ruleKinds.get(ruleId)
      if (kind === undefined) {
        found.push({
          path: ['devices', i, 'rules', ruleId],
          message: unknownKey(ruleId, [...ruleKinds.keys()]).replace('key', 'rule'),
        })
        continue
      }
      const ov = record(o) ?? {}
      for (const k of KIND_KEYS) {
        if (ov[k] !== undefined && k !== kind) {
          found.push({
            path: ['devices', i, 'rules', ruleId, k],
            message: `rule "${ruleId}" is a ${kind === '' ? 'rule without a threshold' : `${kind} rule`}: override ${kind || 'its own threshold'} instead`,
          })
        }
      }
    }
  })

  const unknown = record(root.unknownDevices)
  if (
    unknown !== undefined &&
    typeof unknown.profile === 'string' &&
    !profileIds.includes(unknown.profile)
  ) {
    found.push({
      path: ['unknownDevices', 'profile'],
      message: unknownName('profile', unknown.profile, profileIds),
    })
  } else if (unknown === undefined && !profileIds.includes('generic')) {
    found.push({
      path: ['unknownDevices', 'profile'],
      message: 'the default profile "generic" is missing from the profile folder',
    })
  }

  const broker = record(root.broker)
  if (broker?.mode === 'external' && record(broker.external)?.url === undefined) {
    found.push({
      path: ['broker', 'external', 'url'],
      message: 'is required when broker.mode is external',
    })
  }
  const users = list(record(broker?.embedded)?.users)
  const names = new Set<string>()
  users.forEach((u, i) => {
    const name = record(u)?.username
    if (typeof name !== 'string') return
    if (names.has(name))
      found.push({
        path: ['broker', 'embedded', 'users', i, 'username'],
        message: `duplicate user "${name}"`,
      })
    names.add(name)
  })
  found.push(...notifyCrossCheck(root))
  found.push(...httpCrossCheck(root))
  found.push(...uplinkCrossCheck(root))
  return found
}
