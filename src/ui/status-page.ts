import { existsSync, readFileSync } from 'node:fs'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { createRequire } from 'node:module'
import { fileURLToPath } from 'node:url'
import { gzipSync } from 'node:zlib'
import type BetterSqlite3 from 'better-sqlite3'
import type { HttpRoutes } from '../ops/http-server.js'
import type { Log } from '../ops/log.js'
import { embeddedUiFile, isSingleExecutable } from '../ops/sea.js'
import { authorized, COOKIE, same } from './auth.js'
import type { EventStream } from './event-stream.js'
import { MAX_PAGE, UiQueries } from './ui-queries.js'

export interface PageDevice {
  readonly id: string
  readonly name: string
  readonly location: string | undefined
  readonly profile: string
  /** A metric older than this is marked stale. */
  readonly staleMs: number
  /** Unit label per metric (`°C`, `ppm`, ...), shown next to each value. */
  readonly units: Readonly<Record<string, string>>
}

export interface StatusPageOptions {
  readonly db: BetterSqlite3.Database
  readonly token: string | undefined
  /** The configured devices (current config), and how an unknown one is described. */
  readonly devices: () => readonly PageDevice[]
  readonly unknownDevice: (id: string) => PageDevice
  /** Health checks, buffer and backlog, for /api/status. */
  readonly status: () => Promise<unknown>
  readonly events: EventStream
  readonly log: Log
  readonly now?: () => number
}

interface Asset {
  readonly type: string
  readonly body: Buffer
  readonly gzip: Buffer
}

const TYPES: Record<string, string> = {
  html: 'text/html; charset=utf-8',
  js: 'text/javascript; charset=utf-8',
  css: 'text/css; charset=utf-8',
}

/**
 * The page's files: URL path, the name under which the single executable embeds it
 * (`ui/<name>`, written by scripts/package-sea-config.mjs), and where the npm package has
 * it (the repository's `ui/` folder, or uPlot's build in node_modules).
 */
export const UI_FILES: readonly { path: string; name: string; source: string }[] = [
  { path: '/', name: 'index.html', source: 'ui/index.html' },
  { path: '/ui/app.js', name: 'app.js', source: 'ui/app.js' },
  { path: '/ui/app.css', name: 'app.css', source: 'ui/app.css' },
  { path: '/ui/uplot.js', name: 'uplot.js', source: 'uplot/dist/uPlot.iife.min.js' },
  { path: '/ui/uplot.css', name: 'uplot.css', source: 'uplot/dist/uPlot.min.css' },
]

/** A page file's bytes: from inside the executable, else from the package on disk. */
function readUiFile(file: (typeof UI_FILES)[number]): Buffer | undefined {
  if (isSingleExecutable()) return embeddedUiFile(file.name)
  if (file.source.startsWith('ui/')) {
    // Two levels above build/ui and src/ui.
    const path = fileURLToPath(new URL(`../../${file.source}`, import.meta.url))
    return existsSync(path) ? readFileSync(path) : undefined
  }
  return readFileSync(createRequire(import.meta.url).resolve(file.source))
}

function loadAssets(log: Log): Map<string, Asset> {
  const out = new Map<string, Asset>()
  for (const file of UI_FILES) {
    let body: Buffer | undefined
    try {
      body = readUiFile(file)
    } catch (err) {
      log.warn(
        { file: file.name, err: String(err) },
        'a status page file cannot be read; its route answers 404 (503 for /): reinstall the package or rebuild the executable',
      )
    }
    if (body === undefined) continue
    const ext = file.name.slice(file.name.lastIndexOf('.') + 1)
    out.set(file.path, {
      type: TYPES[ext] ?? 'application/octet-stream',
      body,
      gzip: gzipSync(body),
    })
  }
  return out
}

/** Host headers that name the loopback interface, with or without a port. */
const LOOPBACK_HOST = /^(localhost|127\.\d{1,3}\.\d{1,3}\.\d{1,3}|\[::1\])(:\d{1,5})?$/i

/** Longest device, metric or query value accepted (client-chosen strings are bounded). */
const MAX_PARAM = 200

/**
 * The status page at `/` and the JSON API it uses. With a token configured every route
 * here needs it: `Authorization: Bearer <token>`, or the cookie `/login?token=` sets.
 */
export function statusPage(opts: StatusPageOptions): HttpRoutes {
  // A missing file leaves its route at 404 (503 for /); the API still works.
  const assets = loadAssets(opts.log)
  const q = new UiQueries(opts.db)
  const now = opts.now ?? Date.now
  if (!assets.has('/')) {
    opts.log.warn(
      {},
      'status page files not found in this install; / answers 503 (the JSON API works): reinstall the package or rebuild the executable',
    )
  }

  async function handle(req: IncomingMessage, res: ServerResponse, path: string): Promise<boolean> {
    const ours =
      path === '/' ||
      path === '/login' ||
      path === '/events' ||
      path.startsWith('/ui/') ||
      path.startsWith('/api/')
    if (!ours) return false
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('Allow', 'GET, HEAD')
      json(res, 405, { error: 'method not allowed' })
      return true
    }
    if (opts.token === undefined && !LOOPBACK_HOST.test(req.headers.host ?? '')) {
      // Without a token the server is on loopback, but a web page elsewhere can point its
      // own name at 127.0.0.1 (DNS rebinding) and read these routes from the owner's
      // browser; that browser still sends the foreign name in Host.
      text(
        res,
        403,
        'this page answers only http://127.0.0.1, localhost or [::1] without http.token: set http.token to reach it under another name (a reverse proxy)\n',
      )
      return true
    }
    const url = new URL(req.url ?? '/', 'http://localhost')
    if (path === '/login') {
      const given = url.searchParams.get('token') ?? ''
      if (opts.token === undefined || same(given, opts.token)) {
        res.writeHead(303, {
          Location: '/',
          'Set-Cookie': `${COOKIE}=${encodeURIComponent(given)}; Path=/; HttpOnly; SameSite=Strict; Max-Age=2592000`,
          'Cache-Control': 'no-store',
        })
        res.end()
      } else {
        text(res, 401, 'wrong token: open /login?token=<http.token from the config>\n')
      }
      return true
    }
    if (!authorized(req, opts.token)) {
      if (path === '/') {
        text(
          res,
          401,
          'this page needs the token: open /login?token=<http.token from the config>, or send Authorization: Bearer <token>\n',
        )
      } else {
        json(res, 401, {
          error:
            'token required: Authorization: Bearer <http.token>, or the cookie set by /login?token=',
        })
      }
      return true
    }
    if (path === '/events') {
      opts.events.attach(res)
      return true
    }
    if (path.startsWith('/api/')) {
      api(path, url, res)
      return true
    }
    const asset = assets.get(path)
    if (asset === undefined) {
      text(
        res,
        path === '/' ? 503 : 404,
        path === '/' ? 'status page files missing from this install\n' : 'not found\n',
      )
      return true
    }
    const gz = /\bgzip\b/.test(String(req.headers['accept-encoding'] ?? ''))
    const body = gz ? asset.gzip : asset.body
    res.writeHead(200, {
      'Content-Type': asset.type,
      'Content-Length': body.length,
      'Cache-Control': path === '/' ? 'no-store' : 'max-age=3600',
      'X-Content-Type-Options': 'nosniff',
      ...(gz ? { 'Content-Encoding': 'gzip', Vary: 'Accept-Encoding' } : {}),
    })
    res.end(req.method === 'HEAD' ? undefined : body)
    return true
  }

  function api(path: string, url: URL, res: ServerResponse): void {
    switch (path) {
      case '/api/devices':
        json(res, 200, devices())
        return
      case '/api/readings': {
        const p = readingParams(url)
        if (typeof p === 'string') {
          json(res, 400, { error: p })
          return
        }
        json(res, 200, q.readings(p.device, p.metric, p.from, p.to, p.limit))
        return
      }
      case '/api/alerts':
        json(res, 200, { active: q.activeAlerts(), history: q.alertHistory(100) })
        return
      case '/api/dead-letters':
        json(res, 200, { byReason: q.deadLetters() })
        return
      case '/api/status':
        opts.status().then(
          (s) => json(res, 200, s),
          (err: unknown) => json(res, 500, { error: String(err) }),
        )
        return
      default:
        json(res, 404, {
          error:
            'unknown API: /api/devices, /api/readings, /api/alerts, /api/dead-letters, /api/status',
        })
    }
  }

  function devices(): unknown[] {
    const t = now()
    const configured = new Map(opts.devices().map((d) => [d.id, d]))
    const byDevice = new Map<
      string,
      { metric: string; ts: number | null; value: number | null }[]
    >()
    for (const s of q.latest()) {
      const list = byDevice.get(s.device) ?? []
      list.push({ metric: s.metric, ts: s.ts, value: s.value })
      byDevice.set(s.device, list)
    }
    const ids = [...configured.keys(), ...[...byDevice.keys()].filter((id) => !configured.has(id))]
    return ids.map((id) => {
      const d = configured.get(id) ?? opts.unknownDevice(id)
      const metrics = (byDevice.get(id) ?? []).map((m) => {
        const ageMs = m.ts === null ? null : Math.max(0, t - m.ts)
        return {
          ...m,
          unit: d.units[m.metric] ?? null,
          ageSeconds: ageMs === null ? null : Math.round(ageMs / 1000),
          stale: ageMs === null || ageMs > d.staleMs,
        }
      })
      return {
        id,
        name: d.name,
        location: d.location ?? null,
        profile: d.profile,
        configured: configured.has(id),
        stale: metrics.length === 0 || metrics.every((m) => m.stale),
        metrics,
      }
    })
  }

  return { handle, close: () => opts.events.close() }
}

interface ReadingParams {
  readonly device: string
  readonly metric: string
  readonly from: number
  readonly to: number
  readonly limit: number
}

/** The query of /api/readings, or what is wrong with it. */
function readingParams(url: URL): ReadingParams | string {
  const device = url.searchParams.get('device')
  const metric = url.searchParams.get('metric')
  if (device === null || device === '' || device.length > MAX_PARAM)
    return `device: expected 1-${MAX_PARAM} characters`
  if (metric === null || metric === '' || metric.length > MAX_PARAM)
    return `metric: expected 1-${MAX_PARAM} characters`
  const num = (name: string, fallback: number): number | string => {
    const v = url.searchParams.get(name)
    if (v === null || v === '') return fallback
    const n = Number(v)
    return Number.isSafeInteger(n) && n >= 0
      ? n
      : `${name}: expected ms since the epoch (an integer ≥ 0), got "${v.slice(0, 40)}"`
  }
  const to = num('to', Date.now() + 1)
  const from = num('from', (typeof to === 'number' ? to : Date.now()) - 3_600_000)
  const limit = num('limit', MAX_PAGE)
  for (const v of [from, to, limit]) if (typeof v === 'string') return v
  if ((limit as number) < 1 || (limit as number) > MAX_PAGE) return `limit: expected 1..${MAX_PAGE}`
  return { device, metric, from: from as number, to: to as number, limit: limit as number }
}

function json(res: ServerResponse, status: number, body: unknown): void {
  const s = JSON.stringify(body)
  res.writeHead(status, {
    'Content-Type': 'application/json',
    'Content-Length': Buffer.byteLength(s),
    'Cache-Control': 'no-store',
  })
  res.end(s)
}

function text(res: ServerResponse, status: number, body: string): void {
  res.writeHead(status, {
    'Content-Type': 'text/plain; charset=utf-8',
    'Cache-Control': 'no-store',
  })
  res.end(body)
}
