import { type ChildProcess, spawn } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { freePort } from './net.js'
import { tempDir } from './tmp.js'

export interface InfluxDB {
  readonly port: number
  /** `http://127.0.0.1:<port>` */
  readonly url: string
  /** The process id of the running influxd (undefined while stopped). */
  pid(): number | undefined
  /** Stops influxd (SIGTERM, then SIGKILL after 5 s): its own PID only. */
  stop(): Promise<void>
  /** Starts it again on the same ports and data folders. */
  start(): Promise<void>
  /** Runs an InfluxQL statement (`/query`); throws on an HTTP or statement error. */
  query(q: string, db?: string): Promise<QueryResult>
  /** Stops it and removes its folder. */
  close(): Promise<void>
}

export interface Series {
  readonly name: string
  readonly tags?: Record<string, string>
  readonly columns: string[]
  readonly values: unknown[][]
}

export interface QueryResult {
  readonly series: Series[]
}

/**
 * Starts a real InfluxDB 1.x (Debian package `influxdb`, `influxd`) as a child process:
 * its HTTP API and its RPC (backup) service on free loopback ports, meta, data and WAL in
 * a temp folder, no usage reporting, no self-monitoring (it would write `_internal` every
 * 10 s on a machine that is short of CPU). Waits for `/ping`.
 */
export async function startInfluxDB(): Promise<InfluxDB> {
  const port = await freePort()
  const rpcPort = await freePort()
  const { dir, cleanup } = tempDir('floxgate-influxdb-')
  const conf = join(dir, 'influxdb.conf')
  writeFileSync(
    conf,
    [
      'reporting-enabled = false',
      `bind-address = "127.0.0.1:${rpcPort}"`,
      '[meta]',
      `  dir = "${dir}/meta"`,
      '[data]',
      `  dir = "${dir}/data"`,
      `  wal-dir = "${dir}/wal"`,
      '  query-log-enabled = false',
      '[http]',
      `  bind-address = "127.0.0.1:${port}"`,
      '  log-enabled = false',
      '  pprof-enabled = false',
      '[monitor]',
      '  store-enabled = false',
      '[continuous_queries]',
      '  enabled = false',
      '[subscriber]',
      '  enabled = false',
      '[logging]',
      '  level = "warn"',
      '  suppress-logo = true',
      '',
    ].join('\n'),
  )
  const url = `http://127.0.0.1:${port}`
  let proc: ChildProcess | undefined

  async function start(): Promise<void> {
    const child = spawn('influxd', ['-config', conf], { stdio: ['ignore', 'ignore', 'pipe'] })
    proc = child
    let stderr = ''
    child.stderr?.on('data', (d: Buffer) => {
      // Only the tail: a long run must not grow the test's memory.
      stderr = (stderr + d.toString()).slice(-4000)
    })
    const deadline = Date.now() + 30_000
    for (;;) {
      if (child.exitCode !== null)
        throw new Error(`influxd exited with ${child.exitCode}: ${stderr}`)
      if (await pings(url)) return
      if (Date.now() > deadline)
        throw new Error(`influxd did not answer /ping on ${port}: ${stderr}`)
      await new Promise((r) => setTimeout(r, 50))
    }
  }

  async function stop(): Promise<void> {
    const child = proc
    proc = undefined
    if (!child || child.exitCode !== null || child.signalCode !== null) return
    const exited = new Promise<void>((r) => child.once('exit', () => r()))
    child.kill('SIGTERM')
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000)
    await exited
    clearTimeout(timer)
  }

  async function query(q: string, db?: string): Promise<QueryResult> {
    const params = new URLSearchParams({ q, epoch: 'ms' })
    if (db !== undefined) params.set('db', db)
    const res = await fetch(`${url}/query`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: params.toString(),
    })
    const body = (await res.json()) as {
      error?: string
      results?: { error?: string; series?: Series[] }[]
    }
    const first = body.results?.[0]
    const err = body.error ?? first?.error
    if (!res.ok || err !== undefined) throw new Error(`InfluxDB query "${q}": ${res.status} ${err}`)
    return { series: first?.series ?? [] }
  }

  await start()
  return {
    port,
    url,
    pid: () => (proc?.exitCode === null ? proc.pid : undefined),
    stop,
    start,
    query,
    close: async () => {
      await stop()
      cleanup()
    },
  }
}

async function pings(url: string): Promise<boolean> {
  try {
    const res = await fetch(`${url}/ping`, { signal: AbortSignal.timeout(2000) })
    return res.status === 204
  } catch {
    return false
  }
}

/** The rows of a query as objects keyed by column (tags of grouped series merged in). */
export function rowsOf(r: QueryResult): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = []
  for (const s of r.series) {
    for (const v of s.values) {
      const row: Record<string, unknown> = { _measurement: s.name, ...s.tags }
      s.columns.forEach((c, i) => {
        row[c] = v[i]
      })
      out.push(row)
    }
  }
  return out
}
