/**
 * `npm run bench:gateway`: floxgate against its floor, same publisher, same measures.
 *
 * Each round runs, every process fresh in its own temp folder:
 *  1. flood: the publisher sends --count JSON readings from --devices devices as fast as
 *     the receiver takes them (QoS 0, back-pressure through TCP). Measured: readings/s
 *     from the first publish until all are in SQLite (polled read-only), readings lost,
 *     alerts received against expected, and the receiver's CPU seconds, peak RSS and
 *     bytes written to storage (/proc/<pid>/stat, status, io).
 *  2. paced: --pacedCount readings at --rate readings/s with a crossing every
 *     --pacedCrossEvery readings per device: p50 / p99 publish-to-alert latency
 *     (floxgate only) and the CPU per reading at that rate.
 * The report is the median of the rounds and the ratios to the floor of the same run.
 *
 *   node .bench/bench/gateway.js [--rounds 3] [--count 100000] [--devices 100]
 *     [--crossEvery 50] [--rate 2000] [--pacedCount 20000] [--pacedCrossEvery 20] [--json]
 *     [--node-options="--max-semi-space-size=1"]   (NODE_OPTIONS for floxgate and the floor)
 */
import { parseArgs } from 'node:util'
import Database from 'better-sqlite3'
import {
  type Contender,
  type PublisherResult,
  runPublisher,
  startDaemon,
  startFloor,
} from './contenders.js'
import { MB, type ProcessSnapshot, snapshot } from './process-probe.js'

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '3' },
    count: { type: 'string', default: '100000' },
    devices: { type: 'string', default: '100' },
    crossEvery: { type: 'string', default: '50' },
    rate: { type: 'string', default: '2000' },
    pacedCount: { type: 'string', default: '20000' },
    pacedCrossEvery: { type: 'string', default: '20' },
    json: { type: 'boolean', default: false },
    'node-options': { type: 'string' },
  },
})
const nodeOptions = values['node-options']
const env: NodeJS.ProcessEnv =
  nodeOptions === undefined ? process.env : { ...process.env, NODE_OPTIONS: nodeOptions }
const rounds = Number(values.rounds)
const devices = values.devices!

export interface RunFigures {
  readonly readings: number
  readonly stored: number
  readonly lost: number
  readonly seconds: number
  readonly readingsPerSecond: number
  readonly cpuSeconds: number
  readonly cpuMicrosPerReading: number
  readonly peakRssMB: number
  readonly bytesWrittenPerReading: number
  readonly alertsExpected: number
  readonly alertsReceived: number
  readonly p50Ms: number | null
  readonly p99Ms: number | null
}

/** Rows in `readings` (two per JSON reading: temperature and humidity). */
function rowCounter(file: string): { count(): number; close(): void } {
  const db = new Database(file, { readonly: true, fileMustExist: true })
  const stmt = db.prepare('SELECT count(*) AS n FROM readings')
  return {
    count: () => (stmt.get() as { n: number }).n,
    close: () => db.close(),
  }
}

async function measure(
  c: Contender,
  args: { count: number; crossEvery: number; rate: number; alerts: boolean },
): Promise<RunFigures> {
  const before: ProcessSnapshot = snapshot(c.pid)
  const rows = rowCounter(c.db)
  const target = args.count * 2
  const pub = runPublisher([
    '--port',
    String(c.mqttPort),
    '--count',
    String(args.count),
    '--devices',
    devices,
    '--crossEvery',
    String(args.crossEvery),
    '--rate',
    String(args.rate),
    ...(args.alerts ? ['--alerts'] : []),
  ])
  let result: PublisherResult | undefined
  let failure: unknown
  pub.done.then(
    (r) => {
      result = r
    },
    (err: unknown) => {
      failure = err
    },
  )
  // All stored, or nothing new for 10 s after the publisher ended (readings were lost).
  let stored = rows.count()
  let storedAt = Date.now()
  let lastChange = Date.now()
  for (;;) {
    await new Promise((r) => setTimeout(r, 25))
    const n = rows.count()
    if (n !== stored) {
      stored = n
      storedAt = Date.now()
      lastChange = storedAt
    }
    if (failure !== undefined) throw failure
    if (stored >= target && result !== undefined) break
    if (result !== undefined && Date.now() - lastChange > 10_000) break
  }
  rows.close()
  const after = snapshot(c.pid)
  const r = result!
  const seconds = (storedAt - r.startedAt) / 1000
  const cpu = after.cpuSeconds - before.cpuSeconds
  return {
    readings: args.count,
    stored: stored / 2,
    lost: args.count - stored / 2,
    seconds,
    readingsPerSecond: args.count / seconds,
    cpuSeconds: cpu,
    cpuMicrosPerReading: (cpu / args.count) * 1e6,
    peakRssMB: after.peakRssBytes / MB,
    bytesWrittenPerReading: (after.writeBytes - before.writeBytes) / args.count,
    alertsExpected: args.alerts ? r.expectedAlerts : 0,
    alertsReceived: r.alertsReceived,
    p50Ms: r.p50,
    p99Ms: r.p99,
  }
}

async function once(
  start: () => Promise<Contender>,
  args: Parameters<typeof measure>[1],
): Promise<RunFigures> {
  const c = await start()
  try {
    return await measure(c, args)
  } finally {
    const code = await c.stop()
    if (code !== 0) process.stderr.write(`${c.name} exited with code ${code} on SIGTERM\n`)
  }
}

interface Round {
  readonly flood: { floxgate: RunFigures; floor: RunFigures }
  readonly paced: { floxgate: RunFigures; floor: RunFigures }
}

async function round(): Promise<Round> {
  const count = Number(values.count)
  const flood = { count, crossEvery: Number(values.crossEvery), rate: 0 }
  const paced = {
    count: Number(values.pacedCount),
    crossEvery: Number(values.pacedCrossEvery),
    rate: Number(values.rate),
  }
  const floor = () => startFloor(env)
  const daemon = () => startDaemon({ env })
  const floorFlood = await once(floor, { ...flood, alerts: false })
  const gwFlood = await once(daemon, { ...flood, alerts: true })
  const floorPaced = await once(floor, { ...paced, alerts: false })
  const gwPaced = await once(daemon, { ...paced, alerts: true })
  return {
    flood: { floxgate: gwFlood, floor: floorFlood },
    paced: { floxgate: gwPaced, floor: floorPaced },
  }
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b)
  const mid = Math.floor(s.length / 2)
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2
}

type Key = keyof RunFigures
const medianOf = (runs: readonly RunFigures[], k: Key): number =>
  median(runs.map((r) => (r[k] as number | null) ?? Number.NaN))

const f = (x: number, digits = 1): string =>
  Number.isFinite(x)
    ? x.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits })
    : 'n/a'

async function main(): Promise<void> {
  const all: Round[] = []
  for (let i = 0; i < rounds; i++) {
    const r = await round()
    all.push(r)
    const g = r.flood.floxgate
    const fl = r.flood.floor
    process.stderr.write(
      `round ${i + 1}/${rounds}: floxgate ${f(g.readingsPerSecond, 0)}/s ${f(g.cpuMicrosPerReading)} µs CPU/reading, ` +
        `floor ${f(fl.readingsPerSecond, 0)}/s ${f(fl.cpuMicrosPerReading)} µs; ` +
        `paced p99 ${f(r.paced.floxgate.p99Ms ?? Number.NaN, 2)} ms\n`,
    )
  }
  const gwFlood = all.map((r) => r.flood.floxgate)
  const flFlood = all.map((r) => r.flood.floor)
  const gwPaced = all.map((r) => r.paced.floxgate)
  const flPaced = all.map((r) => r.paced.floor)
  // Ratios are taken per round (same machine state), then the median of those.
  const ratio = (k: Key, runs: 'flood' | 'paced') =>
    median(all.map((r) => (r[runs].floxgate[k] as number) / (r[runs].floor[k] as number)))
  const rows: [string, string, string, string, string][] = [
    ['measure (median of rounds)', 'floxgate', 'floor', 'ratio', 'target'],
    [
      `flood: readings/s (${values.count} readings)`,
      f(medianOf(gwFlood, 'readingsPerSecond'), 0),
      f(medianOf(flFlood, 'readingsPerSecond'), 0),
      f(ratio('readingsPerSecond', 'flood'), 2),
      '>= 50,000',
    ],
    [
      'flood: readings lost (max of rounds)',
      f(Math.max(...gwFlood.map((r) => r.lost)), 0),
      f(Math.max(...flFlood.map((r) => r.lost)), 0),
      '',
      '0',
    ],
    [
      'flood: alerts received / expected',
      `${gwFlood.map((r) => `${r.alertsReceived}/${r.alertsExpected}`).join(', ')}`,
      'n/a',
      '',
      'all',
    ],
    [
      'flood: CPU µs per reading',
      f(medianOf(gwFlood, 'cpuMicrosPerReading')),
      f(medianOf(flFlood, 'cpuMicrosPerReading')),
      f(ratio('cpuMicrosPerReading', 'flood'), 2),
      '<= 1.5x floor',
    ],
    [
      'flood: CPU seconds',
      f(medianOf(gwFlood, 'cpuSeconds'), 2),
      f(medianOf(flFlood, 'cpuSeconds'), 2),
      f(ratio('cpuSeconds', 'flood'), 2),
      '',
    ],
    [
      'flood: peak RSS MB',
      f(medianOf(gwFlood, 'peakRssMB')),
      f(medianOf(flFlood, 'peakRssMB')),
      f(ratio('peakRssMB', 'flood'), 2),
      '<= 80',
    ],
    [
      'flood: bytes written per reading',
      f(medianOf(gwFlood, 'bytesWrittenPerReading')),
      f(medianOf(flFlood, 'bytesWrittenPerReading')),
      f(ratio('bytesWrittenPerReading', 'flood'), 2),
      '<= 100',
    ],
    [
      `paced ${values.rate}/s: publish-to-alert p50 ms`,
      f(medianOf(gwPaced, 'p50Ms'), 2),
      'n/a',
      '',
      '',
    ],
    [
      `paced ${values.rate}/s: publish-to-alert p99 ms`,
      f(medianOf(gwPaced, 'p99Ms'), 2),
      'n/a',
      '',
      '< 10',
    ],
    [
      'paced: alerts received / expected',
      `${gwPaced.map((r) => `${r.alertsReceived}/${r.alertsExpected}`).join(', ')}`,
      'n/a',
      '',
      'all',
    ],
    [
      'paced: readings lost (max of rounds)',
      f(Math.max(...gwPaced.map((r) => r.lost)), 0),
      f(Math.max(...flPaced.map((r) => r.lost)), 0),
      '',
      '0',
    ],
    [
      'paced: CPU µs per reading',
      f(medianOf(gwPaced, 'cpuMicrosPerReading')),
      f(medianOf(flPaced, 'cpuMicrosPerReading')),
      f(ratio('cpuMicrosPerReading', 'paced'), 2),
      '',
    ],
    [
      'paced: peak RSS MB',
      f(medianOf(gwPaced, 'peakRssMB')),
      f(medianOf(flPaced, 'peakRssMB')),
      f(ratio('peakRssMB', 'paced'), 2),
      '',
    ],
    [
      'paced: bytes written per reading',
      f(medianOf(gwPaced, 'bytesWrittenPerReading')),
      f(medianOf(flPaced, 'bytesWrittenPerReading')),
      f(ratio('bytesWrittenPerReading', 'paced'), 2),
      '',
    ],
  ]
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)))
  for (const r of rows) {
    process.stdout.write(`| ${r.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |\n`)
    if (r === rows[0]) process.stdout.write(`|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|\n`)
  }
  process.stdout.write(
    `\n${rounds} rounds; ${values.devices} devices; node ${process.version}; NODE_OPTIONS ${nodeOptions ?? '(none)'}; one reading = one JSON message with temperature and humidity (two rows).\n`,
  )
  if (values.json) process.stdout.write(`${JSON.stringify(all)}\n`)
}

main().catch((err: unknown) => {
  process.stderr.write(`bench:gateway failed: ${err instanceof Error ? err.stack : String(err)}\n`)
  process.exit(1)
})
