import { exponentialBackoff } from '../engine/backoff.js'
import { delay } from '../engine/delay.js'
import type { Log } from '../ops/log.js'
import type { RateLimitedLog } from '../ops/rate-limited-log.js'
import type { ActiveAlert, NotificationQueue } from '../store/index.js'
import type { NotifyMetrics } from './notify-metrics.js'
import type { NotifyRouting, NotifySinkConfig } from './routing.js'
import { sinkRequest } from './sink-request.js'

export interface NotifierOptions {
  readonly routing: NotifyRouting
  readonly logger: Log
  /** Rate-limited warnings (one line per kind per interval, with the suppressed count). */
  readonly rateLimited: RateLimitedLog
  readonly metrics: NotifyMetrics
  /** How often reminders (`repeatMinutes`) are checked and the table polled; default 30 s
   * or half the shortest repeat period. */
  readonly pollMs?: number
  readonly now?: () => number
  /** False while the system clock cannot be trusted: reminders wait (src/ops/clock-sanity.ts). */
  readonly clockSane?: () => boolean
}

/** What the notifier needs of the store: its queue, and the alerts raised (for reminders). */
export interface NotifierStore {
  readonly notifications: NotificationQueue
  activeAlerts(): ActiveAlert[]
}

type Outcome =
  | { readonly ok: true }
  | {
      readonly ok: false
      readonly retry: boolean
      readonly reason: string
      readonly detail: string
    }

/**
 * Delivers alert notifications from the `notifications` table, which the store fills in
 * the same transaction as each alert event. One worker per sink sends that sink's rows
 * one at a time, oldest first, and deletes a row once the sink answered 2xx, so a
 * notification raised while the network is down goes out when it returns, in order.
 * Connection errors, timeouts, 5xx, 408 and 429 are retried with capped exponential
 * backoff (the attempt count is stored, so a restart does not reset it); any other 4xx
 * means the request itself is wrong: the row is marked refused, logged and skipped.
 *
 * A crash between the sink's answer and the DELETE sends that one notification again
 * on restart: delivery is at least once, exactly once whenever the process survives.
 */
export class Notifier {
  private readonly queue: NotificationQueue
  private readonly abort = new AbortController()
  private readonly workers = new Map<string, Promise<void>>()
  private readonly wakers = new Set<() => void>()
  /** Reminders already sent per active alert: the number of repeat periods since raised. */
  private readonly reminded = new Map<string, number>()
  private reminderTimer: NodeJS.Timeout | undefined
  private opts: NotifierOptions
  private readonly now: () => number

  constructor(
    private readonly store: NotifierStore,
    opts: NotifierOptions,
  ) {
    this.opts = opts
    this.now = opts.now ?? Date.now
    this.queue = store.notifications
    opts.metrics.setPending(() => this.pending())
  }

  start(): void {
    for (const id of this.opts.routing.sinks.keys()) this.ensureWorker(id)
    // Checked at least twice per shortest repeat period, so reminders are not late by more.
    const shortest = Math.min(...this.opts.routing.repeatMs.values())
    const poll = this.opts.pollMs ?? Math.max(100, Math.min(30_000, shortest / 2))
    this.reminderTimer = setInterval(() => {
      this.remind()
      this.wake()
    }, poll)
    this.reminderTimer.unref()
    this.remind()
  }

  /** New rows were committed: workers waiting for work look again. */
  wake(): void {
    const waiting = [...this.wakers]
    this.wakers.clear()
    for (const w of waiting) w()
  }

  /** A reload: new sinks and rules. Rows of a sink no longer configured wait for its return. */
  replace(routing: NotifyRouting): void {
    this.opts = { ...this.opts, routing }
    for (const id of routing.sinks.keys()) this.ensureWorker(id)
    this.wake()
  }

  pending(): number {
    return this.queue.pending()
  }

  /** Stops the workers; an attempt in flight is aborted and its row stays for the next start. */
  async stop(): Promise<void> {
    if (this.reminderTimer !== undefined) clearInterval(this.reminderTimer)
    this.abort.abort()
    this.wake()
    await Promise.all(this.workers.values())
  }

  private ensureWorker(sink: string): void {
    if (this.workers.has(sink) || this.abort.signal.aborted) return
    this.workers.set(
      sink,
      this.work(sink).catch((err: unknown) => {
        if (this.abort.signal.aborted) return
        this.opts.logger.error(
          { sink, err: String(err) },
          `notification sink "${sink}" stopped delivering after an unexpected error; restart floxgate to resume (the notifications are kept)`,
        )
      }),
    )
  }

  private async work(sinkId: string): Promise<void> {
    const signal = this.abort.signal
    while (!signal.aborted) {
      const sink = this.opts.routing.sinks.get(sinkId)
      const row = sink === undefined ? undefined : this.queue.head(sinkId)
      if (sink === undefined || row === undefined) {
        await new Promise<void>((resolve) => this.wakers.add(resolve))
        continue
      }
      const outcome = await deliver(sink, row.payload, signal)
      if (signal.aborted) return
      if (outcome.ok) {
        this.queue.delivered(row.id)
        this.opts.metrics.delivered(sinkId)
        if (row.attempts > 0) {
          this.opts.logger.info(
            { sink: sinkId, attempts: row.attempts + 1 },
            `notification sink "${sinkId}" reachable again; delivered a notification after ${row.attempts} failed attempts`,
          )
        }
        continue
      }
      this.opts.metrics.attemptFailed(sinkId, outcome.reason)
      if (!outcome.retry) {
        this.queue.refused(sinkId, row.id, outcome.detail, this.now())
        this.opts.metrics.refused(sinkId)
        // Rate-limited: a sink refusing everything (a revoked token) and a flapping sensor
        // would otherwise write a line per alert transition.
        this.opts.rateLimited.error(
          `notify:${sinkId}:refused`,
          { sink: sinkId, reason: outcome.reason, detail: outcome.detail },
          `notification sink "${sinkId}" refused a notification (${outcome.detail}); not retried, kept in the notifications table as refused. Check the sink's URL, topic and credentials in notify:`,
        )
        continue
      }
      this.queue.failed(row.id, outcome.detail)
      const retry = sink.retry
      const wait = exponentialBackoff(
        retry.initialSeconds * 1000,
        retry.maxSeconds * 1000,
      )(row.attempts + 1)
      this.opts.rateLimited.warn(
        `notify:${sinkId}:${outcome.reason}`,
        { sink: sinkId, reason: outcome.reason, detail: outcome.detail, retryInMs: wait },
        `could not deliver a notification to sink "${sinkId}" (${outcome.detail}); retrying with backoff, the notification is kept`,
      )
      try {
        await delay(wait, signal, 'notification retry')
      } catch {
        return
      }
    }
  }

  /** Queues a reminder for every active alert whose rule repeats and whose period is up. */
  private remind(): void {
    const { routing } = this.opts
    if (routing.repeatMs.size === 0 || this.abort.signal.aborted) return
    if (this.opts.clockSane?.() === false) return
    const now = this.now()
    const seen = new Set<string>()
    let queued = false
    for (const s of this.store.activeAlerts()) {
      const period = routing.repeatMs.get(s.rule)
      if (period === undefined) continue
      const key = `${s.device}\u0000${s.metric}\u0000${s.rule}`
      seen.add(key)
      const periods = Math.floor((now - s.since) / period)
      const sent = this.reminded.get(key)
      // First sight (a fresh raise, or a restart): count what is due as sent, so a
      // restart does not send a burst of reminders.
      if (sent === undefined || periods <= sent) {
        if (sent === undefined) this.reminded.set(key, periods)
        continue
      }
      this.reminded.set(key, periods)
      const entries = routing.entriesFor({ ...s, state: 'raised', ts: now }, { reminder: true })
      if (entries !== undefined) this.queue.add(entries, now)
      queued ||= entries !== undefined
    }
    for (const k of this.reminded.keys()) if (!seen.has(k)) this.reminded.delete(k)
    if (queued) this.wake()
  }
}

/** One HTTP attempt. Never throws: every failure is an outcome. */
async function deliver(
  sink: NotifySinkConfig,
  payload: string,
  stop: AbortSignal,
): Promise<Outcome> {
  let req: ReturnType<typeof sinkRequest>
  try {
    req = sinkRequest(sink, payload)
  } catch (err) {
    return { ok: false, retry: false, reason: 'bad-payload', detail: String(err) }
  }
  const timeout = AbortSignal.timeout(sink.timeoutSeconds * 1000)
  try {
    const res = await fetch(req.url, {
      method: 'POST',
      headers: req.headers,
      body: req.body,
      signal: AbortSignal.any([stop, timeout]),
      redirect: 'follow',
    })
    // The answer's body is not needed; cancelling frees the connection at once.
    await res.body?.cancel().catch(() => {})
    if (res.status >= 200 && res.status < 300) return { ok: true }
    const detail = `HTTP ${res.status} from ${req.url}`
    if (res.status === 408 || res.status === 429) {
      return { ok: false, retry: true, reason: `http-${res.status}`, detail }
    }
    if (res.status >= 500) return { ok: false, retry: true, reason: 'http-5xx', detail }
    return { ok: false, retry: false, reason: 'http-4xx', detail }
  } catch (err) {
    if (timeout.aborted) {
      return {
        ok: false,
        retry: true,
        reason: 'timeout',
        detail: `no answer from ${req.url} within ${sink.timeoutSeconds} s`,
      }
    }
    const cause = (err as { cause?: { code?: string; message?: string } }).cause
    return {
      ok: false,
      retry: true,
      reason: 'network',
      detail: `${req.url}: ${cause?.code ?? cause?.message ?? String(err)}`,
    }
  }
}
