import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { ERR, FloxgateError } from '../errors.js'
import { type HealthCheck, runChecks } from './health.js'
import { type Log, silentLog } from './log.js'

/** What /metrics serves; `GatewayMetrics` fits. */
export interface MetricsSource {
  readonly contentType: string
  text(): Promise<string>
}

export interface OpsHttpOptions {
  /** Default 127.0.0.1: metrics and health are for the device's own operator. */
  readonly host?: string
  /** Default 0 (the OS picks); read the bound port from `port`. */
  readonly port?: number
  /** Health checks by name (broker, database, uplink, disk...). */
  readonly checks: Readonly<Record<string, HealthCheck>>
  readonly metrics: MetricsSource
  /** Per-check deadline, ms (default 2000). */
  readonly checkTimeoutMs?: number
  readonly log?: Log
  /** More routes on the same server (the status page); asked first. */
  readonly routes?: HttpRoutes
}

/** Extra routes: `handle` answers and returns true, or returns false for the next. */
export interface HttpRoutes {
  handle(req: IncomingMessage, res: ServerResponse, path: string): Promise<boolean>
  /** Ends long-lived responses (server-sent events) so the server can close. */
  close(): void
}

export interface OpsHttpServer {
  readonly host: string
  readonly port: number
  /** e.g. `http://127.0.0.1:9464` */
  readonly url: string
  close(): Promise<void>
}

/**
 * The operator's HTTP endpoint: `GET /healthz` (200, or 503 naming the failing checks
 * and why) and `GET /metrics` (Prometheus text). Plain node:http, no framework: two
 * routes do not justify one on a Pi.
 */
export async function startOpsHttp(opts: OpsHttpOptions): Promise<OpsHttpServer> {
  const host = opts.host ?? '127.0.0.1'
  const log = opts.log ?? silentLog
  const timeoutMs = opts.checkTimeoutMs ?? 2000

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      log.warn({ err: String(err), url: req.url }, 'ops endpoint request failed')
      if (!res.headersSent) send(res, 500, 'text/plain', 'internal error\n')
      else res.destroy()
    })
  })
  // A scraper that connects and says nothing must not hold a socket forever.
  server.requestTimeout = 10_000
  server.headersTimeout = 5_000
  server.keepAliveTimeout = 5_000

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?')[0] ?? '/'
    if (opts.routes !== undefined && (await opts.routes.handle(req, res, path))) return
    if (path !== '/healthz' && path !== '/metrics') {
      send(res, 404, 'text/plain', 'not found: try /healthz or /metrics\n')
      return
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('Allow', 'GET, HEAD')
      send(res, 405, 'text/plain', 'method not allowed\n')
      return
    }
    if (path === '/healthz') {
      const report = await runChecks(opts.checks, timeoutMs)
      const body = JSON.stringify({ status: report.ok ? 'ok' : 'fail', checks: report.checks })
      send(res, report.ok ? 200 : 503, 'application/json', `${body}\n`, req.method === 'HEAD')
      return
    }
    const text = await opts.metrics.text()
    send(res, 200, opts.metrics.contentType, text, req.method === 'HEAD')
  }

  await new Promise<void>((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException) => {
      const e = ERR.OPS_HTTP_LISTEN(`${host}:${opts.port ?? 0}`, err.code ?? err.message)
      const details = { host, port: opts.port ?? 0 }
      reject(new FloxgateError(e.code, e.message, { details, cause: err, exitCode: e.exitCode }))
    }
    server.once('error', onError)
    server.listen(opts.port ?? 0, host, () => {
      server.off('error', onError)
      resolve()
    })
  })
  server.on('error', (err) => log.warn({ err: err.message }, 'ops endpoint error'))
  const port = (server.address() as AddressInfo).port
  const urlHost = host.includes(':') ? `[${host}]` : host
  log.info({ host, port }, 'health and metrics endpoint listening')

  return {
    host,
    port,
    url: `http://${urlHost}:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        opts.routes?.close()
        server.close(() => resolve())
        // Idle keep-alive sockets (a Prometheus scraper) would hold close() open.
        server.closeIdleConnections()
      }),
  }
}

function send(res: ServerResponse, status: number, type: string, body: string, headOnly = false) {
  res.writeHead(status, {
    'Content-Type': type,
    'Content-Length': Buffer.byteLength(body),
    'Cache-Control': 'no-store',
  })
  res.end(headOnly ? undefined : body)
}
