import { createServer } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { ERR, isError } from '../../src/errors.js'
import { EventLoopLag } from '../../src/ops/event-loop-lag.js'
import { diskSpaceCheck, eventLoopCheck, healthy, unhealthy } from '../../src/ops/health.js'
import { type OpsHttpServer, startOpsHttp } from '../../src/ops/http-server.js'
import { GatewayMetrics } from '../../src/ops/metrics.js'
import { tempDir } from '../helpers/tmp.js'

describe('ops HTTP endpoint', () => {
  const cleanups: (() => void | Promise<void>)[] = []
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c()
  })

  async function start(
    checks: Parameters<typeof startOpsHttp>[0]['checks'],
    checkTimeoutMs = 2000,
  ) {
    const metrics = new GatewayMetrics({ version: '9.9.9', defaultMetrics: false })
    const server: OpsHttpServer = await startOpsHttp({ port: 0, checks, metrics, checkTimeoutMs })
    cleanups.push(
      () => metrics.close(),
      () => server.close(),
    )
    return { server, metrics }
  }

  it('binds loopback on an OS-chosen port and reports ok with every check passing', async () => {
    const { dir, cleanup } = tempDir()
    cleanups.push(cleanup)
    const lag = new EventLoopLag()
    cleanups.push(() => lag.stop())
    const { server } = await start({
      broker: () => healthy('listening on 1883'),
      database: async () => healthy(),
      disk: diskSpaceCheck(dir, { minFreeBytes: 1, minFreeRatio: 0 }),
      eventLoop: eventLoopCheck(lag, 5000),
    })
    expect(server.host).toBe('127.0.0.1')
    expect(server.port).toBeGreaterThan(0)
    const res = await fetch(`${server.url}/healthz`)
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toBe('application/json')
    const body = (await res.json()) as {
      status: string
      checks: Record<string, { ok: boolean; detail?: string }>
    }
    expect(body.status).toBe('ok')
    expect(Object.keys(body.checks).sort()).toEqual(['broker', 'database', 'disk', 'eventLoop'])
    expect(body.checks.broker).toEqual({ ok: true, detail: 'listening on 1883' })
    expect(body.checks.disk?.detail).toMatch(/MB free of \d+ MB/)
  })

  it('answers 503 naming each failing check and its reason', async () => {
    const { dir, cleanup } = tempDir()
    cleanups.push(cleanup)
    const { server } = await start(
      {
        broker: () => healthy(),
        uplink: () => unhealthy('not connected to mqtts://upstream:8883 for 42 s'),
        database: () => {
          throw new Error('SQLITE_IOERR: disk I/O error')
        },
        slow: () => new Promise(() => {}),
        disk: diskSpaceCheck(dir, { minFreeBytes: Number.MAX_SAFE_INTEGER }),
      },
      300,
    )
    const res = await fetch(`${server.url}/healthz`)
    expect(res.status).toBe(503)
    const body = (await res.json()) as {
      status: string
      checks: Record<string, { ok: boolean; reason?: string }>
    }
    expect(body.status).toBe('fail')
    expect(body.checks.broker?.ok).toBe(true)
    expect(body.checks.uplink).toEqual({
      ok: false,
      reason: 'not connected to mqtts://upstream:8883 for 42 s',
    })
    expect(body.checks.database).toEqual({ ok: false, reason: 'SQLITE_IOERR: disk I/O error' })
    expect(body.checks.slow?.reason).toMatch(/no answer within 300 ms/)
    expect(body.checks.disk?.reason).toMatch(/below the minimum/)
  })

  it('serves Prometheus text on /metrics and 404 elsewhere', async () => {
    const { server, metrics } = await start({})
    metrics.readingIn('dht22', 4)
    const res = await fetch(`${server.url}/metrics`)
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/)
    const text = await res.text()
    expect(text).toContain('# TYPE floxgate_readings_in_total counter')
    expect(text).toContain('floxgate_readings_in_total{device_class="dht22"} 4')
    expect((await fetch(`${server.url}/`)).status).toBe(404)
    expect((await fetch(`${server.url}/metricsx`)).status).toBe(404)
    const post = await fetch(`${server.url}/metrics`, { method: 'POST' })
    expect(post.status).toBe(405)
    expect(post.headers.get('allow')).toBe('GET, HEAD')
  })

  it('refuses a taken port with FLX_ERR_OPS_HTTP_LISTEN, and closes with a keep-alive client', async () => {
    const holder = createServer()
    await new Promise<void>((r) => holder.listen(0, '127.0.0.1', r))
    cleanups.push(() => new Promise<void>((r) => holder.close(() => r())))
    const port = (holder.address() as { port: number }).port
    const metrics = new GatewayMetrics({ defaultMetrics: false })
    cleanups.push(() => metrics.close())
    const err = await startOpsHttp({ port, checks: {}, metrics }).catch((e: unknown) => e)
    expect(isError(err, ERR.OPS_HTTP_LISTEN)).toBe(true)
    expect((err as Error).message).toContain(`127.0.0.1:${port} (EADDRINUSE)`)

    const server = await startOpsHttp({ port: 0, checks: {}, metrics })
    // fetch keeps the connection alive; close() must still finish.
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200)
    await server.close()
    await expect(fetch(`${server.url}/healthz`)).rejects.toThrow()
  })
})
