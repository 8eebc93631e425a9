/**
 * The processes the benchmarks measure, started the same way for each run: the floxgate
 * daemon (`floxgate start` with a generated config, or the single executable) and the
 * floor (`bench/floor.ts`). Each gets a fresh temp folder for its SQLite file.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { freePort } from '../test/helpers/net.js'

// The benchmarks compile to `.bench/bench/` (tsconfig.bench.json); the daemon they measure
// is the shipped one in `build/`, exactly what `npm start` runs.
const HERE = dirname(fileURLToPath(import.meta.url))
const ROOT = join(HERE, '..', '..')
export const PUBLISHER = join(HERE, 'publisher.js')
const CLI = join(ROOT, 'build', 'cli', 'main.js')
const FLOOR = join(HERE, 'floor.js')

/** The alert threshold the publisher's `--crossEvery` crossings (35 °C) go over. */
export const HIGH = 30

export interface Contender {
  readonly name: 'floxgate' | 'floor'
  readonly pid: number
  readonly mqttPort: number
  /** The SQLite file whose `readings` table receives two rows per JSON reading. */
  readonly db: string
  readonly child: ChildProcess
  /** Sends SIGTERM, waits for the exit; resolves with the exit code. */
  stop(): Promise<number | null>
}

export interface DaemonLaunch {
  /** Executable and leading args; default `node build/cli/main.js`. */
  readonly command?: readonly string[]
  readonly env?: NodeJS.ProcessEnv
  /** `log.level` of the generated config (default info, as shipped). */
  readonly logLevel?: string
  /** An external broker's URL (external mode); default: the embedded broker. */
  readonly externalUrl?: string
  /** Node flags not allowed in NODE_OPTIONS (`--cpu-prof`), before the script. */
  readonly nodeArgs?: readonly string[]
}

/** Where a contender's broker is: in its own process, or an external one (Mosquitto). */
export type BrokerMode = 'embedded' | 'external'

/**
 * The bench config: embedded broker (no per-client rate limit) or an external one, one
 * high rule at 30 °C, 10 s aggregate windows (the floor's job, bench/floor.ts).
 */
export function benchConfig(
  dir: string,
  mqttPort: number,
  httpPort: number,
  level: string,
  externalUrl?: string,
): string {
  const broker =
    externalUrl === undefined
      ? `broker:
  mode: embedded
  embedded:
    host: 127.0.0.1
    port: ${mqttPort}
    rateLimit: { messagesPerSecond: 0, burst: 1 }`
      : `broker:
  mode: external
  external:
    url: ${externalUrl}
    clientId: floxgate-bench`
  return `gateway:
  id: bench
  dataDir: ${dir}
log:
  level: ${level}
${broker}
aggregates:
  windowSeconds: 10
sensors:
  topics:
    - pattern: sensors/{device}/telemetry
      format: json
    - preset: tasmota
unknownDevices:
  policy: accept
rules:
  - id: too-hot
    metric: temperature
    high: ${HIGH}
    hysteresis: 1
    severity: warning
store:
  file: bench.db
http:
  enabled: true
  host: 127.0.0.1
  port: ${httpPort}
watchdog:
  enabled: true
`
}

/**
 * Starts the daemon and resolves once it logged that it is ready. `startedAt` and
 * `readyAt` are performance.now() values of this process.
 */
export async function startDaemon(
  launch: DaemonLaunch = {},
): Promise<
  Contender & { readonly startedAt: number; readonly readyAt: number; readonly httpPort: number }
> {
  const dir = mkdtempSync(join(tmpdir(), 'floxgate-bench-'))
  const [mqttPort, httpPort] = [await freePort(), await freePort()]
  const configFile = join(dir, 'floxgate.yaml')
  writeFileSync(
    configFile,
    benchConfig(dir, mqttPort, httpPort, launch.logLevel ?? 'info', launch.externalUrl),
  )
  const [cmd, ...args] = launch.command ?? [process.execPath, ...(launch.nodeArgs ?? []), CLI]
  const startedAt = performance.now()
  const child = spawn(cmd!, [...args, 'start', '--config', configFile], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: launch.env ?? process.env,
  })
  await waitForLine(child, (line) => line.includes('floxgate is ready'), 'the daemon to be ready')
  const readyAt = performance.now()
  return {
    name: 'floxgate',
    pid: child.pid!,
    mqttPort,
    httpPort,
    db: join(dir, 'bench.db'),
    child,
    startedAt,
    readyAt,
    stop: () => stopChild(child, dir),
  }
}

/** The hand-written gateway (bench/floor.ts); `externalUrl` selects external mode. */
export async function startFloor(
  env: NodeJS.ProcessEnv = process.env,
  externalUrl?: string,
  nodeArgs: readonly string[] = [],
): Promise<Contender> {
  const dir = mkdtempSync(join(tmpdir(), 'floxgate-floor-'))
  const db = join(dir, 'floor.db')
  const mode = externalUrl === undefined ? [] : ['--mode', 'external', '--url', externalUrl]
  const child = spawn(process.execPath, [...nodeArgs, FLOOR, '--db', db, ...mode], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env,
  })
  let port = 0
  await waitForLine(
    child,
    (line) => {
      if (!line.startsWith('{"port"')) return false
      port = (JSON.parse(line) as { port: number }).port
      return true
    },
    'the floor to listen',
  )
  return {
    name: 'floor',
    pid: child.pid!,
    mqttPort: port,
    db,
    child,
    stop: () => stopChild(child, dir),
  }
}

/** Resolves at the first stdout line `match` accepts; keeps draining stdout after it. */
function waitForLine(
  child: ChildProcess,
  match: (line: string) => boolean,
  what: string,
): Promise<void> {
  return new Promise((resolve, reject) => {
    let buf = ''
    let stderr = ''
    let found = false
    const timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), 30_000)
    child.stderr?.on('data', (d: Buffer) => {
      stderr = (stderr + d.toString()).slice(-4000)
    })
    child.stdout?.on('data', (d: Buffer) => {
      if (found) return // drained and dropped: logs are not what is measured
      buf += d.toString()
      let nl = buf.indexOf('\n')
      while (nl >= 0) {
        const line = buf.slice(0, nl)
        buf = buf.slice(nl + 1)
        if (match(line)) {
          found = true
          clearTimeout(timer)
          resolve()
          return
        }
        nl = buf.indexOf('\n')
      }
    })
    child.once('exit', (code) => {
      clearTimeout(timer)
      if (!found) reject(new Error(`exited with ${code} before ${what}: ${stderr}${buf}`))
    })
  })
}

async function stopChild(child: ChildProcess, dir: string): Promise<number | null> {
  const exited = new Promise<number | null>((r) => {
    if (child.exitCode !== null) r(child.exitCode)
    else child.once('exit', (code) => r(code))
  })
  child.kill('SIGTERM')
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000)
  const code = await exited
  clearTimeout(timer)
  rmSync(dir, { recursive: true, force: true })
  return code
}

export interface PublisherResult {
  readonly published: number
  readonly crossings: number
  /** Epoch ms of the first publish. */
  readonly startedAt: number
  readonly publishMs: number
  readonly expectedAlerts: number
  readonly alertsReceived: number
  readonly raisesReceived: number
  readonly clearsReceived: number
  readonly raiseLatencies: number
  readonly p50: number | null
  readonly p99: number | null
  /** Publish-to-PUBACK (QoS 1 only). */
  readonly ackP50: number | null
  readonly ackP99: number | null
}

/** Runs the publisher process to its end. */
export function runPublisher(args: readonly string[]): {
  readonly pid: number
  readonly done: Promise<PublisherResult>
} {
  const child = spawn(process.execPath, [PUBLISHER, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let out = ''
  let err = ''
  child.stdout?.on('data', (d: Buffer) => {
    out += d.toString()
  })
  child.stderr?.on('data', (d: Buffer) => {
    err += d.toString()
  })
  const done = new Promise<PublisherResult>((resolve, reject) => {
    child.once('exit', (code) => {
      if (code !== 0) reject(new Error(`publisher exited with ${code}: ${err}`))
      else resolve(JSON.parse(out.trim().split('\n').pop() ?? '{}') as PublisherResult)
    })
  })
  return { pid: child.pid!, done }
}
