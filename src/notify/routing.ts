/**
 * Which sinks an alert transition goes to: a rule's `notify:` list, or every sink when
 * the rule has none (an owner who adds one sink expects every alert on it).
 */
import type { Config } from '../config/load.js'
import type { AlertEvent } from '../gateway/reading.js'
import { alertPayload } from '../nodes/output.js'
import type { NotificationEntry } from '../store/types.js'

export type NotifySinkConfig = Config['notify'][number]

export interface NotifyRule {
  readonly id: string
  readonly notify?: readonly string[] | undefined
  readonly repeatMinutes?: number | undefined
}

export class NotifyRouting {
  private readonly byRule = new Map<string, readonly string[]>()
  private readonly all: readonly string[]
  readonly sinks: ReadonlyMap<string, NotifySinkConfig>
  /** Reminder period per rule id, ms; only rules with `repeatMinutes`. */
  readonly repeatMs: ReadonlyMap<string, number>

  constructor(sinks: readonly NotifySinkConfig[], rules: readonly NotifyRule[]) {
    this.sinks = new Map(sinks.map((s) => [s.id, s]))
    this.all = sinks.map((s) => s.id)
    const repeat = new Map<string, number>()
    for (const r of rules) {
      if (r.notify !== undefined) this.byRule.set(r.id, r.notify)
      if (r.repeatMinutes !== undefined) repeat.set(r.id, r.repeatMinutes * 60_000)
    }
    this.repeatMs = repeat
  }

  sinksFor(rule: string): readonly string[] {
    return this.byRule.get(rule) ?? this.all
  }

  /** The outbox rows for one transition; undefined when no sink wants it. */
  entriesFor(a: AlertEvent, extra?: Record<string, unknown>): NotificationEntry[] | undefined {
    const sinks = this.sinksFor(a.rule)
    if (sinks.length === 0) return undefined
    const doc = alertPayload(a)
    const payload = extra === undefined ? doc : JSON.stringify({ ...JSON.parse(doc), ...extra })
    return sinks.map((sink) => ({ sink, payload }))
  }
}
