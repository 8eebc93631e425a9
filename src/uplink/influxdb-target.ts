import { request as httpRequest, type IncomingMessage } from 'node:http'
import { request as httpsRequest } from 'node:https'
import { gzip } from 'node:zlib'
import { ERR } from '../errors.js'
import type { OutboxRow } from '../store/outbox.js'
import { type DeviceTags, lineOf } from './line-protocol.js'
import { rowValue } from './row-values.js'
import type { Delivery, TargetEvents, UplinkTarget } from './target.js'

export interface InfluxTargetOptions {
  /** `http://host:8086` or `https://...`. */
  readonly url: string
  /** InfluxDB 1.x: database (and optional retention policy), user/password. */
  readonly database?: string | undefined
  readonly retentionPolicy?: string | undefined
  readonly username?: string | undefined
  readonly password?: string | undefined
  /** InfluxDB 2.x: org, bucket and token. */
  readonly org?: string | undefined
  readonly bucket?: string | undefined
  readonly token?: string | undefined
  readonly measurement: 'per-metric' | 'single'
  readonly measurementName: string
  /** Points per write request; default 500. */
  readonly batchRows?: number
  /** A smaller batch waits this long for more rows; default 1000 ms. */
  readonly batchDelayMs?: number
  readonly gzip?: boolean
  readonly gateway: string
  readonly tags: DeviceTags
  /** Per request; a timeout counts as a network error (retried). Default 10 s. */
  readonly timeoutMs?: number
}

/** Body bytes of an error answer kept for the dead letter and the log. */
const MAX_ERROR_BODY = 2048

/**
 * InfluxDB line protocol over HTTP (`kind: influxdb`): one batch per request, gzip, ms
 * precision. 2xx = delivered. 4xx = InfluxDB refused the data (e.g. a field type conflict):
 * the batch becomes dead letters with InfluxDB's message and is never retried. 401, 403,
 * 404 (no such database) and 429 are about the setup or the server, not the data: retried
 * with backoff like 5xx and network errors, and shown in /healthz meanwhile.
 * Points are keyed by measurement, tags and time, so a batch sent again after a lost
 * answer overwrites itself: duplicates do not reach a query.
 */
export class InfluxTarget implements UplinkTarget {
  readonly kind = 'influxdb'
  readonly batchRows: number
  readonly batchDelayMs: number
  readonly endpoint: string
  private readonly writeUrl: URL
  private readonly pingUrl: URL
  private readonly headers: Record<string, string>
  private readonly request: typeof httpRequest
  private session = 0
  /** Batches handed over while a request is in flight, sent in order after it. */
  private queued: (() => void)[] = []
  private busy = false

  constructor(private readonly o: InfluxTargetOptions) {
    let base: URL
    try {
      base = new URL(o.url)
    } catch {
      throw ERR.UPLINK_BAD_OPTION('url', `must be an http:// or https:// URL, got "${o.url}"`)
    }
    if (base.protocol !== 'http:' && base.protocol !== 'https:')
      throw ERR.UPLINK_BAD_OPTION('url', `must be an http:// or https:// URL, got "${o.url}"`)
    this.request = base.protocol === 'https:' ? httpsRequest : httpRequest
    this.endpoint = `${base.protocol}//${base.host}`
    this.batchRows = o.batchRows ?? 500
    this.batchDelayMs = o.batchDelayMs ?? 1000
    const root = base.pathname.replace(/\/+$/, '')
    this.headers = { 'Content-Type': 'text/plain; charset=utf-8' }
    if (o.gzip ?? true) this.headers['Content-Encoding'] = 'gzip'
    if (o.bucket !== undefined) {
      if (o.org === undefined)
        throw ERR.UPLINK_BAD_OPTION('org', 'is needed with bucket (InfluxDB 2.x)')
      this.writeUrl = new URL(`${root}/api/v2/write`, base)
      this.writeUrl.search = new URLSearchParams({
        org: o.org,
        bucket: o.bucket,
        precision: 'ms',
      }).toString()
      if (o.token !== undefined) this.headers.Authorization = `Token ${o.token}`
    } else {
      if (o.database === undefined)
        throw ERR.UPLINK_BAD_OPTION('database', 'is needed (or org and bucket for InfluxDB 2.x)')
      this.writeUrl = new URL(`${root}/write`, base)
      const q: Record<string, string> = { db: o.database, precision: 'ms' }
      if (o.retentionPolicy !== undefined) q.rp = o.retentionPolicy
      this.writeUrl.search = new URLSearchParams(q).toString()
      if (o.username !== undefined) {
        const basic = Buffer.from(`${o.username}:${o.password ?? ''}`).toString('base64')
        this.headers.Authorization = `Basic ${basic}`
      }
    }
    this.pingUrl = new URL(`${root}/ping`, base)
  }

  /** A session is "the server answers /ping": no rows are sent to a server that is down. */
  open(events: TargetEvents): void {
    const session = ++this.session
    this.call('GET', this.pingUrl, undefined, (err, res) => {
      if (session !== this.session) return
      if (err !== undefined) events.down(err)
      else if (res !== undefined && res.status >= 500)
        events.down(ERR.UPLINK_UPSTREAM_FAILED('InfluxDB', `/ping answered ${res.status}`))
      else events.up()
    })
  }

  /**
   * Requests go one at a time: two in flight travel on two sockets and may reach InfluxDB
   * in either order (seen in test/uplink/three-targets.test.ts), and the interface promises
   * call order. The forwarder may hand over the next batch before the previous answer.
   */
  send(rows: readonly OutboxRow[], done: (d: Delivery) => void): void {
    const session = this.session
    this.queued.push(() =>
      this.write(rows, session, (d) => {
        if (session !== this.session) return
        this.busy = false
        done(d) // may reset() the session, which empties the queue
        this.writeNext()
      }),
    )
    if (!this.busy) this.writeNext()
  }

  private writeNext(): void {
    const next = this.queued.shift()
    if (next === undefined) return
    this.busy = true
    next()
  }

  private write(rows: readonly OutboxRow[], session: number, done: (d: Delivery) => void): void {
    const lines: string[] = []
    for (const row of rows) {
      let line: string | undefined
      try {
        const v = rowValue(row)
        line = v === undefined ? undefined : lineOf(v, this.o)
      } catch {
        line = undefined // a row that is not floxgate's JSON: nothing to write for it
      }
      if (line !== undefined) lines.push(line)
    }
    if (lines.length === 0) {
      done({ kind: 'delivered' })
      return
    }
    const body = Buffer.from(`${lines.join('\n')}\n`)
    const post = (payload: Buffer) =>
      this.call('POST', this.writeUrl, payload, (err, res) => {
        if (session !== this.session) return
        if (err !== undefined || res === undefined) {
          done({
            kind: 'failed',
            error: err ?? ERR.UPLINK_UPSTREAM_FAILED('InfluxDB', 'gave no answer'),
          })
          return
        }
        done(classify(res.status, res.body))
      })
    if (this.headers['Content-Encoding'] !== 'gzip') {
      post(body)
      return
    }
    gzip(body, (err, zipped) => {
      if (err !== null) done({ kind: 'failed', error: err })
      else post(zipped)
    })
  }

  reset(): void {
    this.session++
    this.queued = []
    this.busy = false
  }

  async close(): Promise<void> {
    this.reset()
  }

  private call(
    method: 'GET' | 'POST',
    url: URL,
    body: Buffer | undefined,
    cb: (err: Error | undefined, res?: { status: number; body: string }) => void,
  ): void {
    let settled = false
    const finish = (err: Error | undefined, res?: { status: number; body: string }) => {
      if (settled) return
      settled = true
      cb(err, res)
    }
    const headers: Record<string, string | number> =
      method === 'POST' ? { ...this.headers, 'Content-Length': body?.length ?? 0 } : {}
    if (method === 'GET' && this.headers.Authorization !== undefined)
      headers.Authorization = this.headers.Authorization
    const req = this.request(url, { method, headers, timeout: this.o.timeoutMs ?? 10_000 })
    req.on('response', (res: IncomingMessage) => {
      const chunks: Buffer[] = []
      let size = 0
      res.on('data', (c: Buffer) => {
        // Only the start of an error body is kept: bounded memory whatever the server sends.
        if (size < MAX_ERROR_BODY) chunks.push(c)
        size += c.length
      })
      res.on('end', () =>
        finish(undefined, {
          status: res.statusCode ?? 0,
          body: Buffer.concat(chunks).toString('utf8').slice(0, MAX_ERROR_BODY),
        }),
      )
      res.on('error', (e) => finish(e))
    })
    req.on('timeout', () =>
      req.destroy(
        ERR.UPLINK_UPSTREAM_FAILED(
          'InfluxDB',
          `did not answer within ${this.o.timeoutMs ?? 10_000} ms`,
        ),
      ),
    )
    req.on('error', (e) => finish(e))
    req.end(body)
  }
}

/** What an answer of InfluxDB means for the batch (see the class comment). */
export function classify(status: number, body: string): Delivery {
  if (status >= 200 && status < 300) return { kind: 'delivered' }
  const message = influxMessage(body) ?? `HTTP ${status}`
  const retry =
    status >= 500 || status === 401 || status === 403 || status === 404 || status === 429
  if (retry || status < 400) {
    return {
      kind: 'failed',
      error: ERR.UPLINK_UPSTREAM_FAILED('InfluxDB', `answered ${status}: ${message}`),
    }
  }
  return { kind: 'rejected', reason: `InfluxDB answered ${status}: ${message}` }
}

/** `{"error": "..."}` (1.x) or `{"message": "..."}` (2.x), else the body's first line. */
function influxMessage(body: string): string | undefined {
  try {
    const j = JSON.parse(body) as { error?: unknown; message?: unknown }
    if (typeof j.error === 'string') return j.error
    if (typeof j.message === 'string') return j.message
  } catch {
    // not JSON
  }
  const line = body.split('\n')[0]?.trim()
  return line === '' ? undefined : line
}
