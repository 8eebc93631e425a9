/**
 * `npm run bench:pipeline`: the gateway's own cost per sensor message, without sockets.
 *
 * The daemon's workflow (sensor source, parse, classify, alerts, aggregate, store into a
 * real SQLite file) is built from the bench config as the daemon builds it, and fed
 * in-process by an intake that hands over one synthetic JSON reading at a time, with the
 * same backpressure the brokers honour. The baseline, measured in the same run on the
 * same messages, does the same job by hand (JSON.parse, the 30 °C alert, 10 s windows,
 * batched inserts: bench/floor.ts's work without a broker). Both run in this process, in
 * turns, so the broker and the machine's noise drop out and what is left is floxgate's
 * own code: CPU µs per message, garbage-collection time and heap allocated per message.
 *
 *   node .bench/bench/pipeline.js [--count 50000] [--devices 100] [--rounds 5] [--qos 0|1]
 *     [--crossEvery 50]
 *
 * Run it with the shipped V8 flags (npm run bench:pipeline does).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { GCProfiler, getHeapStatistics } from 'node:v8'
import Database from 'better-sqlite3'
import type {
  Publisher,
  SensorIntake,
  SensorMessage,
  SensorMessageHandler,
} from '../src/broker/intake.js'
import { loadConfig } from '../src/config/load.js'
import { buildGatewayParts } from '../src/daemon/gateway-parts.js'
import { buildGatewayWorkflow } from '../src/daemon/gateway-workflow.js'
import { TimerEventSource } from '../src/engine/event/timer-source.js'
import { ReadingIdentity } from '../src/gateway/reading-identity.js'
import { AggregateNode } from '../src/nodes/aggregate-node.js'
import { AlertNode } from '../src/nodes/alert-node.js'
import { ClassifyNode } from '../src/nodes/classify-node.js'
import type { GatewayContext } from '../src/nodes/context.js'
import { HousekeepingNode } from '../src/nodes/housekeeping-node.js'
import { ParseNode } from '../src/nodes/parse-node.js'
import { SensorSource } from '../src/nodes/sensor-source.js'
import { StoreNode } from '../src/nodes/store-node.js'
import { createLogger } from '../src/ops/logger.js'
import { GatewayMetrics } from '../src/ops/metrics.js'
import { RateLimitedLog } from '../src/ops/rate-limited-log.js'
import { openStore } from '../src/store/index.js'
import { benchConfig, HIGH } from './contenders.js'

const { values } = parseArgs({
  options: {
    count: { type: 'string', default: '50000' },
    devices: { type: 'string', default: '100' },
    rounds: { type: 'string', default: '5' },
    qos: { type: 'string', default: '0' },
    crossEvery: { type: 'string', default: '50' },
    /** Run one side only (for an instruction count under valgrind --tool=callgrind). */
    only: { type: 'string' },
  },
})
/** The package's device profiles (this file runs from .bench/bench/). */
const DEVICES_DIR = fileURLToPath(new URL('../../devices', import.meta.url))
const COUNT = Number(values.count)
const DEVICES = Number(values.devices)
const QOS = Number(values.qos) as 0 | 1
const CROSS_EVERY = Number(values.crossEvery)

const NO_ACK = () => {}

/** The publisher's messages (bench/publisher.ts): temperature and humidity, every 50th over 30 °C. */
function messages(): { topic: string; payload: Buffer }[] {
  const t0 = Date.now() - 60_000
  return Array.from({ length: COUNT }, (_, i) => {
    const d = i % DEVICES
    const n = Math.floor(i / DEVICES)
    const hot = CROSS_EVERY > 0 && n % CROSS_EVERY === CROSS_EVERY - 1
    const temperature = hot ? 35 : 20 + (i % 7) / 10
    const payload = `{"temperature":${temperature},"humidity":${40 + (i % 11)},"ts":${t0 + i}}`
    return {
      topic: `sensors/sensor-${String(d).padStart(3, '0')}/telemetry`,
      payload: Buffer.from(payload),
    }
  })
}

interface Figures {
  readonly cpuMicros: number
  readonly gcMillis: number
  readonly heapBytes: number
}

interface GcStat {
  readonly cost: number
  readonly beforeGC: { readonly heapStatistics: { readonly usedHeapSize: number } }
  readonly afterGC: { readonly heapStatistics: { readonly usedHeapSize: number } }
}

/**
 * CPU, GC time and heap bytes allocated for `work`. Allocation is what the heap grew by
 * between collections (v8.GCProfiler reports the used size before and after each one),
 * so the young generation's churn is counted, not only what survives.
 */
async function measure(work: () => Promise<void>): Promise<Figures> {
  const profiler = new GCProfiler()
  const used0 = getHeapStatistics().used_heap_size
  profiler.start()
  const cpu0 = process.cpuUsage()
  await work()
  const cpu = process.cpuUsage(cpu0)
  const usedEnd = getHeapStatistics().used_heap_size
  const stats = (profiler.stop()?.statistics ?? []) as GcStat[]
  let allocated = 0
  let last = used0
  let gcMicros = 0
  for (const g of stats) {
    allocated += g.beforeGC.heapStatistics.usedHeapSize - last
    last = g.afterGC.heapStatistics.usedHeapSize
    gcMicros += g.cost
  }
  allocated += usedEnd - last
  return {
    cpuMicros: (cpu.user + cpu.system) / COUNT,
    gcMillis: gcMicros / 1000,
    heapBytes: allocated / COUNT,
  }
}

async function floxgate(msgs: { topic: string; payload: Buffer }[]): Promise<Figures> {
  const dir = mkdtempSync(join(tmpdir(), 'floxgate-pipeline-'))
  const file = join(dir, 'floxgate.yaml')
  writeFileSync(file, benchConfig(dir, 1, 2, 'warn'))
  const config = loadConfig(file, process.env, { builtinProfilesDir: DEVICES_DIR })
  const store = openStore({
    file: config.store.file,
    durability: config.store.durability,
    batchMaxRows: config.store.batch.maxRows,
    batchMaxDelayMs: config.store.batch.maxDelayMs,
    batchRelaxedDelayMs: config.store.batch.qos0DelayMs,
    batchCommitWhenIdle: config.store.batch.commitWhenIdle,
  })
  const parts = buildGatewayParts(config)
  let handler: SensorMessageHandler | undefined
  const intake: SensorIntake = {
    onMessage: (h) => {
      handler = h
    },
    start: async () => {},
    stop: async () => {},
  }
  let published = 0
  const publisher: Publisher = {
    publish: async () => {
      published++
    },
  }
  const metrics = new GatewayMetrics({ defaultMetrics: false })
  const log = createLogger({ level: 'silent' })
  const nodes = {
    sensors: new SensorSource(intake),
    clock: new TimerEventSource(1000, 'clock'),
    parse: new ParseNode(parts.parser, new ReadingIdentity(store)),
    classify: new ClassifyNode(parts),
    alerts: new AlertNode(publisher, {
      topics: {
        gateway: 'bench',
        alerts: config.alerts.topic,
        aggregates: config.aggregates.topic,
      },
      qos: 1,
      retain: true,
    }),
    housekeeping: new HousekeepingNode(
      parts.rules,
      30_000,
      () => {},
      () => true,
    ),
    aggregate: new AggregateNode(parts.aggregator, publisher, {
      enabled: true,
      topics: {
        gateway: 'bench',
        alerts: config.alerts.topic,
        aggregates: config.aggregates.topic,
      },
      qos: 0,
    }),
    store: new StoreNode(store, { gateway: 'bench', forward: new Set(), retentionEveryMs: 60_000 }),
  }
  const ctx: GatewayContext = { metrics, badInput: new RateLimitedLog(log), log }
  const run = buildGatewayWorkflow(nodes, (err) => {
    throw err
  }).execute(ctx)
  let acked = 0
  const count = () => {
    acked++
  }
  const figures = await measure(async () => {
    for (let i = 0; i < msgs.length; i++) {
      const m = msgs[i]!
      // as the embedded broker's hook builds it
      const message: SensorMessage = {
        topic: m.topic,
        payload: m.payload,
        receivedAt: Date.now(),
        qos: QOS,
        clientId: 'bench',
        delivery:
          QOS === 1
            ? { session: 'sensor:bench', packetId: (i % 65535) + 1, dup: false }
            : undefined,
        ack: QOS === 1 ? count : NO_ACK,
      }
      const wait = handler!(message)
      if (wait !== undefined) await wait
    }
    await nodes.sensors.stop()
    nodes.clock.close()
    await run
    store.flush()
  })
  const rows = store.counts().readings
  store.close()
  metrics.close()
  rmSync(dir, { recursive: true, force: true })
  if (rows !== msgs.length * 2)
    throw new Error(`floxgate stored ${rows} rows of ${msgs.length * 2}`)
  if (QOS === 1 && acked !== msgs.length)
    throw new Error(`floxgate acked ${acked} of ${msgs.length}`)
  if (published === 0) throw new Error('floxgate published no alert')
  return figures
}

/** The same job by hand (bench/floor.ts without its broker). */
async function baseline(msgs: { topic: string; payload: Buffer }[]): Promise<Figures> {
  const dir = mkdtempSync(join(tmpdir(), 'floxgate-pipeline-floor-'))
  const db = new Database(join(dir, 'floor.db'))
  db.pragma('journal_mode = WAL')
  db.pragma('synchronous = FULL')
  db.exec(`CREATE TABLE readings (device TEXT NOT NULL, metric TEXT NOT NULL, ts INTEGER NOT NULL, value REAL NOT NULL);
    CREATE TABLE aggregates (device TEXT, metric TEXT, start INTEGER, min REAL, max REAL, mean REAL, count INTEGER)`)
  const insert = db.prepare('INSERT INTO readings VALUES (?, ?, ?, ?)')
  const insertAggregate = db.prepare('INSERT INTO aggregates VALUES (?, ?, ?, ?, ?, ?, ?)')
  type Row = [string, string, number, number]
  type Window = { start: number; min: number; max: number; sum: number; count: number }
  const commit = db.transaction((rows: Row[], closed: [string, string, Window][]) => {
    for (const r of rows) insert.run(r[0], r[1], r[2], r[3])
    for (const [d, m, w] of closed)
      insertAggregate.run(d, m, w.start, w.min, w.max, w.sum / w.count, w.count)
  })
  const windows = new Map<string, Window>()
  const hot = new Set<string>()
  let rows: Row[] = []
  let closed: [string, string, Window][] = []
  let published = 0
  const publish = async (_topic: string, _payload: string) => {
    published++
  }
  const observe = (device: string, metric: string, ts: number, value: number) => {
    const key = `${device}\u0000${metric}`
    const start = ts - (ts % 10_000)
    let w = windows.get(key)
    if (w !== undefined && w.start !== start) {
      closed.push([device, metric, w])
      void publish(
        `floxgate/aggregates/${device}/${metric}`,
        JSON.stringify({ device, metric, ...w }),
      )
      w = undefined
    }
    if (w === undefined) windows.set(key, { start, min: value, max: value, sum: value, count: 1 })
    else {
      if (value < w.min) w.min = value
      if (value > w.max) w.max = value
      w.sum += value
      w.count++
    }
  }
  let acked = 0
  const figures = await measure(async () => {
    for (let i = 0; i < msgs.length; i++) {
      const m = msgs[i]!
      const device = m.topic.slice('sensors/'.length, m.topic.length - '/telemetry'.length)
      const r = JSON.parse(m.payload.toString()) as {
        temperature: number
        humidity: number
        ts: number
      }
      const was = hot.has(device)
      if (!was && r.temperature > HIGH) hot.add(device)
      else if (was && r.temperature < HIGH - 1) hot.delete(device)
      if (was !== hot.has(device))
        void publish(
          `floxgate/alerts/${device}/temperature/too-hot`,
          JSON.stringify({
            device,
            state: was ? 'cleared' : 'raised',
            value: r.temperature,
            ts: r.ts,
          }),
        )
      observe(device, 'temperature', r.ts, r.temperature)
      observe(device, 'humidity', r.ts, r.humidity)
      rows.push(
        [device, 'temperature', r.ts, r.temperature],
        [device, 'humidity', r.ts, r.humidity],
      )
      if (rows.length >= 500) {
        commit(rows, closed)
        acked += rows.length / 2
        rows = []
        closed = []
        // a broker would deliver the next messages on a later turn of the loop
        await new Promise((res) => setImmediate(res))
      }
    }
    commit(rows, closed)
    acked += rows.length / 2
  })
  db.close()
  rmSync(dir, { recursive: true, force: true })
  if (acked !== msgs.length || published === 0) throw new Error('the baseline did not do its job')
  return figures
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.floor(s.length / 2)]!
}

const msgs = messages()
const runs: { floxgate: Figures[]; baseline: Figures[] } = { floxgate: [], baseline: [] }
for (let round = 0; round < Number(values.rounds); round++) {
  // taking turns, which goes first alternating: a drift of the machine hits both
  const order =
    round % 2 === 0 ? (['floxgate', 'baseline'] as const) : (['baseline', 'floxgate'] as const)
  for (const who of order)
    runs[who].push(await (who === 'floxgate' ? floxgate(msgs) : baseline(msgs)))
  const f = runs.floxgate.at(-1)!
  const b = runs.baseline.at(-1)!
  console.log(
    `round ${round + 1}: floxgate ${f.cpuMicros.toFixed(1)} µs ${f.gcMillis.toFixed(0)} ms GC ${(f.heapBytes / 1024).toFixed(2)} KiB; ` +
      `baseline ${b.cpuMicros.toFixed(1)} µs ${b.gcMillis.toFixed(0)} ms GC ${(b.heapBytes / 1024).toFixed(2)} KiB`,
  )
}
if (values.only !== undefined) process.exit(0)
const row = (name: string, pick: (f: Figures) => number, digits: number) => {
  const f = median(runs.floxgate.map(pick))
  const b = median(runs.baseline.map(pick))
  // the median of each round's ratio: both sides of a round saw the same machine
  const ratio = median(runs.floxgate.map((x, i) => pick(x) / pick(runs.baseline[i]!)))
  return `| ${name} | ${f.toFixed(digits)} | ${b.toFixed(digits)} | ${ratio.toFixed(2)} |`
}
console.log(`
### Pipeline without sockets (${COUNT} messages from ${DEVICES} devices, QoS ${QOS}, median of ${values.rounds} rounds)

| per message (median) | floxgate | by hand | ratio (median of rounds) |
|---|---|---|---|
${row('CPU µs', (f) => f.cpuMicros, 1)}
${row('GC ms (whole run)', (f) => f.gcMillis, 0)}
${row('heap allocated, bytes', (f) => f.heapBytes, 0)}

node ${process.version}; ${process.execArgv.join(' ') || 'no V8 flags'}`)
