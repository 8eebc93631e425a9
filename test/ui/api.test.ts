// biome-ignore-all lint/suspicious/noExplicitAny: the API's JSON answers, checked field by field below
import { request } from 'node:http'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { checkConfig, formatConfigErrors } from '../../src/config/index.js'
import { UI_FILES } from '../../src/ui/status-page.js'
import { telemetry, writeTestConfig } from '../daemon/harness.js'
import { waitFor } from '../helpers/wait.js'
import { type PageScene, startPageScene } from './page-scene.js'

const TOKEN = 'a-long-enough-token-123'

describe('status page API without a token (loopback)', () => {
  let s: PageScene
  const t0 = Date.now() - 30 * 60_000
  beforeAll(async () => {
    s = await startPageScene({
      devices: [{ id: 'loft', profile: 'dht22', name: 'Loft', location: 'attic' }],
      rules: [{ id: 'overheat', metric: 'temperature', high: 30 }],
    })
    for (let i = 0; i < 12; i++) {
      await s.sensor.client.publishAsync(
        'sensors/loft/telemetry',
        telemetry({ temperature: 20 + i, humidity: 50 }, t0 + i * 60_000),
        { qos: 1 },
      )
    }
    await s.sensor.client.publishAsync('sensors/loft/telemetry', 'not json', { qos: 1 })
    await s.sensor.client.publishAsync('sensors/loft/telemetry', '{"temperature": 900}', { qos: 1 })
  })
  afterAll(() => s?.close())

  const get = (path: string, init?: RequestInit) => fetch(`${s.http.url}${path}`, init)

  it('lists devices with latest values, their age and a stale mark', async () => {
    const devices = (await (await get('/api/devices')).json()) as Array<Record<string, any>>
    expect(devices).toHaveLength(1)
    const loft = devices[0]!
    expect(loft).toMatchObject({
      id: 'loft',
      name: 'Loft',
      location: 'attic',
      profile: 'dht22',
      configured: true,
    })
    const temp = loft.metrics.find((m: any) => m.metric === 'temperature')
    expect(temp).toMatchObject({ value: 31, ts: t0 + 11 * 60_000, unit: '°C' })
    expect(loft.metrics.find((m: any) => m.metric === 'humidity').unit).toBe('% RH')
    expect(temp.ageSeconds).toBeGreaterThanOrEqual(18 * 60)
    // 19 minutes without a reading is past the default 10 minutes.
    expect(temp.stale).toBe(true)
  })

  it('pages through a series history', async () => {
    const q = (p: string) =>
      get(`/api/readings?device=loft&metric=temperature&${p}`).then(
        (r) => r.json() as Promise<{ points: [number, number][]; next: number | null }>,
      )
    const first = await q(`from=${t0}&limit=5`)
    expect(first.points.map((p) => p[1])).toEqual([20, 21, 22, 23, 24])
    expect(first.next).toBe(t0 + 4 * 60_000 + 1)
    const rest = await q(`from=${first.next}&limit=5000`)
    expect(rest.points.map((p) => p[1])).toEqual([25, 26, 27, 28, 29, 30, 31])
    expect(rest.next).toBeNull()
  })

  it('refuses a bad history query with a clear 400', async () => {
    const bad = await get('/api/readings?device=loft&metric=temperature&from=yesterday')
    expect(bad.status).toBe(400)
    expect(await bad.json()).toEqual({
      error: 'from: expected ms since the epoch (an integer ≥ 0), got "yesterday"',
    })
    const long = await get(`/api/readings?device=${'x'.repeat(500)}&metric=temperature`)
    expect(long.status).toBe(400)
    expect((await get('/api/readings?metric=temperature')).status).toBe(400)
    expect((await get('/api/nothing')).status).toBe(404)
    expect((await get('/api/devices', { method: 'POST' })).status).toBe(405)
  })

  it('serves alerts, dead letters by reason with the latest example, and the status', async () => {
    const alerts = (await (await get('/api/alerts')).json()) as any
    expect(alerts.active).toEqual([
      expect.objectContaining({
        device: 'loft',
        rule: 'overheat',
        state: 'raised',
        value: 31,
        threshold: 30,
        // Raised by the reading of 31 °C, the twelfth, a minute apart from t0.
        since: t0 + 11 * 60_000,
      }),
    ])
    expect(alerts.history.map((a: any) => a.state)).toEqual(['raised'])
    const dl = (await (await get('/api/dead-letters')).json()) as any
    expect(dl.byReason.map((g: any) => g.reason).sort()).toEqual(['not-json', 'out-of-range'])
    expect(dl.byReason.find((g: any) => g.reason === 'not-json').latest).toMatchObject({
      topic: 'sensors/loft/telemetry',
      payload: 'not json',
    })
    const st = (await (await get('/api/status')).json()) as any
    expect(st).toMatchObject({
      gateway: 'gw-test',
      health: { ok: true },
      uplink: { configured: false, backlogRows: 0, lagSeconds: 0 },
      notifications: { pending: 0 },
    })
    expect(st.buffer.fileBytes).toBeGreaterThan(0)
    expect(Number.isInteger(st.buffer.pendingRows)).toBe(true)
    expect(Object.keys(st.health.checks)).toContain('database')
  })

  it('serves the whole page from the package, under 150 KB gzipped', async () => {
    let total = 0
    for (const { path } of UI_FILES) {
      const r = await fetch(`${s.http.url}${path}`, { headers: { 'accept-encoding': 'gzip' } })
      expect(r.status, path).toBe(200)
      total += Number(r.headers.get('content-length'))
    }
    expect(total).toBeLessThan(150 * 1024)
    const html = await (await get('/')).text()
    // No CDN: every script and stylesheet is local.
    expect(html).not.toMatch(/(src|href)="https?:/)
  })

  it('answers only requests addressed to a loopback name: a DNS-rebound page on another site gets 403', async () => {
    const port = new URL(s.http.url).port
    for (const host of [`127.0.0.1:${port}`, `localhost:${port}`, `[::1]:${port}`, 'localhost']) {
      expect(await statusWithHost('/api/devices', host), host).toBe(200)
    }
    // evil.example resolved to 127.0.0.1 after the page loaded: the browser sends its name.
    for (const host of [`evil.example:${port}`, 'evil.example', `127.0.0.1.evil.example:${port}`]) {
      expect(await statusWithHost('/api/devices', host), host).toBe(403)
      expect(await statusWithHost('/', host), host).toBe(403)
      expect(await statusWithHost('/events', host), host).toBe(403)
    }
    // The operator's scraper is not a browser: /healthz and /metrics answer any name.
    expect(await statusWithHost('/healthz', `gateway.lan:${port}`)).toBe(200)
  })

  /** fetch() may not set Host; node:http may. */
  function statusWithHost(path: string, host: string): Promise<number> {
    const url = new URL(path, s.http.url)
    return new Promise((resolve, reject) => {
      const req = request(url, { headers: { host } }, (res) => {
        res.resume()
        resolve(res.statusCode ?? 0)
        req.destroy()
      })
      req.on('error', reject)
      req.end()
    })
  }

  it('streams new readings as server-sent events', async () => {
    const ctrl = new AbortController()
    const res = await get('/events', { signal: ctrl.signal })
    expect(res.headers.get('content-type')).toBe('text/event-stream')
    const reader = res.body!.getReader()
    let text = ''
    await s.sensor.client.publishAsync(
      'sensors/loft/telemetry',
      telemetry({ temperature: 22.5 }, Date.now()),
      { qos: 1 },
    )
    await waitFor(
      async () => {
        const { value } = await reader.read()
        text += new TextDecoder().decode(value)
        return text.includes('event: readings') && text.includes('22.5')
      },
      { what: 'the reading on /events' },
    )
    ctrl.abort()
  })
})

describe('status page with a token', () => {
  let s: PageScene
  beforeAll(async () => {
    s = await startPageScene({ http: { token: TOKEN } })
  })
  afterAll(() => s?.close())

  it('refuses requests without the token, takes a bearer token, and /login sets a cookie', async () => {
    const page = await fetch(`${s.http.url}/`)
    expect(page.status).toBe(401)
    expect(await page.text()).toContain('/login?token=')
    expect((await fetch(`${s.http.url}/api/devices`)).status).toBe(401)
    expect((await fetch(`${s.http.url}/events`)).status).toBe(401)
    expect(
      (
        await fetch(`${s.http.url}/api/devices`, {
          headers: { authorization: 'Bearer wrong-token-wrong-token' },
        })
      ).status,
    ).toBe(401)
    expect(
      (await fetch(`${s.http.url}/api/devices`, { headers: { authorization: `Bearer ${TOKEN}` } }))
        .status,
    ).toBe(200)

    expect((await fetch(`${s.http.url}/login?token=nope`, { redirect: 'manual' })).status).toBe(401)
    const login = await fetch(`${s.http.url}/login?token=${TOKEN}`, { redirect: 'manual' })
    expect(login.status).toBe(303)
    const cookie = login.headers.get('set-cookie')!
    expect(cookie).toMatch(/HttpOnly/)
    const withCookie = await fetch(`${s.http.url}/`, { headers: { cookie: cookie.split(';')[0]! } })
    expect(withCookie.status).toBe(200)
    // Health and metrics stay open for the operator's scraper.
    expect((await fetch(`${s.http.url}/healthz`)).status).toBe(200)
  })

  it('a cookie that is not valid percent-encoding is a 401 like any wrong token, not a 500', async () => {
    for (const cookie of [
      'floxgate_token=%E0%A4%A',
      'floxgate_token=%',
      `floxgate_token=${'%'.repeat(3000)}`,
    ]) {
      const r = await fetch(`${s.http.url}/api/devices`, { headers: { cookie } })
      expect(r.status, cookie.slice(0, 30)).toBe(401)
    }
    // The right token among other cookies still works.
    const ok = await fetch(`${s.http.url}/api/devices`, {
      headers: { cookie: `other=%; floxgate_token=${encodeURIComponent(TOKEN)}` },
    })
    expect(ok.status).toBe(200)
  })
})

it('a non-loopback http.host without a token is a config error naming http.token', async () => {
  const cfg = await writeTestConfig({ http: { enabled: true, host: '0.0.0.0', port: 0 } })
  try {
    const r = checkConfig(cfg.file, {})
    expect(r.ok).toBe(false)
    if (!r.ok)
      expect(formatConfigErrors(r.problems)).toMatch(
        /http\.token: is required when http\.host \(0\.0\.0\.0\) is not loopback/,
      )
    cfg.rewrite({ http: { enabled: true, host: '0.0.0.0', port: 0, ui: false } })
    expect(checkConfig(cfg.file, {}).ok).toBe(true)
  } finally {
    cfg.cleanup()
  }
})
