/**
 * The HTTP request one notification becomes, per kind of sink. Built at delivery time
 * from the stored alert document and the sink's current config, so a reload that fixes a
 * URL or a token applies to notifications already waiting.
 */
import type { NotifySinkConfig } from './routing.js'

export interface SinkRequest {
  readonly url: string
  readonly headers: Readonly<Record<string, string>>
  readonly body: string
}

/** The fields of the alert document a notification text needs. */
interface AlertDoc {
  readonly gateway?: string
  readonly device?: string
  readonly metric?: string | null
  readonly rule?: string
  readonly severity?: string
  readonly state?: string
  readonly value?: number | null
  readonly threshold?: number | null
  readonly time?: string
  readonly reminder?: boolean
}

export function sinkRequest(sink: NotifySinkConfig, payload: string): SinkRequest {
  if (sink.webhook !== undefined) {
    // The webhook gets the alert document as published on MQTT, unchanged.
    return {
      url: sink.webhook.url,
      headers: { 'content-type': 'application/json', ...sink.webhook.headers },
      body: payload,
    }
  }
  const ntfy = sink.ntfy!
  const doc = JSON.parse(payload) as AlertDoc
  const headers: Record<string, string> = { 'content-type': 'application/json' }
  if (ntfy.token !== undefined) headers.authorization = `Bearer ${ntfy.token}`
  // ntfy's JSON publishing: POST to the server's root with the topic in the body.
  return {
    url: ntfy.url.replace(/\/+$/, '/'),
    headers,
    body: JSON.stringify({
      topic: ntfy.topic,
      title: ntfyTitle(doc),
      message: ntfyMessage(doc),
      priority: ntfyPriority(doc),
      tags: ntfyTags(doc),
    }),
  }
}

function ntfyTitle(d: AlertDoc): string {
  const what = d.state === 'cleared' ? 'cleared' : d.reminder === true ? 'still raised' : d.severity
  return `${d.device ?? '?'}: ${d.rule ?? '?'} ${what}`
}

function ntfyMessage(d: AlertDoc): string {
  const metric = d.metric ?? 'reading'
  const value = d.value === null || d.value === undefined ? 'no reading' : `${metric} ${d.value}`
  const threshold =
    d.threshold === null || d.threshold === undefined ? '' : ` (threshold ${d.threshold})`
  const at = d.time === undefined ? '' : ` at ${d.time}`
  const verb = d.state === 'cleared' ? 'back to normal' : 'alert'
  return `${verb}: ${value}${threshold}${at}, gateway ${d.gateway ?? '?'}`
}

/** ntfy priorities 1..5: critical = 5 (max), warning = 4 (high), a clear = 3 (default). */
function ntfyPriority(d: AlertDoc): number {
  if (d.state === 'cleared') return 3
  return d.severity === 'critical' ? 5 : 4
}

/** Emoji short codes ntfy shows before the title, then plain tags to filter on. */
function ntfyTags(d: AlertDoc): string[] {
  const emoji =
    d.state === 'cleared'
      ? 'white_check_mark'
      : d.severity === 'critical'
        ? 'rotating_light'
        : 'warning'
  const tags = [emoji, `floxgate`]
  if (d.device !== undefined) tags.push(d.device)
  if (d.rule !== undefined) tags.push(d.rule)
  return tags
}
