/**
 * `npm run bench:durability`: the daemon as a child process (embedded broker, SQLite on
 * disk, uplink forwarding raw readings to a local Mosquitto), fed by this process.
 *
 *   node .bench/bench/durability.js [--count 100000] [--devices 100] [--outage 60]
 *     [--outage-rate 200] [--max-replay 5000] [--batch-delay-ms 20] [--batch-rows 500]
 *     [--durability normal|full] [--window 16] [--streams readings,aggregates,alerts] [--dir D]
 *
 * Phases, each on a fresh database:
 * 1. QoS 0: `count` JSON messages (temperature + humidity: two stored readings each) from
 *    `devices` devices on one connection; rate = messages until all are committed.
 * 2. QoS 1: the same load, one connection per device (aedes holds a client's next
 *    publish until its PUBACK), the PUBACK released after the commit; rate and
 *    publish-to-PUBACK latency.
 *    Both report bytes the daemon wrote to disk (`/proc/<pid>/io` write_bytes) per message,
 *    counted until the uplink has forwarded and deleted every outbox row.
 * 3. Outage: upstream stopped for `outage` s while devices send `outage-rate` messages/s;
 *    then started again while they keep sending; replay rate = outbox rows drained per
 *    second from the uplink's reconnect until the backlog is gone.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { connect as tcpConnect } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import mqtt, { type MqttClient } from 'mqtt'
import { freePort } from '../test/helpers/net.js'

const { values: flags } = parseArgs({
  options: {
    count: { type: 'string', default: '100000' },
    devices: { type: 'string', default: '100' },
    outage: { type: 'string', default: '60' },
    'outage-rate': { type: 'string', default: '200' },
    'max-replay': { type: 'string', default: '5000' },
    'batch-delay-ms': { type: 'string', default: '20' },
    'batch-rows': { type: 'string', default: '500' },
    streams: { type: 'string', default: 'readings,aggregates,alerts' },
    durability: { type: 'string', default: 'normal' },
    window: { type: 'string', default: '16' },
    dir: { type: 'string', default: tmpdir() },
  },
})
const COUNT = Number(flags.count)
const DEVICES = Number(flags.devices)
const OUTAGE_S = Number(flags.outage)
const OUTAGE_RATE = Number(flags['outage-rate'])
const MAX_REPLAY = Number(flags['max-replay'])
const BATCH_DELAY_MS = Number(flags['batch-delay-ms'])
const BATCH_ROWS = Number(flags['batch-rows'])
const STREAMS = String(flags.streams).split(',')
const WINDOW = Number(flags.window)
/** Rows stored (and forwarded) per message: temperature and humidity. */
const ROWS_PER_MESSAGE = 2

// Compiled to `.bench/bench/`; the daemon is the shipped one in `build/`.
const cli = new URL('../../build/cli/main.js', import.meta.url).pathname
const work = mkdtempSync(join(String(flags.dir), 'floxgate-bench-durability-'))
const children = new Set<ChildProcess>()
const pause = (ms: number) => new Promise((r) => setTimeout(r, ms))

/** Polls `check` until truthy; every wait in the benchmark has a deadline. */
async function until<T>(check: () => T | Promise<T>, what: string, timeoutMs = 120_000) {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const v = await check()
    if (v) return v
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await pause(20)
  }
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = tcpConnect(port, '127.0.0.1')
    s.once('connect', () => {
      s.destroy()
      resolve(true)
    })
    s.once('error', () => resolve(false))
  })
}

/** The upstream: a real Mosquitto with persistence, stoppable and restartable. */
async function upstreamBroker() {
  const port = await freePort()
  const dir = join(work, 'mosquitto')
  rmSync(dir, { recursive: true, force: true })
  const conf = join(work, 'mosquitto.conf')
  writeFileSync(
    conf,
    `listener ${port} 127.0.0.1\nallow_anonymous true\npersistence false\nmax_queued_messages 1000000\n`,
  )
  let proc: ChildProcess | undefined
  const start = async () => {
    proc = spawn('mosquitto', ['-c', conf], { stdio: 'ignore' })
    children.add(proc)
    await until(() => canConnect(port), 'mosquitto to listen', 10_000)
  }
  const stop = async () => {
    const p = proc
    proc = undefined
    if (p === undefined || p.exitCode !== null) return
    const exited = new Promise((r) => p.once('exit', r))
    p.kill('SIGTERM')
    await exited
    children.delete(p)
  }
  await start()
  return { port, start, stop }
}

interface Daemon {
  readonly proc: ChildProcess
  readonly port: number
  readonly httpPort: number
  metric(name: string): Promise<number>
  writeBytes(): number
  stop(): Promise<void>
}

async function startDaemon(name: string, upstreamPort: number): Promise<Daemon> {
  const port = await freePort()
  const httpPort = await freePort()
  const dataDir = join(work, name)
  const config = {
    gateway: { id: `bench-${name}`, dataDir },
    log: { level: 'warn' },
    broker: {
      mode: 'embedded',
      embedded: { host: '127.0.0.1', port, rateLimit: { messagesPerSecond: 0 } },
    },
    sensors: { topics: [{ pattern: 'sensors/{device}/telemetry', format: 'json' }] },
    store: {
      durability: flags.durability,
      batch: { maxRows: BATCH_ROWS, maxDelayMs: BATCH_DELAY_MS },
    },
    uplink: {
      url: `mqtt://127.0.0.1:${upstreamPort}`,
      streams: STREAMS,
      maxReplayPerSecond: MAX_REPLAY,
      inflight: 256,
      maxBufferMB: 256,
    },
    http: { enabled: true, host: '127.0.0.1', port: httpPort },
    watchdog: { enabled: false },
  }
  const file = join(work, `${name}.yaml`)
  writeFileSync(file, JSON.stringify(config))
  const proc = spawn(process.execPath, [cli, 'start', '--config', file], {
    stdio: ['ignore', 'ignore', 'inherit'],
    env: { ...process.env, NOTIFY_SOCKET: '' },
  })
  children.add(proc)
  const metric = async (m: string) => {
    const text = await (await fetch(`http://127.0.0.1:${httpPort}/metrics`)).text()
    const line = text.split('\n').find((l) => l.startsWith(`${m} `))
    return line === undefined ? 0 : Number(line.slice(m.length + 1))
  }
  await until(
    async () => {
      if (proc.exitCode !== null) throw new Error(`the daemon exited with ${proc.exitCode}`)
      return await metric('floxgate_readings_stored_total').then(
        () => true,
        () => false,
      )
    },
    'the daemon to serve /metrics',
    20_000,
  )
  return {
    proc,
    port,
    httpPort,
    metric,
    writeBytes: () => {
      const io = readFileSync(`/proc/${proc.pid}/io`, 'utf8')
      return Number(/write_bytes: (\d+)/.exec(io)?.[1] ?? 0)
    },
    stop: async () => {
      const exited = new Promise((r) => proc.once('exit', r))
      proc.kill('SIGTERM')
      await exited
      children.delete(proc)
    },
  }
}

function payload(i: number, ts: number): string {
  return `{"temperature":${20 + (i % 50) / 10},"humidity":${40 + (i % 20)},"ts":${ts}}`
}

/** Unique timestamps per device: reading i of a device is baseTs + i ms. */
const baseTs = Date.now() - 3_600_000

async function qos0Load(port: number): Promise<void> {
  const client = await mqtt.connectAsync({ host: '127.0.0.1', port, reconnectPeriod: 0 })
  const perDevice = new Array<number>(DEVICES).fill(0)
  for (let n = 0; n < COUNT; n++) {
    const d = n % DEVICES
    const i = perDevice[d] ?? 0
    perDevice[d] = i + 1
    client.publish(`sensors/bench-${d}/telemetry`, payload(i, baseTs + i), { qos: 0 })
    if (n % 256 === 0) await new Promise((r) => setImmediate(r))
  }
  await client.endAsync()
}

/** One connection per device; `gapMs` > 0 paces each device (the outage phase). */
class DeviceFleet {
  readonly latencies: number[] = []
  private readonly clients: MqttClient[] = []
  private readonly next = new Array<number>(DEVICES).fill(0)

  async connect(port: number): Promise<void> {
    for (let d = 0; d < DEVICES; d++) {
      this.clients.push(
        await mqtt.connectAsync({
          host: '127.0.0.1',
          port,
          clientId: `bench-${d}`,
          reconnectPeriod: 0,
        }),
      )
    }
  }

  /** Sends `perDevice` readings from every device, `WINDOW` awaiting PUBACK per device. */
  async send(perDevice: number, gapMs = 0, record = true): Promise<void> {
    await Promise.all(
      this.clients.map(async (client, d) => {
        const end = (this.next[d] ?? 0) + perDevice
        const inflight = new Set<Promise<void>>()
        while ((this.next[d] ?? 0) < end) {
          const i = this.next[d] ?? 0
          this.next[d] = i + 1
          const t0 = performance.now()
          const p = client
            .publishAsync(`sensors/bench-${d}/telemetry`, payload(i, baseTs + i), { qos: 1 })
            .then(() => {
              if (record) this.latencies.push(performance.now() - t0)
              inflight.delete(p)
            })
          inflight.add(p)
          if (inflight.size >= WINDOW) await Promise.race(inflight)
          if (gapMs > 0) await pause(gapMs)
        }
        await Promise.all(inflight)
      }),
    )
  }

  async close(): Promise<void> {
    await Promise.all(this.clients.map((c) => c.endAsync()))
  }
}

interface IngestFigures {
  readonly messagesPerSecond: number
  readonly readingsPerSecond: number
  readonly bytesPerMessage: number
  readonly bytesPerReading: number
}

async function ingestRun(
  daemon: Daemon,
  load: () => Promise<void>,
): Promise<IngestFigures & { seconds: number }> {
  const before = daemon.writeBytes()
  const t0 = performance.now()
  await load()
  const rows = COUNT * ROWS_PER_MESSAGE
  await until(
    async () => (await daemon.metric('floxgate_readings_stored_total')) >= rows,
    'every reading committed',
  )
  const seconds = (performance.now() - t0) / 1000
  // Wear includes forwarding: wait until the uplink has sent and deleted every outbox row.
  await until(
    async () => (await daemon.metric('floxgate_uplink_backlog_rows')) === 0,
    'the outbox forwarded',
  )
  const bytes = daemon.writeBytes() - before
  return {
    seconds,
    messagesPerSecond: COUNT / seconds,
    readingsPerSecond: rows / seconds,
    bytesPerMessage: bytes / COUNT,
    bytesPerReading: bytes / rows,
  }
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] ?? Number.NaN
}

async function main(): Promise<void> {
  const upstream = await upstreamBroker()

  const d0 = await startDaemon('qos0', upstream.port)
  const qos0 = await ingestRun(d0, () => qos0Load(d0.port))
  await d0.stop()

  const d1 = await startDaemon('qos1', upstream.port)
  const fleet = new DeviceFleet()
  await fleet.connect(d1.port)
  const qos1 = await ingestRun(d1, () => fleet.send(COUNT / DEVICES))
  const lat = fleet.latencies.sort((a, b) => a - b)

  // Outage: the backlog is built by a steady, paced ingest.
  const gapMs = (1000 * DEVICES) / OUTAGE_RATE
  const perDevice = Math.round((OUTAGE_RATE * OUTAGE_S) / DEVICES)
  await upstream.stop()
  const outageStart = performance.now()
  await fleet.send(perDevice, gapMs, false)
  const outageSeconds = (performance.now() - outageStart) / 1000
  const backlog = await d1.metric('floxgate_uplink_backlog_rows')
  const ingestRowsPerSecond = backlog / outageSeconds
  if (backlog === 0)
    throw new Error('no outbox backlog built during the outage: --streams must include readings')
  await upstream.start()
  const restarted = performance.now()
  // Devices keep sending during the replay; the replay must outrun them.
  const during = fleet.send(Math.round(perDevice / 2), gapMs, false)
  const storedAt = async () => d1.metric('floxgate_readings_stored_total')
  let reconnectedAt = 0
  let storedAtReconnect = 0
  let peak = backlog
  await until(
    async () => {
      const b = await d1.metric('floxgate_uplink_backlog_rows')
      if (reconnectedAt === 0 && b < peak) {
        reconnectedAt = performance.now()
        storedAtReconnect = await storedAt()
      }
      peak = Math.max(peak, b)
      // Drained: what is left is what arrived in the last moments.
      return reconnectedAt > 0 && b <= ingestRowsPerSecond * 0.25
    },
    'the backlog to drain',
    600_000,
  )
  const drainedAt = performance.now()
  const inflowRows = (await storedAt()) - storedAtReconnect
  const drainSeconds = (drainedAt - reconnectedAt) / 1000
  const replayRowsPerSecond = (peak + inflowRows) / drainSeconds
  await during
  await fleet.close()
  await d1.stop()
  await upstream.stop()

  // 0 means unpaced: then only the 5x rule applies.
  const target =
    MAX_REPLAY > 0 ? Math.min(5 * ingestRowsPerSecond, MAX_REPLAY) : 5 * ingestRowsPerSecond
  const fmt = (n: number) => Math.round(n).toLocaleString('en-US')
  const lines = [
    `durability ${flags.durability}, store.batch maxRows ${BATCH_ROWS} maxDelayMs ${BATCH_DELAY_MS}, ${COUNT} messages (x${ROWS_PER_MESSAGE} readings) from ${DEVICES} devices (QoS 1: ${WINDOW} in flight each), uplink forwarding ${STREAMS.join('+')} to Mosquitto`,
    `QoS 0: ${fmt(qos0.messagesPerSecond)} messages/s (${fmt(qos0.readingsPerSecond)} readings/s), ${fmt(qos0.bytesPerMessage)} B written per message (${fmt(qos0.bytesPerReading)} per reading)`,
    `QoS 1, PUBACK after commit: ${fmt(qos1.messagesPerSecond)} messages/s (${fmt(qos1.readingsPerSecond)} readings/s), ${fmt(qos1.bytesPerMessage)} B written per message (${fmt(qos1.bytesPerReading)} per reading)`,
    `QoS 1 publish-to-PUBACK: p50 ${percentile(lat, 0.5).toFixed(1)} ms, p99 ${percentile(lat, 0.99).toFixed(1)} ms, max ${(lat.at(-1) ?? 0).toFixed(1)} ms`,
    `QoS 1 / QoS 0 messages/s: ${(qos1.messagesPerSecond / qos0.messagesPerSecond).toFixed(2)}; target >= 20,000 readings/s at QoS 1: ${qos1.readingsPerSecond >= 20_000 ? 'met' : 'NOT met'}`,
    `outage ${outageSeconds.toFixed(1)} s at ${OUTAGE_RATE} messages/s: backlog ${fmt(backlog)} rows (${fmt(ingestRowsPerSecond)} rows/s into the outbox); uplink back ${((reconnectedAt - restarted) / 1000).toFixed(1)} s after the upstream restarted (reconnect backoff)`,
    `replay: ${fmt(peak + inflowRows)} rows in ${drainSeconds.toFixed(1)} s = ${fmt(replayRowsPerSecond)} rows/s (maxReplayPerSecond ${MAX_REPLAY}); ${(replayRowsPerSecond / ingestRowsPerSecond).toFixed(1)}x the ingest rate; target >= ${fmt(target)} rows/s: ${replayRowsPerSecond >= target ? 'met' : 'NOT met'}`,
  ]
  process.stdout.write(`${lines.join('\n')}\n`)
}

main()
  .catch((err: unknown) => {
    process.stderr.write(`bench:durability failed: ${String(err)}\n`)
    process.exitCode = 1
  })
  .finally(() => {
    for (const c of children) c.kill('SIGKILL')
    rmSync(work, { recursive: true, force: true })
  })
