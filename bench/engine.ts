/**
 * Engine throughput: a channel source and four processing nodes (parse -> classify ->
 * aggregate -> store), against a baseline that calls the same four functions in a plain
 * async loop over the same kind of channel, fed by the same producer. Rounds alternate
 * engine and baseline; the median of each is reported.
 *
 * Run: `npm run bench:engine` (env BENCH_EVENTS, BENCH_ROUNDS, BENCH_CAPACITY)
 */
import { ChannelEventSource } from '../src/engine/event/channel-source.js'
import { NO_EVENT, SOURCE_CLOSED } from '../src/engine/event/event-node.js'
import { EventDrivenWorkflow } from '../src/engine/event/event-workflow.js'

interface Raw {
  readonly kind: 'raw'
  readonly device: number
  readonly centi: number
}
interface Parsed {
  readonly kind: 'reading'
  readonly device: number
  readonly celsius: number
}
type BenchEvent = Raw | Parsed
type BenchAction = 'default' | 'high' | 'normal' | 'low'

interface Stats {
  count: number
  sum: number
  min: number
  max: number
  stored: number
  checksum: number
}

const newStats = (): Stats => ({
  count: 0,
  sum: 0,
  min: Infinity,
  max: -Infinity,
  stored: 0,
  checksum: 0,
})

// The four functions, shared by the engine's nodes and the baseline loop.
function parse(e: Raw): Parsed {
  return { kind: 'reading', device: e.device, celsius: e.centi / 100 }
}
function classify(r: Parsed): 'high' | 'normal' | 'low' {
  return r.celsius >= 30 ? 'high' : r.celsius <= 10 ? 'low' : 'normal'
}
function aggregate(r: Parsed, s: Stats): void {
  s.count++
  s.sum += r.celsius
  if (r.celsius < s.min) s.min = r.celsius
  if (r.celsius > s.max) s.max = r.celsius
}
function store(r: Parsed, s: Stats): void {
  s.stored++
  s.checksum = (s.checksum + r.device) | 0
}

async function produce(src: ChannelEventSource<BenchEvent>, n: number): Promise<void> {
  for (let i = 0; i < n; i++) {
    const e: Raw = { kind: 'raw', device: i & 63, centi: (i * 37) % 5000 }
    if (!src.trySend(e)) await src.send(e)
  }
  src.close()
}

function buildWorkflow(src: ChannelEventSource<BenchEvent>) {
  return new EventDrivenWorkflow<BenchEvent, Stats, BenchAction>({ id: 'bench' })
    .addNode(src)
    .addNode({
      id: 'parse',
      processEvent: (e) => ({ action: 'default', event: parse(e as Raw) }),
    })
    .addNode({ id: 'classify', processEvent: (e) => classify(e as Parsed) })
    .addNode({
      id: 'aggregate',
      processEvent: (e, s) => {
        aggregate(e as Parsed, s)
        return 'default'
      },
    })
    .addNode({
      id: 'store',
      processEvent: (e, s) => {
        store(e as Parsed, s)
        return 'default'
      },
    })
    .setRoute(src.id, 'default', 'parse')
    .setRoute('parse', 'default', 'classify')
    .setRoute('classify', 'high', 'aggregate')
    .setRoute('classify', 'normal', 'aggregate')
    .setRoute('classify', 'low', 'aggregate')
    .setRoute('aggregate', 'default', 'store')
}

async function engineRound(n: number, capacity: number): Promise<[number, Stats]> {
  const src = new ChannelEventSource<BenchEvent>(capacity, 'bench-source')
  const stats = newStats()
  const wf = buildWorkflow(src)
  const t0 = process.hrtime.bigint()
  const [res] = await Promise.all([wf.execute(stats), produce(src, n)])
  const ns = Number(process.hrtime.bigint() - t0)
  if (res.reason !== 'closed' || res.eventsProcessed !== n || stats.stored !== n) {
    throw new Error(`engine round wrong: ${JSON.stringify(res)} stored=${stats.stored}`)
  }
  return [ns, stats]
}

/**
 * The baseline: the same four functions in a plain async loop over the same
 * channel, one `await receive()` per event.
 */
async function baselineRound(n: number, capacity: number): Promise<[number, Stats]> {
  const src = new ChannelEventSource<BenchEvent>(capacity, 'bench-source')
  const stats = newStats()
  const t0 = process.hrtime.bigint()
  const consume = async () => {
    for (;;) {
      const e = await src.channel.receive()
      if (e === SOURCE_CLOSED) return
      const r = parse(e as Raw)
      classify(r)
      aggregate(r, stats)
      store(r, stats)
    }
  }
  await Promise.all([consume(), produce(src, n)])
  const ns = Number(process.hrtime.bigint() - t0)
  if (stats.stored !== n) throw new Error(`baseline round wrong: stored=${stats.stored}`)
  return [ns, stats]
}

/**
 * A stricter reference, not the target: the loop drains ready events without a promise,
 * and V8 inlines all four functions into it (and removes the parsed object), which no
 * engine dispatching to nodes it does not know can do.
 */
async function drainRound(n: number, capacity: number): Promise<[number, Stats]> {
  const src = new ChannelEventSource<BenchEvent>(capacity, 'bench-source')
  const ch = src.channel
  const stats = newStats()
  const t0 = process.hrtime.bigint()
  const consume = async () => {
    for (;;) {
      let e = ch.tryReceive()
      if (e === NO_EVENT) {
        const w = await ch.receive()
        if (w === SOURCE_CLOSED) return
        e = w
      }
      const r = parse(e as Raw)
      classify(r)
      aggregate(r, stats)
      store(r, stats)
    }
  }
  await Promise.all([consume(), produce(src, n)])
  const ns = Number(process.hrtime.bigint() - t0)
  if (stats.stored !== n) throw new Error(`drain round wrong: stored=${stats.stored}`)
  return [ns, stats]
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.floor(s.length / 2)]!
}

async function main(): Promise<void> {
  const n = Number(process.env.BENCH_EVENTS ?? 2_000_000)
  const rounds = Number(process.env.BENCH_ROUNDS ?? 7)
  const capacity = Number(process.env.BENCH_CAPACITY ?? 1024)
  console.log(
    `floxgate engine bench: ${n} events/round, ${rounds} rounds (median), channel capacity ${capacity}, node ${process.version}`,
  )
  // Warm-up so the JIT has compiled every loop before timing.
  const warm = Math.min(n, 200_000)
  await engineRound(warm, capacity)
  await baselineRound(warm, capacity)
  await drainRound(warm, capacity)
  const eng: number[] = []
  const base: number[] = []
  const drain: number[] = []
  for (let i = 0; i < rounds; i++) {
    eng.push((await engineRound(n, capacity))[0])
    base.push((await baselineRound(n, capacity))[0])
    drain.push((await drainRound(n, capacity))[0])
  }
  const row = (name: string, xs: number[]) => {
    const ns = median(xs) / n
    console.log(
      `${name.padEnd(44)} ${Math.round(1e9 / ns)
        .toLocaleString('en-US')
        .padStart(12)} events/s ${ns.toFixed(1).padStart(7)} ns/event`,
    )
    return ns
  }
  const e = row('engine: channel source + 4 nodes', eng)
  const b = row('baseline: plain async loop (await each)', base)
  const d = row('reference: drain loop, all 4 inlined', drain)
  console.log(
    `engine / baseline: ${(e / b).toFixed(2)}x   engine / reference: ${(e / d).toFixed(2)}x`,
  )
  const rate = 1e9 / e >= 1_000_000
  const ratio = e / b <= 2
  console.log(
    `target: >= 1,000,000 events/s ${rate ? 'met' : 'NOT met'}; <= 2x baseline ${ratio ? 'met' : 'NOT met'}`,
  )
}

main().catch((err: unknown) => {
  console.error(err)
  process.exitCode = 1
})
