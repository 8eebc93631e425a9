/**
 * `npm run bench:durability`: the daemon as a child process (embedded broker, SQLite on
 * disk, uplinks forwarding raw readings), fed by this process.
 *
 *   node .bench/bench/durability.js [--count 100000] [--devices 100] [--outage 60]
 *     [--outage-rate 200] [--max-replay 5000] [--batch-delay-ms 20] [--batch-rows 500]
 *     [--durability normal|full] [--window 16] [--streams readings,aggregates,alerts] [--dir D]
 *     [--targets mqtt,influxdb,thingsboard] [--cpu-messages 30000] [--cpu-rounds 3]
 *     [--baseline-cli PATH]
 *
 * Phases, each on a fresh database:
 * 1. QoS 0: `count` JSON messages (temperature + humidity: two stored readings each) from
 *    `devices` devices on one connection; rate = messages until all are committed.
 * 2. QoS 1: the same load, one connection per device (aedes holds a client's next
 *    publish until its PUBACK), the PUBACK released after the commit; rate and
 *    publish-to-PUBACK latency.
 *    Both report bytes the daemon wrote to disk (`/proc/<pid>/io` write_bytes) per message,
 *    counted until the uplink has forwarded and deleted every outbox row.
 * 3. Per uplink target (a daemon with one uplink of that kind, forwarding readings: floxgate
 *    JSON to Mosquitto, InfluxDB line protocol to a real `influxd`, ThingsBoard's gateway
 *    API to Mosquitto):
 *    a. Outage: the upstream stopped for `outage` s while devices send `outage-rate`
 *       messages/s, then started again while they keep sending; replay rate = outbox rows
 *       drained per second from the uplink's reconnect until the backlog is gone.
 *    b. Forwarding CPU: with the upstream stopped, `cpu-messages` messages build a backlog;
 *       no more arrive; the upstream starts and the daemon's CPU time (/proc/<pid>/stat)
 *       until the backlog is gone, per row forwarded. The backlog is counted in the
 *       database file from this process, so the count costs the daemon nothing.
 *    `--outage 0` skips 3a. 3b runs `cpu-rounds` times (3a only in the first round), the
 *    targets one after the other in each round, so a shared machine's drift hits each alike;
 *    the summary is the median per target. `--baseline-cli` runs the same once more per
 *    round with another build's daemon: the MQTT-only uplink before pluggable targets
 *    (`git worktree add /tmp/base 5a2876b`, `npm run build` there, then
 *    `--baseline-cli /tmp/base/build/cli/main.js`), and each target's median CPU per row
 *    is printed as a ratio to its median (issue 15 asks for at most 1.2x).
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { connect as tcpConnect } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import Database from 'better-sqlite3'
import mqtt, { type MqttClient } from 'mqtt'
import { startInfluxDB } from '../test/helpers/influxdb.js'
import { freePort } from '../test/helpers/net.js'
import { snapshot } from './process-probe.js'

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
    targets: { type: 'string', default: 'mqtt,influxdb,thingsboard' },
    'cpu-messages': { type: 'string', default: '30000' },
    'baseline-cli': { type: 'string' },
    'cpu-rounds': { type: 'string', default: '3' },
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
const TARGETS = String(flags.targets).split(',') as Kind[]
const CPU_MESSAGES = Number(flags['cpu-messages'])
const CPU_ROUNDS = Math.max(1, Number(flags['cpu-rounds']))
type Kind = 'mqtt' | 'influxdb' | 'thingsboard'
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

/** Where an uplink sends: stoppable and restartable. */
interface Upstream {
  readonly url: string
  start(): Promise<void>
  stop(): Promise<void>
}

/** A real InfluxDB 1.x (Debian's influxd) with the `floxgate` database. */
async function upstreamInflux(): Promise<Upstream & { close(): Promise<void> }> {
  const influx = await startInfluxDB()
  await influx.query('CREATE DATABASE floxgate')
  return { url: influx.url, start: influx.start, stop: influx.stop, close: influx.close }
}

/** The upstream: a real Mosquitto with persistence, stoppable and restartable. */
async function upstreamBroker(): Promise<Upstream & { port: number }> {
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
  return { port, url: `mqtt://127.0.0.1:${port}`, start, stop }
}

interface Daemon {
  readonly proc: ChildProcess
  readonly port: number
  readonly httpPort: number
  readonly dbFile: string
  metric(name: string): Promise<number>
  writeBytes(): number
  stop(): Promise<void>
}

/** The `uplink:` section every build reads: floxgate JSON over MQTT. */
function mqttUplink(url: string, streams = STREAMS): Record<string, unknown> {
  return {
    uplink: {
      url,
      streams,
      maxReplayPerSecond: MAX_REPLAY,
      inflight: 256,
      maxBufferMB: 256,
    },
  }
}

/** One uplink of `kind` with id `default`, so its queue is the `outbox` table. */
function targetUplink(kind: Kind, url: string): Record<string, unknown> {
  const common = {
    id: 'default',
    kind,
    url,
    streams: ['readings'],
    maxReplayPerSecond: MAX_REPLAY,
    maxBufferMB: 256,
  }
  switch (kind) {
    case 'mqtt':
      return { uplinks: [{ ...common, inflight: 256 }] }
    case 'thingsboard':
      return { uplinks: [{ ...common, username: 'bench-gateway-token', inflight: 256 }] }
    case 'influxdb':
      return { uplinks: [{ ...common, database: 'floxgate' }] }
  }
}

async function startDaemon(
  name: string,
  uplink: Record<string, unknown>,
  daemonCli = cli,
): Promise<Daemon> {
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
    ...uplink,
    http: { enabled: true, host: '127.0.0.1', port: httpPort },
    watchdog: { enabled: false },
  }
  const file = join(work, `${name}.yaml`)
  writeFileSync(file, JSON.stringify(config))
  const proc = spawn(process.execPath, [daemonCli, 'start', '--config', file], {
    stdio: ['ignore', 'ignore', 'inherit'],
    env: { ...process.env, NOTIFY_SOCKET: '' },
  })
  children.add(proc)
  const metric = async (m: string) => {
    const text = await (await fetch(`http://127.0.0.1:${httpPort}/metrics`)).text()
    // The sum over every label value (the uplink figures have one series per uplink).
    let sum = 0
    for (const l of text.split('\n'))
      if (l.startsWith(`${m} `) || l.startsWith(`${m}{`))
        sum += Number(l.slice(l.lastIndexOf(' ') + 1))
    return sum
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
    dbFile: join(dataDir, 'floxgate.db'),
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

interface OutageFigures {
  readonly outageSeconds: number
  readonly backlog: number
  readonly ingestRowsPerSecond: number
  readonly reconnectSeconds: number
  readonly replayRows: number
  readonly drainSeconds: number
  readonly replayRowsPerSecond: number
}

/** 3a: the upstream down for OUTAGE_S under a paced ingest, then the replay while it goes on. */
async function outageReplay(d: Daemon, up: Upstream, fleet: DeviceFleet): Promise<OutageFigures> {
  const gapMs = (1000 * DEVICES) / OUTAGE_RATE
  const perDevice = Math.round((OUTAGE_RATE * OUTAGE_S) / DEVICES)
  await up.stop()
  const outageStart = performance.now()
  await fleet.send(perDevice, gapMs, false)
  const outageSeconds = (performance.now() - outageStart) / 1000
  const backlog = await d.metric('floxgate_uplink_backlog_rows')
  const ingestRowsPerSecond = backlog / outageSeconds
  if (backlog === 0)
    throw new Error('no outbox backlog built during the outage: --streams must include readings')
  await up.start()
  const restarted = performance.now()
  // Devices keep sending during the replay; the replay must outrun them.
  const during = fleet.send(Math.round(perDevice / 2), gapMs, false)
  const storedAt = async () => d.metric('floxgate_readings_stored_total')
  let reconnectedAt = 0
  let storedAtReconnect = 0
  let peak = backlog
  await until(
    async () => {
      const b = await d.metric('floxgate_uplink_backlog_rows')
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
  await during
  return {
    outageSeconds,
    backlog,
    ingestRowsPerSecond,
    reconnectSeconds: (reconnectedAt - restarted) / 1000,
    replayRows: peak + inflowRows,
    drainSeconds,
    replayRowsPerSecond: (peak + inflowRows) / drainSeconds,
  }
}

interface CpuFigures {
  readonly rows: number
  readonly cpuMicrosPerRow: number
  readonly rowsPerSecond: number
}

/**
 * 3b: a backlog built while the upstream is down and no more arriving; the daemon's CPU
 * time from the first row forwarded until the last, per row. The backlog is counted from
 * this process in the database file (WAL: a reader never blocks the daemon).
 */
async function forwardingCpu(d: Daemon, up: Upstream, fleet: DeviceFleet): Promise<CpuFigures> {
  await until(
    async () => (await d.metric('floxgate_uplink_backlog_rows')) === 0,
    'the outbox empty',
    300_000,
  )
  await up.stop()
  // QoS 1: each publish is acknowledged after its commit, so all rows are in when it returns.
  await fleet.send(Math.round(CPU_MESSAGES / DEVICES), 0, false)
  const db = new Database(d.dbFile, { readonly: true, fileMustExist: true })
  try {
    const countStmt = db.prepare<[], { n: number }>('SELECT count(*) AS n FROM outbox')
    const count = () => countStmt.get()?.n ?? 0
    const built = count()
    await up.start()
    const pid = d.proc.pid ?? 0
    const poll = async (done: (n: number) => boolean, what: string) => {
      const deadline = Date.now() + 600_000
      for (;;) {
        const n = count()
        if (done(n)) return n
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
        await pause(25)
      }
    }
    // From the first row gone (the session is up): the reconnect wait is not forwarding.
    const rows = await poll((n) => n < built, 'the first rows forwarded')
    const cpu0 = snapshot(pid).cpuSeconds
    const t0 = performance.now()
    await poll((n) => n === 0, 'the backlog forwarded')
    const seconds = (performance.now() - t0) / 1000
    const cpu = snapshot(pid).cpuSeconds - cpu0
    return { rows, cpuMicrosPerRow: (cpu / rows) * 1e6, rowsPerSecond: rows / seconds }
  } finally {
    db.close()
  }
}

/** A daemon with one uplink of `kind` (or another build's `uplink:`), through 3a and 3b. */
async function targetRun(
  name: string,
  uplink: Record<string, unknown>,
  up: Upstream,
  o: { outage: boolean; daemonCli?: string },
): Promise<{ outage: OutageFigures | undefined; cpu: CpuFigures }> {
  const d = await startDaemon(name, uplink, o.daemonCli)
  const fleet = new DeviceFleet()
  await fleet.connect(d.port)
  const outage = o.outage ? await outageReplay(d, up, fleet) : undefined
  const cpu = await forwardingCpu(d, up, fleet)
  await fleet.close()
  await d.stop()
  return { outage, cpu }
}

async function main(): Promise<void> {
  const upstream = await upstreamBroker()

  const d0 = await startDaemon('qos0', mqttUplink(upstream.url))
  const qos0 = await ingestRun(d0, () => qos0Load(d0.port))
  await d0.stop()

  const d1 = await startDaemon('qos1', mqttUplink(upstream.url))
  const fleet = new DeviceFleet()
  await fleet.connect(d1.port)
  const qos1 = await ingestRun(d1, () => fleet.send(COUNT / DEVICES))
  const lat = fleet.latencies.sort((a, b) => a - b)
  await fleet.close()
  await d1.stop()

  const fmt = (n: number) => Math.round(n).toLocaleString('en-US')
  const lines = [
    `durability ${flags.durability}, store.batch maxRows ${BATCH_ROWS} maxDelayMs ${BATCH_DELAY_MS}, ${COUNT} messages (x${ROWS_PER_MESSAGE} readings) from ${DEVICES} devices (QoS 1: ${WINDOW} in flight each), uplink forwarding ${STREAMS.join('+')} to Mosquitto`,
    `QoS 0: ${fmt(qos0.messagesPerSecond)} messages/s (${fmt(qos0.readingsPerSecond)} readings/s), ${fmt(qos0.bytesPerMessage)} B written per message (${fmt(qos0.bytesPerReading)} per reading)`,
    `QoS 1, PUBACK after commit: ${fmt(qos1.messagesPerSecond)} messages/s (${fmt(qos1.readingsPerSecond)} readings/s), ${fmt(qos1.bytesPerMessage)} B written per message (${fmt(qos1.bytesPerReading)} per reading)`,
    `QoS 1 publish-to-PUBACK: p50 ${percentile(lat, 0.5).toFixed(1)} ms, p99 ${percentile(lat, 0.99).toFixed(1)} ms, max ${(lat.at(-1) ?? 0).toFixed(1)} ms`,
    `QoS 1 / QoS 0 messages/s: ${(qos1.messagesPerSecond / qos0.messagesPerSecond).toFixed(2)}; target >= 20,000 readings/s at QoS 1: ${qos1.readingsPerSecond >= 20_000 ? 'met' : 'NOT met'}`,
  ]
  process.stdout.write(`${lines.join('\n')}\n`)

  const influx = TARGETS.includes('influxdb') ? await upstreamInflux() : undefined
  try {
    // µs per row, one per round. Round 1 also runs the outage (3a); later rounds only 3b,
    // the baseline and the targets interleaved, so a shared machine's drift hits each alike.
    const cpu = new Map<string, number[]>()
    const note = (k: string, c: CpuFigures) =>
      cpu.set(k, [...(cpu.get(k) ?? []), c.cpuMicrosPerRow])
    const cpuLine = (k: string, round: number, c: CpuFigures) =>
      `${k}: forwarding CPU ${c.cpuMicrosPerRow.toFixed(1)} µs per row (${fmt(c.rows)} rows at ${fmt(c.rowsPerSecond)} rows/s, round ${round})`
    const baselineCli = flags['baseline-cli']
    for (let round = 1; round <= CPU_ROUNDS; round++) {
      const outage = round === 1 && OUTAGE_S > 0
      if (baselineCli !== undefined) {
        const base = await targetRun(
          `baseline-${round}`,
          mqttUplink(upstream.url, ['readings']),
          upstream,
          {
            outage,
            daemonCli: baselineCli,
          },
        )
        note('baseline', base.cpu)
        const o = base.outage
        if (o !== undefined)
          process.stdout.write(
            `baseline (${baselineCli}, uplink: forwarding readings to Mosquitto): replay ${fmt(o.replayRowsPerSecond)} rows/s = ${(o.replayRowsPerSecond / o.ingestRowsPerSecond).toFixed(1)}x the ingest rate (uplink back ${o.reconnectSeconds.toFixed(1)} s after the restart)\n`,
          )
        process.stdout.write(`${cpuLine('baseline', round, base.cpu)}\n`)
      }
      for (const kind of TARGETS) {
        const up = kind === 'influxdb' ? influx : upstream
        if (up === undefined) throw new Error(`no upstream for ${kind}`)
        const r = await targetRun(`target-${kind}-${round}`, targetUplink(kind, up.url), up, {
          outage,
        })
        note(kind, r.cpu)
        const o = r.outage
        if (o !== undefined) {
          // 0 means unpaced: then only the 5x rule applies.
          const target =
            MAX_REPLAY > 0
              ? Math.min(5 * o.ingestRowsPerSecond, MAX_REPLAY)
              : 5 * o.ingestRowsPerSecond
          const report = [
            `${kind}: outage ${o.outageSeconds.toFixed(1)} s at ${OUTAGE_RATE} messages/s: backlog ${fmt(o.backlog)} rows (${fmt(o.ingestRowsPerSecond)} rows/s into the outbox); uplink back ${o.reconnectSeconds.toFixed(1)} s after the upstream restarted (reconnect backoff)`,
            `${kind}: replay ${fmt(o.replayRows)} rows in ${o.drainSeconds.toFixed(1)} s = ${fmt(o.replayRowsPerSecond)} rows/s (maxReplayPerSecond ${MAX_REPLAY}); ${(o.replayRowsPerSecond / o.ingestRowsPerSecond).toFixed(1)}x the ingest rate; target >= ${fmt(target)} rows/s: ${o.replayRowsPerSecond >= target ? 'met' : 'NOT met'}`,
          ]
          process.stdout.write(`${report.join('\n')}\n`)
        }
        process.stdout.write(`${cpuLine(kind, round, r.cpu)}\n`)
      }
    }
    const median = (xs: readonly number[]) => {
      const v = [...xs].sort((x, y) => x - y)
      return v.length % 2 === 1
        ? (v[(v.length - 1) / 2] ?? Number.NaN)
        : ((v[v.length / 2 - 1] ?? 0) + (v[v.length / 2] ?? 0)) / 2
    }
    const range = (xs: readonly number[]) =>
      `${median(xs).toFixed(1)} µs (${Math.min(...xs).toFixed(1)}-${Math.max(...xs).toFixed(1)})`
    process.stdout.write(
      `forwarding CPU per row, median of ${CPU_ROUNDS} round(s): ${[...cpu].map(([k, xs]) => `${k} ${range(xs)}`).join(', ')}\n`,
    )
    const base = cpu.get('baseline')
    if (base !== undefined) {
      const ratios = TARGETS.map(
        (k) => [k, median(cpu.get(k) ?? [Number.NaN]) / median(base)] as const,
      )
      process.stdout.write(
        `vs the MQTT-only uplink before pluggable targets (medians): ${ratios.map(([k, x]) => `${k} ${x.toFixed(2)}x`).join(', ')}; target <= 1.2x: ${ratios.every(([, x]) => x <= 1.2) ? 'met' : 'NOT met'}\n`,
      )
    }
  } finally {
    await influx?.close()
    await upstream.stop()
  }
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
