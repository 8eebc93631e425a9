/**
 * Smoke test of the single executables built by `npm run package` (scripts/package.sh).
 * They are 100 MB and take a minute to build, so `npm test` skips this file when they are
 * absent; scripts/package-smoke.sh builds them and sets FLOXGATE_REQUIRE_EXECUTABLES=1,
 * which turns a missing executable or a missing qemu into a failure.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process'
import { copyFileSync, existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { join, resolve } from 'node:path'
import mqtt from 'mqtt'
import { afterEach, describe, expect, it } from 'vitest'
import { UI_FILES } from '../../src/ui/status-page.js'
import { VERSION } from '../../src/version.js'
import { freePort } from '../helpers/net.js'
import { tempDir } from '../helpers/tmp.js'
import { waitFor } from '../helpers/wait.js'

const need = createRequire(import.meta.url)
const required = process.env.FLOXGATE_REQUIRE_EXECUTABLES === '1'
const exe = (arch: string) => resolve('dist', `floxgate-linux-${arch}`)
const hasQemu = (() => {
  try {
    execFileSync('qemu-aarch64-static', ['--version'], { stdio: 'ignore' })
    return true
  } catch {
    return false
  }
})()
// qemu-user needs the arm64 loader and libraries that g++-aarch64-linux-gnu installs.
const QEMU_ENV = { QEMU_LD_PREFIX: '/usr/aarch64-linux-gnu' }

const cleanups: (() => void | Promise<void>)[] = []
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c()
})

interface Daemon {
  readonly child: ChildProcess
  readonly output: () => string
  readonly exited: Promise<number | null>
}

/**
 * Runs a copy of the executable (under qemu for arm64) from a temp folder, with a temp
 * HOME and cache folder: a copy, because a require() the bundle missed would otherwise
 * resolve from this repository's node_modules and hide the gap.
 */
function run(arch: string, args: string[], dir: string): Daemon {
  const copy = join(dir, `floxgate-${arch}`)
  copyFileSync(exe(arch), copy)
  const env = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: dir,
    CACHE_DIRECTORY: join(dir, 'cache'),
    ...(arch === 'arm64' ? QEMU_ENV : {}),
  }
  const [cmd, argv] = arch === 'arm64' ? ['qemu-aarch64-static', [copy, ...args]] : [copy, args]
  const child = spawn(cmd, argv, { cwd: dir, env, stdio: ['ignore', 'pipe', 'pipe'] })
  let output = ''
  child.stdout?.on('data', (d: Buffer) => {
    output += d.toString()
  })
  child.stderr?.on('data', (d: Buffer) => {
    output += d.toString()
  })
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)))
  cleanups.push(async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL')
      await exited
    }
  })
  return { child, output: () => output, exited }
}

function scratch(): string {
  const { dir, cleanup } = tempDir('floxgate-exe-')
  cleanups.push(cleanup)
  return dir
}

/** A temp config; with `httpPort` the HTTP server (and the status page) listens there. */
async function smokeConfig(
  dir: string,
  httpPort?: number,
): Promise<{ file: string; port: number }> {
  const port = await freePort()
  const file = join(dir, 'floxgate.yaml')
  writeFileSync(
    file,
    [
      'gateway:',
      '  id: smoke',
      `  dataDir: ${join(dir, 'data')}`,
      'broker:',
      '  embedded:',
      '    host: 127.0.0.1',
      `    port: ${port}`,
      'http:',
      ...(httpPort === undefined
        ? ['  enabled: false']
        : ['  host: 127.0.0.1', `  port: ${httpPort}`, '  ui: true']),
      'aggregates:',
      '  enabled: false',
      'rules:',
      '  - id: too-hot',
      '    metric: temperature',
      '    high: 30',
      '',
    ].join('\n'),
  )
  return { file, port }
}

async function stop(d: Daemon): Promise<number | null> {
  d.child.kill('SIGTERM')
  const deadline = new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), 20_000).unref())
  const code = await Promise.race([d.exited, deadline])
  if (code === 'timeout') throw new Error(`no exit 20 s after SIGTERM:\n${d.output()}`)
  return code
}

function version(arch: string): string {
  return execFileSync(
    arch === 'arm64' ? 'qemu-aarch64-static' : exe(arch),
    [...(arch === 'arm64' ? [exe(arch)] : []), '--version'],
    { env: { ...process.env, ...QEMU_ENV }, encoding: 'utf8' },
  ).trim()
}

describe.skipIf(!required && !existsSync(exe('x64')))('dist/floxgate-linux-x64', () => {
  it('prints its version', () => {
    expect(version('x64')).toContain(VERSION)
  })

  it('runs the gateway: a reading over the limit raises an alert, SIGTERM exits 0', async () => {
    const dir = scratch()
    const { file, port } = await smokeConfig(dir)
    const daemon = run('x64', ['start', '--config', file], dir)

    const client = await waitFor(
      async () => {
        if (daemon.child.exitCode !== null) throw new Error(`exited:\n${daemon.output()}`)
        return await mqtt.connectAsync({
          protocol: 'mqtt',
          host: '127.0.0.1',
          port,
          reconnectPeriod: 0,
          connectTimeout: 1000,
        })
      },
      { timeoutMs: 30_000, intervalMs: 100, what: 'the embedded broker to accept a client' },
    )
    cleanups.push(() => client.endAsync(true))
    const alerts: string[] = []
    client.on('message', (topic, payload) => alerts.push(`${topic} ${payload.toString()}`))
    await client.subscribeAsync('floxgate/alerts/#', { qos: 1 })
    await client.publishAsync('sensors/dev1/telemetry', JSON.stringify({ temperature: 35.5 }), {
      qos: 1,
    })

    const alert = await waitFor(() => alerts.find((a) => a.startsWith('floxgate/alerts/dev1/')), {
      timeoutMs: 15_000,
      what: `an alert for dev1; daemon output:\n${daemon.output()}`,
    })
    expect(alert).toContain('too-hot')
    await client.endAsync()

    expect(await stop(daemon)).toBe(0)
    // The SQLite addon and the device profiles came out of the executable, into
    // systemd's CacheDirectory.
    const cache = readdirSync(join(dir, 'cache'))
    expect(cache.some((n) => /^better_sqlite3-[0-9a-f]{16}\.node$/.test(n))).toBe(true)
    const devices = cache.find((n) => /^devices-[0-9a-f]{16}$/.test(n))
    expect(devices && readdirSync(join(dir, 'cache', devices))).toContain('dht22.yaml')
    expect(readdirSync(join(dir, 'data')).some((n) => n.endsWith('.db'))).toBe(true)
  })

  it('serves the status page and its scripts from inside the executable', async () => {
    const dir = scratch()
    const httpPort = await freePort()
    const { file } = await smokeConfig(dir, httpPort)
    const daemon = run('x64', ['start', '--config', file], dir)
    const base = `http://127.0.0.1:${httpPort}`
    // The copy runs from a temp folder with no ui/ beside it: the page can only come from
    // the executable's own assets.
    const page = await waitFor(
      async () => {
        if (daemon.child.exitCode !== null) throw new Error(`exited:\n${daemon.output()}`)
        return await fetch(`${base}/`)
      },
      { timeoutMs: 30_000, intervalMs: 100, what: 'the status page to answer' },
    )
    expect(page.status).toBe(200)
    expect(page.headers.get('content-type')).toContain('text/html')
    expect(await page.text()).toBe(readFileSync('ui/index.html', 'utf8'))

    for (const file of UI_FILES) {
      const res = await fetch(`${base}${file.path}`)
      expect(res.status, file.path).toBe(200)
      const body = Buffer.from(await res.arrayBuffer())
      const source = file.source.startsWith('ui/') ? file.source : need.resolve(file.source)
      expect(body.equals(readFileSync(source)), `${file.path} is ${source}`).toBe(true)
    }
    const app = await fetch(`${base}/ui/app.js`)
    expect(app.headers.get('content-type')).toContain('text/javascript')
    expect(await app.text()).toContain('/api/devices')
    // The uPlot bundle defines the global the page's script draws with.
    expect(await (await fetch(`${base}/ui/uplot.js`)).text()).toContain('uPlot')
    // The JSON API the page uses answers from the same process.
    const devices = await fetch(`${base}/api/devices`)
    expect(devices.status).toBe(200)
    expect(Array.isArray(await devices.json())).toBe(true)
    expect(daemon.output()).not.toContain('status page files not found')
    expect(await stop(daemon)).toBe(0)
  })
})

describe.skipIf(!required && !(existsSync(exe('arm64')) && hasQemu))(
  'dist/floxgate-linux-arm64 under qemu',
  () => {
    it('prints its version', () => {
      expect(version('arm64')).toContain(VERSION)
    })

    it('starts, opens its database, serves the status page and stops cleanly', async () => {
      const dir = scratch()
      const httpPort = await freePort()
      const { file, port } = await smokeConfig(dir, httpPort)
      const daemon = run('arm64', ['start', '--config', file], dir)
      const client = await waitFor(
        async () => {
          if (daemon.child.exitCode !== null) throw new Error(`exited:\n${daemon.output()}`)
          return await mqtt.connectAsync({
            protocol: 'mqtt',
            host: '127.0.0.1',
            port,
            reconnectPeriod: 0,
            connectTimeout: 2000,
          })
        },
        { timeoutMs: 60_000, intervalMs: 250, what: 'the arm64 gateway to listen' },
      )
      await client.endAsync()
      const page = await fetch(`http://127.0.0.1:${httpPort}/`)
      expect(page.status).toBe(200)
      expect(await page.text()).toBe(readFileSync('ui/index.html', 'utf8'))
      expect(await stop(daemon)).toBe(0)
      const db = readdirSync(join(dir, 'data')).find((n) => n.endsWith('.db'))
      expect(db).toBeDefined()
      // A SQLite file starts with this header once the schema is written.
      expect(
        readFileSync(join(dir, 'data', db!))
          .subarray(0, 15)
          .toString(),
      ).toBe('SQLite format 3')
    })
  },
)
