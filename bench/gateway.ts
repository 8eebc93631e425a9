/**
 * `npm run bench:gateway`: floxgate against a hand-written gateway doing the same job
 * (bench/floor.ts), per broker mode, same publisher, same data, same V8 flags.
 *
 * Per round, for each broker mode (embedded; external through a fresh Mosquitto) and
 * each QoS (0, 1), every process fresh in its own temp folder, floor and floxgate taking
 * turns (which goes first alternates per round):
 *  1. flood: --count readings from --devices devices as fast as the receiver takes them;
 *  2. paced: --pacedCount readings at --rate readings/s;
 * then, all at once (the load is too small for them to disturb each other):
 *  3. slow: --slowRate readings/s for --slowSeconds, every (mode, QoS, contender);
 *  4. idle: floxgate and the floor up with no readings for the same --slowSeconds;
 *  5. preset: floxgate alone, the flood of the first mode and QoS, once as flat JSON and
 *     once as Tasmota payloads through the tasmota preset: CPU per reading as a ratio.
 * Measured on the receiver's /proc/<pid> (stat, status, io): CPU µs per reading, peak RSS
 * (VmHWM), steady RSS (median of samples over the second half of the run), bytes written
 * per reading (io write_bytes), readings/s until 99 % are in SQLite (polled read-only; the rest may wait for a batch timer),
 * lost readings; on the publisher: p50/p99 publish-to-alert (both contenders publish
 * floxgate's alert topics) and publish-to-PUBACK (QoS 1). The report is the median of the
 * rounds and the median of per-round ratios, each against its target.
 *
 *   node .bench/bench/gateway.js [--rounds 3] [--count 100000] [--devices 100]
 *     [--crossEvery 50] [--rate 2000] [--pacedCount 20000] [--pacedCrossEvery 20]
 *     [--slowRate 20] [--slowSeconds 60] [--slowCrossEvery 0] [--modes embedded,external] [--qos 0,1] [--json]
 *     [--node-options="--max-semi-space-size=1 --max-old-space-size=128"]  (both; the shipped flags)
 *     [--cpu-prof DIR]   (a V8 CPU profile of every contender run, file names `CPU.<date>.<pid>...`)
 */
import { parseArgs } from 'node:util'
import Database from 'better-sqlite3'
import { type Mosquitto, startMosquitto } from '../test/helpers/mosquitto.js'
import {
  type BrokerMode,
  type Contender,
  type PublisherResult,
  runPublisher,
  startDaemon,
  startFloor,
} from './contenders.js'
import { MB, type ProcessSnapshot, snapshot } from './process-probe.js'

/** The V8 flags `npm start`, the systemd unit and the single executable ship with. */
const SHIPPED_FLAGS = '--max-semi-space-size=1 --max-old-space-size=128'

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '3' },
    count: { type: 'string', default: '100000' },
    devices: { type: 'string', default: '100' },
    crossEvery: { type: 'string', default: '50' },
    rate: { type: 'string', default: '2000' },
    pacedCount: { type: 'string', default: '20000' },
    pacedCrossEvery: { type: 'string', default: '20' },
    slowRate: { type: 'string', default: '20' },
    slowSeconds: { type: 'string', default: '60' },
    slowCrossEvery: { type: 'string', default: '0' },
    modes: { type: 'string', default: 'embedded,external' },
    qos: { type: 'string', default: '0,1' },
    json: { type: 'boolean', default: false },
    'node-options': { type: 'string', default: SHIPPED_FLAGS },
    'cpu-prof': { type: 'string' },
  },
})
const nodeOptions = values['node-options']!
const env: NodeJS.ProcessEnv = { ...process.env, NODE_OPTIONS: nodeOptions }
const rounds = Number(values.rounds)
/** --cpu-prof DIR: both contenders write a V8 CPU profile per run there (not timed runs). */
const nodeArgs =
  values['cpu-prof'] === undefined ? [] : ['--cpu-prof', `--cpu-prof-dir=${values['cpu-prof']}`]
const devices = values.devices!
const MODES = values.modes!.split(',') as BrokerMode[]
const QOS = values.qos!.split(',').map(Number) as (0 | 1)[]
const LOADS = ['flood', 'paced', 'slow'] as const
type Load = (typeof LOADS)[number]
type Who = 'floxgate' | 'floor'

export interface RunFigures {
  readonly readings: number
  readonly lost: number
  readonly readingsPerSecond: number
  readonly cpuMicrosPerReading: number
  readonly peakRssMB: number
  readonly steadyRssMB: number
  readonly bytesWrittenPerReading: number
  readonly alertsExpected: number
  readonly alertsReceived: number
  readonly alertP50Ms: number | null
  readonly alertP99Ms: number | null
  readonly ackP50Ms: number | null
  readonly ackP99Ms: number | null
}

interface Load_ {
  readonly count: number
  readonly crossEvery: number
  readonly rate: number
  readonly qos: 0 | 1
}

function loadOf(load: Load, qos: 0 | 1): Load_ {
  if (load === 'flood')
    return { count: Number(values.count), crossEvery: Number(values.crossEvery), rate: 0, qos }
  if (load === 'paced')
    return {
      count: Number(values.pacedCount),
      crossEvery: Number(values.pacedCrossEvery),
      rate: Number(values.rate),
      qos,
    }
  const rate = Number(values.slowRate)
  // No crossings by default: at 20/s from 100 devices a crossing every 10 readings would
  // make alerts a fifth of the traffic, and each alert commits at once (notifications).
  const crossEvery = Number(values.slowCrossEvery)
  return { count: Math.round(rate * Number(values.slowSeconds)), crossEvery, rate, qos }
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

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms))

/** Share of the readings stored by the time throughput is measured at. */
const NEARLY_ALL = 0.99

function median(xs: readonly number[]): number {
  const s = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b)
  if (s.length === 0) return Number.NaN
  const mid = Math.floor(s.length / 2)
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2
}

async function measure(
  c: Contender,
  port: number,
  load: Load_,
  payload: Payload = 'flat',
): Promise<RunFigures> {
  const before: ProcessSnapshot = snapshot(c.pid)
  const rows = rowCounter(c.db)
  const target = load.count * 2
  const pub = runPublisher([
    ...['--port', String(port), '--count', String(load.count), '--devices', devices],
    ...['--crossEvery', String(load.crossEvery), '--rate', String(load.rate)],
    ...['--qos', String(load.qos), '--alerts', '--alertWaitMs', '15000'],
    ...['--payload', payload],
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
  // All stored, or nothing new for 15 s after the publisher ended (readings were lost);
  // longer than floxgate's store.batch.qos0DelayMs (10 s), which QoS 0 rows may wait.
  const rss: { at: number; bytes: number }[] = []
  const t0 = Date.now()
  let stored = rows.count()
  let lastChange = Date.now()
  // Throughput is timed to 99 % stored: the last partial batch of QoS 0 rows may wait for
  // its timer (floxgate's store.batch.qos0DelayMs, 10 s; the floor's 1 s), and that wait
  // is not the rate at which readings were taken in.
  let nearlyAllAt: number | undefined
  for (;;) {
    await pause(25)
    rss.push({ at: Date.now(), bytes: snapshot(c.pid).rssBytes })
    const n = rows.count()
    if (n !== stored) {
      stored = n
      lastChange = Date.now()
      if (nearlyAllAt === undefined && stored >= NEARLY_ALL * target) nearlyAllAt = lastChange
    }
    if (failure !== undefined) throw failure
    if (stored >= target && result !== undefined) break
    if (result !== undefined && Date.now() - lastChange > 15_000) break
  }
  rows.close()
  const after = snapshot(c.pid)
  const r = result!
  const seconds = ((nearlyAllAt ?? lastChange) - r.startedAt) / 1000
  const cpu = after.cpuSeconds - before.cpuSeconds
  const half = t0 + (Date.now() - t0) / 2
  return {
    readings: load.count,
    lost: load.count - stored / 2,
    readingsPerSecond: (NEARLY_ALL * load.count) / seconds,
    cpuMicrosPerReading: (cpu / load.count) * 1e6,
    peakRssMB: after.peakRssBytes / MB,
    steadyRssMB: median(rss.filter((s) => s.at >= half).map((s) => s.bytes)) / MB,
    bytesWrittenPerReading: (after.writeBytes - before.writeBytes) / load.count,
    alertsExpected: r.expectedAlerts,
    alertsReceived: r.alertsReceived,
    alertP50Ms: r.p50,
    alertP99Ms: r.p99,
    ackP50Ms: r.ackP50,
    ackP99Ms: r.ackP99,
  }
}

/** One contender in one broker mode, with its own Mosquitto in external mode. */
interface Running {
  readonly contender: Contender
  /** The port the publisher talks to. */
  readonly port: number
  stop(): Promise<void>
}

async function launch(who: Who, mode: BrokerMode): Promise<Running> {
  let mosquitto: Mosquitto | undefined
  if (mode === 'external')
    mosquitto = await startMosquitto({
      // latency is the gateways', not Nagle's; both take up to 1,000 QoS 1 in flight
      extraConfig: ['set_tcp_nodelay true', 'max_inflight_messages 1000'],
    })
  const url = mosquitto?.url
  const contender =
    who === 'floor'
      ? await startFloor(env, url, nodeArgs)
      : await startDaemon({ env, externalUrl: url, nodeArgs })
  return {
    contender,
    port: mosquitto?.port ?? contender.mqttPort,
    stop: async () => {
      const code = await contender.stop()
      if (code !== 0) process.stderr.write(`${who} (${mode}) exited with ${code} on SIGTERM\n`)
      await mosquitto?.close()
    },
  }
}

/**
 * flat: the bench's own JSON; tasmota: the same readings as Tasmota payloads through the
 * tasmota preset (nested sensor object, TempUnit, a zone-less Time), floxgate only.
 */
type Payload = 'flat' | 'tasmota'

async function once(
  who: Who,
  mode: BrokerMode,
  load: Load_,
  payload: Payload = 'flat',
): Promise<RunFigures> {
  const run = await launch(who, mode)
  try {
    return await measure(run.contender, run.port, load, payload)
  } finally {
    await run.stop()
  }
}

/** CPU % of one core over `seconds` of a contender up with nothing to do. */
async function idle(who: Who, mode: BrokerMode, seconds: number): Promise<number> {
  const run = await launch(who, mode)
  try {
    await pause(2000) // start-up work (migrations, first timers) is not idling
    const before = snapshot(run.contender.pid)
    await pause(seconds * 1000)
    const after = snapshot(run.contender.pid)
    return ((after.cpuSeconds - before.cpuSeconds) / seconds) * 100
  } finally {
    await run.stop()
  }
}

type Key = `${BrokerMode} qos${0 | 1} ${Load}`
const keyOf = (mode: BrokerMode, qos: 0 | 1, load: Load): Key => `${mode} qos${qos} ${load}`
interface Round {
  readonly runs: Partial<Record<Key, Record<Who, RunFigures>>>
  readonly idlePercent: Record<BrokerMode, Record<Who, number>>
  /** floxgate, first mode and QoS, flood: the flat path and the tasmota preset in turn. */
  readonly preset: Record<Payload, RunFigures>
}

async function round(index: number): Promise<Round> {
  const order: Who[] = index % 2 === 0 ? ['floor', 'floxgate'] : ['floxgate', 'floor']
  const runs: Round['runs'] = {}
  for (const mode of MODES)
    for (const qos of QOS)
      for (const load of ['flood', 'paced'] as const) {
        const figures = {} as Record<Who, RunFigures>
        for (const who of order) figures[who] = await once(who, mode, loadOf(load, qos))
        runs[keyOf(mode, qos, load)] = figures
        const g = figures.floxgate
        const fl = figures.floor
        process.stderr.write(
          `round ${index + 1}/${rounds} ${keyOf(mode, qos, load)}: floxgate ${f(g.readingsPerSecond, 0)}/s ` +
            `${f(g.cpuMicrosPerReading)} µs, floor ${f(fl.readingsPerSecond, 0)}/s ${f(fl.cpuMicrosPerReading)} µs\n`,
        )
      }
  // The preset's cost against the flat path: same daemon, readings, load; order alternates.
  const presetLoad = loadOf('flood', QOS[0]!)
  const preset = {} as Record<Payload, RunFigures>
  for (const payload of index % 2 === 0
    ? (['flat', 'tasmota'] as const)
    : (['tasmota', 'flat'] as const))
    preset[payload] = await once('floxgate', MODES[0]!, presetLoad, payload)
  process.stderr.write(
    `round ${index + 1}/${rounds} preset: flat ${f(preset.flat.cpuMicrosPerReading)} µs, tasmota ${f(preset.tasmota.cpuMicrosPerReading)} µs per reading\n`,
  )
  // slow and idle: everything at once, for the same wall-clock time
  const seconds = Number(values.slowSeconds)
  const slow = MODES.flatMap((mode) =>
    QOS.flatMap((qos) =>
      (['floor', 'floxgate'] as const).map(async (who) => ({
        key: keyOf(mode, qos, 'slow'),
        who,
        figures: await once(who, mode, loadOf('slow', qos)),
      })),
    ),
  )
  const idles = MODES.flatMap((mode) =>
    (['floor', 'floxgate'] as const).map(async (who) => ({
      mode,
      who,
      percent: await idle(who, mode, seconds),
    })),
  )
  for (const s of await Promise.all(slow)) {
    const at = runs[s.key] ?? ({} as Record<Who, RunFigures>)
    at[s.who] = s.figures
    runs[s.key] = at
  }
  const idlePercent = {} as Round['idlePercent']
  for (const i of await Promise.all(idles)) {
    idlePercent[i.mode] ??= {} as Record<Who, number>
    idlePercent[i.mode][i.who] = i.percent
  }
  process.stderr.write(`round ${index + 1}/${rounds}: slow and idle done\n`)
  return { runs, idlePercent, preset }
}

const f = (x: number, digits = 1): string =>
  Number.isFinite(x)
    ? x.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits })
    : 'n/a'

type Figure = keyof RunFigures
interface Line {
  readonly label: string
  readonly gw: number
  readonly fl: number
  readonly ratio?: number
  readonly digits: number
  /** The target and whether it held; absent: reported, no target. */
  readonly target?: string
  readonly held?: boolean
}

function lines(all: readonly Round[], mode: BrokerMode, qos: 0 | 1): Line[] {
  const out: Line[] = []
  const med = (load: Load, who: Who, k: Figure) =>
    median(
      all.map((r) => (r.runs[keyOf(mode, qos, load)]?.[who][k] as number | null) ?? Number.NaN),
    )
  const ratio = (load: Load, k: Figure) =>
    median(
      all.map((r) => {
        const x = r.runs[keyOf(mode, qos, load)]
        return x ? (x.floxgate[k] as number) / (x.floor[k] as number) : Number.NaN
      }),
    )
  const worst = (load: Load, who: Who, k: Figure) =>
    Math.max(...all.map((r) => (r.runs[keyOf(mode, qos, load)]?.[who][k] as number) ?? 0))
  const row = (load: Load, label: string, k: Figure, digits: number, target?: Target) => {
    const gw = med(load, 'floxgate', k)
    const fl = med(load, 'floor', k)
    const ra = ratio(load, k)
    const l: Line = { label: `${load}: ${label}`, gw, fl, ratio: ra, digits }
    out.push(target ? { ...l, target: target.text, held: target.held(gw, fl, ra) } : l)
  }
  const counts = (load: Load) => {
    const lost = (who: Who) => worst(load, who, 'lost')
    out.push({
      label: `${load}: readings lost (max of rounds)`,
      gw: lost('floxgate'),
      fl: lost('floor'),
      digits: 0,
      target: '0',
      held: lost('floxgate') === 0,
    })
    const missing = (who: Who) =>
      Math.max(
        ...all.map((r) => {
          const x = r.runs[keyOf(mode, qos, load)]?.[who]
          return x ? x.alertsExpected - x.alertsReceived : 0
        }),
      )
    out.push({
      label: `${load}: alerts missing (max of rounds)`,
      gw: missing('floxgate'),
      fl: missing('floor'),
      digits: 0,
      target: '0',
      held: missing('floxgate') <= 0,
    })
  }
  const le = (limit: number): Target => ({ text: `<= ${limit}`, held: (g) => g <= limit })
  const ratioLe = (limit: number): Target => ({
    text: `<= ${limit}x floor`,
    held: (_g, _f, r) => r <= limit,
  })
  const plus = (extra: number): Target => ({
    text: `<= floor + ${extra}`,
    held: (g, fl) => g <= fl + extra,
  })
  row('flood', 'readings/s', 'readingsPerSecond', 0, {
    text: '>= 0.8x floor',
    held: (_g, _f, r) => r >= 0.8,
  })
  row('flood', 'CPU µs per reading', 'cpuMicrosPerReading', 1, ratioLe(1.5))
  row('flood', 'peak RSS MB', 'peakRssMB', 1, plus(15))
  row('flood', 'bytes written per reading', 'bytesWrittenPerReading', 0, le(100))
  if (qos === 1) row('flood', 'publish-to-PUBACK p99 ms', 'ackP99Ms', 1)
  counts('flood')
  row('paced', 'CPU µs per reading', 'cpuMicrosPerReading', 1, ratioLe(1.5))
  row('paced', 'steady RSS MB', 'steadyRssMB', 1, le(80))
  row('paced', 'peak RSS MB', 'peakRssMB', 1)
  row('paced', 'bytes written per reading', 'bytesWrittenPerReading', 0, le(100))
  row('paced', 'publish-to-alert p50 ms', 'alertP50Ms', 2)
  row('paced', 'publish-to-alert p99 ms', 'alertP99Ms', 2, plus(2))
  if (qos === 1) {
    row('paced', 'publish-to-PUBACK p50 ms', 'ackP50Ms', 2)
    row('paced', 'publish-to-PUBACK p99 ms', 'ackP99Ms', 2)
  }
  counts('paced')
  row('slow', 'CPU µs per reading', 'cpuMicrosPerReading', 0)
  row('slow', 'steady RSS MB', 'steadyRssMB', 1)
  row('slow', 'bytes written per reading', 'bytesWrittenPerReading', 0, le(100))
  row('slow', 'publish-to-alert p99 ms', 'alertP99Ms', 2)
  if (qos === 1) row('slow', 'publish-to-PUBACK p99 ms', 'ackP99Ms', 2)
  counts('slow')
  return out
}

interface Target {
  readonly text: string
  held(gw: number, floor: number, ratio: number): boolean
}

function table(rows: readonly string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)))
  const fmt = (r: readonly string[]) => `| ${r.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`
  return [
    fmt(rows[0]!),
    `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`,
    ...rows.slice(1).map(fmt),
  ].join('\n')
}

const verdict = (held: boolean | undefined) => (held === undefined ? '' : held ? 'held' : 'MISSED')

async function main(): Promise<void> {
  const all: Round[] = []
  for (let i = 0; i < rounds; i++) all.push(await round(i))
  const slowLabel = `slow = ${values.slowRate}/s for ${values.slowSeconds} s`
  for (const mode of MODES)
    for (const qos of QOS) {
      const header = ['measure (median of rounds)', 'floxgate', 'floor', 'ratio', 'target', '']
      const body = lines(all, mode, qos).map((l) => [
        l.label,
        f(l.gw, l.digits),
        f(l.fl, l.digits),
        l.ratio === undefined ? '' : f(l.ratio, 2),
        l.target ?? '',
        verdict(l.held),
      ])
      process.stdout.write(
        `\n### ${mode} broker, QoS ${qos} (flood = ${values.count} readings unpaced; paced = ${values.pacedCount} at ${values.rate}/s; ${slowLabel})\n\n${table([header, ...body])}\n`,
      )
    }
  const idleRows = MODES.map((mode) => {
    const gw = median(all.map((r) => r.idlePercent[mode].floxgate))
    const fl = median(all.map((r) => r.idlePercent[mode].floor))
    return [`idle CPU % of one core, ${mode}`, f(gw, 2), f(fl, 2), '', '<= 0.5', verdict(gw <= 0.5)]
  })
  process.stdout.write(
    `\n### Idle (${values.slowSeconds} s up, no readings)\n\n${table([['measure (median of rounds)', 'floxgate', 'floor', '', 'target', ''], ...idleRows])}\n`,
  )
  const presetMed = (p: Payload, k: Figure) => median(all.map((r) => r.preset[p][k] as number))
  const presetRatio = (k: Figure) =>
    median(all.map((r) => (r.preset.tasmota[k] as number) / (r.preset.flat[k] as number)))
  const cpuRatio = presetRatio('cpuMicrosPerReading')
  const presetRows = [
    [
      'readings/s',
      f(presetMed('tasmota', 'readingsPerSecond'), 0),
      f(presetMed('flat', 'readingsPerSecond'), 0),
      f(presetRatio('readingsPerSecond'), 2),
      '',
      '',
    ],
    [
      'CPU µs per reading',
      f(presetMed('tasmota', 'cpuMicrosPerReading')),
      f(presetMed('flat', 'cpuMicrosPerReading')),
      f(cpuRatio, 2),
      '<= 1.3x flat',
      verdict(cpuRatio <= 1.3),
    ],
    [
      'readings lost (max of rounds)',
      f(Math.max(...all.map((r) => r.preset.tasmota.lost)), 0),
      f(Math.max(...all.map((r) => r.preset.flat.lost)), 0),
      '',
      '0',
      verdict(all.every((r) => r.preset.tasmota.lost === 0)),
    ],
  ]
  process.stdout.write(
    `\n### Preset path: tasmota preset vs flat JSON (floxgate, ${MODES[0]} broker, QoS ${QOS[0]}, flood of ${values.count})\n\n${table([['measure (median of rounds)', 'tasmota', 'flat', 'ratio', 'target', ''], ...presetRows])}\n`,
  )
  process.stdout.write(
    `\n${rounds} rounds; ${devices} devices; node ${process.version}; NODE_OPTIONS ${nodeOptions} (both contenders); one reading = one JSON message with temperature and humidity (two rows).\n`,
  )
  if (values.json) process.stdout.write(`${JSON.stringify(all)}\n`)
}

main().catch((err: unknown) => {
  process.stderr.write(`bench:gateway failed: ${err instanceof Error ? err.stack : String(err)}\n`)
  process.exit(1)
})
