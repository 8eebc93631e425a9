import type { ServerResponse } from 'node:http'
import type { AlertEvent, Reading } from '../gateway/reading.js'

/** Browsers connected at once; more are refused (each holds a socket and a buffer). */
const MAX_CLIENTS = 16
/** Readings are sent in batches this often: the page needs 2 s, not every message. */
const FLUSH_MS = 250
/** Readings per batch at most; past it only the newest per series is kept. */
const MAX_BATCH = 2000

/**
 * Server-sent events for the status page (`/events`): new readings in batches
 * (`event: readings`, `[[device, metric, ts, value], ...]`) and alert transitions
 * (`event: alert`). Nothing is buffered while no browser listens, so an unwatched page
 * costs nothing on the hot path.
 */
export class EventStream {
  private readonly clients = new Set<ServerResponse>()
  private batch: [string, string, number, number][] = []
  private timer: NodeJS.Timeout | undefined
  private readonly heartbeat: NodeJS.Timeout

  constructor() {
    // A comment line every 15 s keeps proxies and phones from dropping an idle stream.
    this.heartbeat = setInterval(() => this.write(': keep-alive\n\n'), 15_000)
    this.heartbeat.unref()
  }

  get size(): number {
    return this.clients.size
  }

  /** Takes over the response; false (and a 503) when too many browsers are connected. */
  attach(res: ServerResponse): boolean {
    if (this.clients.size >= MAX_CLIENTS) {
      res.writeHead(503, { 'Content-Type': 'text/plain', 'Retry-After': '10' })
      res.end(`at most ${MAX_CLIENTS} live pages at once\n`)
      return false
    }
    res.writeHead(200, {
      'Content-Type': 'text/event-stream',
      'Cache-Control': 'no-store',
      Connection: 'keep-alive',
      'X-Accel-Buffering': 'no',
    })
    res.write('retry: 2000\n\n')
    this.clients.add(res)
    res.on('close', () => this.clients.delete(res))
    return true
  }

  readingsStored(readings: readonly Reading[]): void {
    if (this.clients.size === 0) return
    for (const r of readings) this.batch.push([r.device, r.metric, r.ts, r.value])
    if (this.batch.length > MAX_BATCH) this.batch = newestPerSeries(this.batch)
    this.timer ??= setTimeout(() => this.flush(), FLUSH_MS)
  }

  alertStored(a: AlertEvent): void {
    if (this.clients.size === 0) return
    this.write(`event: alert\ndata: ${JSON.stringify({ ...a, metric: a.metric ?? null })}\n\n`)
  }

  close(): void {
    clearInterval(this.heartbeat)
    if (this.timer !== undefined) clearTimeout(this.timer)
    for (const c of this.clients) c.end()
    this.clients.clear()
  }

  private flush(): void {
    this.timer = undefined
    const batch = this.batch
    this.batch = []
    if (batch.length > 0) this.write(`event: readings\ndata: ${JSON.stringify(batch)}\n\n`)
  }

  private write(chunk: string): void {
    for (const c of this.clients) {
      // A browser that stopped reading: drop it rather than buffer without bound.
      if (c.writableLength > 1024 * 1024) c.destroy()
      else c.write(chunk)
    }
  }
}

function newestPerSeries(
  batch: [string, string, number, number][],
): [string, string, number, number][] {
  const last = new Map<string, [string, string, number, number]>()
  for (const b of batch) last.set(`${b[0]}\u0000${b[1]}`, b)
  return [...last.values()]
}
