/**
 * Alert rules as configured, and their resolution for one device (rule filters and the
 * device's overrides applied). Exactly one of `high`, `low`, `ratePerMinute` or
 * `staleSeconds` says what a rule watches.
 */
import type { Metric, RuleKind, Severity } from './reading.js'

export interface RuleConfig {
  readonly id: string
  /** Required for high/low/rate; for stale, omit it to watch any reading of the device. */
  readonly metric?: Metric | undefined
  readonly high?: number | undefined
  readonly low?: number | undefined
  readonly ratePerMinute?: number | undefined
  readonly staleSeconds?: number | undefined
  /** A raised high/low/rate alert clears only past threshold ∓ hysteresis. */
  readonly hysteresis: number
  /** The condition must hold this long (reading time) before raising. */
  readonly forSeconds: number
  /** ...and for at least this many consecutive readings. */
  readonly count: number
  readonly severity: Severity
  /** Rate rules: the span over which the rate is measured. */
  readonly windowSeconds: number
  /** Only these device ids (all when omitted). */
  readonly devices?: readonly string[] | undefined
  /** Only devices of these profiles (all when omitted). */
  readonly profiles?: readonly string[] | undefined
}

/** A device's change to one rule; `enabled: false` turns the rule off for that device. */
export interface RuleOverride {
  readonly enabled?: boolean | undefined
  readonly high?: number | undefined
  readonly low?: number | undefined
  readonly ratePerMinute?: number | undefined
  readonly staleSeconds?: number | undefined
  readonly hysteresis?: number | undefined
  readonly forSeconds?: number | undefined
  readonly count?: number | undefined
  readonly severity?: Severity | undefined
}

/** One rule as it applies to one device. */
export interface ResolvedRule {
  readonly id: string
  readonly kind: RuleKind
  readonly metric: Metric | undefined
  readonly threshold: number
  readonly hysteresis: number
  readonly forMs: number
  readonly count: number
  readonly severity: Severity
  readonly windowMs: number
}

export function ruleKind(rule: Pick<RuleConfig, 'high' | 'low' | 'ratePerMinute'>): RuleKind {
  if (rule.high !== undefined) return 'high'
  if (rule.low !== undefined) return 'low'
  if (rule.ratePerMinute !== undefined) return 'rate'
  return 'stale'
}

const KIND_KEY = {
  high: 'high',
  low: 'low',
  rate: 'ratePerMinute',
  stale: 'staleSeconds',
} as const satisfies Record<RuleKind, keyof RuleConfig>

/**
 * The rules that apply to a device, with its overrides merged in. Unknown override ids
 * are ignored here (the config loader refuses them).
 */
export function resolveRules(
  rules: readonly RuleConfig[],
  device: { readonly id: string; readonly profileId: string },
  overrides: Readonly<Record<string, RuleOverride>> = {},
): ResolvedRule[] {
  const out: ResolvedRule[] = []
  for (const rule of rules) {
    if (rule.devices !== undefined && !rule.devices.includes(device.id)) continue
    if (rule.profiles !== undefined && !rule.profiles.includes(device.profileId)) continue
    const o = overrides[rule.id]
    if (o?.enabled === false) continue
    const kind = ruleKind(rule)
    const key = KIND_KEY[kind]
    const threshold = o?.[key] ?? rule[key] ?? 0
    out.push({
      id: rule.id,
      kind,
      metric: rule.metric,
      threshold: kind === 'stale' ? threshold * 1000 : threshold,
      hysteresis: o?.hysteresis ?? rule.hysteresis,
      forMs: (o?.forSeconds ?? rule.forSeconds) * 1000,
      count: o?.count ?? rule.count,
      severity: o?.severity ?? rule.severity,
      windowMs: rule.windowSeconds * 1000,
    })
  }
  return out
}
