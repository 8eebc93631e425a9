/**
 * `npm run bench:device`: the figures of issue 5, for the npm install (`node
 * build/cli/main.js`) and, when it has been built (`npm run package`), the single
 * executable `dist/floxgate-linux-x64`, with the same daemon arguments:
 *  - time from spawn to `READY=1` on a NOTIFY_SOCKET owned by the bench (median of
 *    --starts starts),
 *  - RSS right after READY=1, then every 10 s while a publisher sends --rate readings/s
 *    from 100 devices for --minutes minutes; the steady RSS is the median of the last
 *    minute's samples (or of all samples for shorter runs), the peak is VmHWM,
 *  - the size on disk: the executable, or build/ plus the production node_modules.
 *
 *   node .bench/bench/device.js [--minutes 5] [--rate 2000] [--starts 5]
 *     [--executable dist/floxgate-linux-x64] [--skip-npm] [--skip-executable]
 *     [--node-options="--max-semi-space-size=1"]   (NODE_OPTIONS for both targets)
 */
import { execFileSync } from 'node:child_process'
import { existsSync, statSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { runPublisher, startDaemon } from './contenders.js'
import { openNotifySocket } from './notify-socket.js'
import { MB, snapshot } from './process-probe.js'

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..')

const { values } = parseArgs({
  options: {
    minutes: { type: 'string', default: '5' },
    rate: { type: 'string', default: '2000' },
    starts: { type: 'string', default: '5' },
    executable: { type: 'string', default: join(ROOT, 'dist', 'floxgate-linux-x64') },
    'skip-npm': { type: 'boolean', default: false },
    'skip-executable': { type: 'boolean', default: false },
    'node-options': { type: 'string' },
  },
})
const nodeOptions = values['node-options']

interface Target {
  readonly name: string
  /** Executable and leading args; `start --config FILE` is appended. */
  readonly command: readonly string[]
  readonly sizeBytes: number
  readonly sizeWhat: string
}

interface StartFigures {
  readonly readyMs: number
  readonly rssAtReadyMB: number
}

async function startOnce(t: Target) {
  const notify = await openNotifySocket()
  const ready = notify.when('READY=1')
  const daemon = await startDaemon({
    command: t.command,
    env: {
      ...process.env,
      NOTIFY_SOCKET: notify.path,
      ...(nodeOptions === undefined ? {} : { NODE_OPTIONS: nodeOptions }),
    },
  })
  const readyAt = await ready
  const figures: StartFigures = {
    readyMs: readyAt - daemon.startedAt,
    rssAtReadyMB: snapshot(daemon.pid).rssBytes / MB,
  }
  return { daemon, figures, notify }
}

async function measureStarts(t: Target, n: number): Promise<StartFigures[]> {
  const out: StartFigures[] = []
  for (let i = 0; i < n; i++) {
    const { daemon, figures, notify } = await startOnce(t)
    out.push(figures)
    await daemon.stop()
    await notify.close()
  }
  return out
}

interface SteadyFigures {
  readonly samples: { readonly minute: number; readonly rssMB: number; readonly anonMB: number }[]
  readonly steadyRssMB: number
  readonly steadyAnonMB: number
  readonly peakRssMB: number
  readonly cpuPercent: number
  readonly lost: number
}

async function measureSteady(t: Target, minutes: number, rate: number): Promise<SteadyFigures> {
  const { daemon, notify } = await startOnce(t)
  try {
    const count = Math.round(minutes * 60 * rate)
    const before = snapshot(daemon.pid)
    const started = performance.now()
    const pub = runPublisher([
      '--port',
      String(daemon.mqttPort),
      '--count',
      String(count),
      '--devices',
      '100',
      '--rate',
      String(rate),
      '--crossEvery',
      '500',
      '--prefix',
      'device-',
    ])
    let finished = false
    let failure: unknown
    pub.done.then(
      () => {
        finished = true
      },
      (err: unknown) => {
        failure = err
        finished = true
      },
    )
    const samples: { minute: number; rssMB: number; anonMB: number }[] = []
    while (!finished) {
      await new Promise((r) => setTimeout(r, 1000))
      const elapsed = performance.now() - started
      if (samples.length === 0 || elapsed / 1000 >= (samples.length + 1) * 10 - 0.5) {
        const snap = snapshot(daemon.pid)
        samples.push({
          minute: elapsed / 60_000,
          rssMB: snap.rssBytes / MB,
          anonMB: snap.anonRssBytes / MB,
        })
        process.stderr.write(
          `  ${t.name}: ${(elapsed / 60_000).toFixed(1)} min, RSS ${samples.at(-1)!.rssMB.toFixed(1)} MB\n`,
        )
      }
    }
    if (failure !== undefined) throw failure
    const after = snapshot(daemon.pid)
    const seconds = (performance.now() - started) / 1000
    const lastMinute = samples.filter((s) => s.minute >= minutes - 1)
    const window = lastMinute.length > 0 ? lastMinute : samples
    const steady = median(window.map((s) => s.rssMB))
    const steadyAnon = median(window.map((s) => s.anonMB))
    const lost = await storedShortfall(daemon.db, count)
    return {
      samples,
      steadyRssMB: steady,
      steadyAnonMB: steadyAnon,
      peakRssMB: after.peakRssBytes / MB,
      cpuPercent: ((after.cpuSeconds - before.cpuSeconds) / seconds) * 100,
      lost,
    }
  } finally {
    await daemon.stop()
    await notify.close()
  }
}

/** Readings published but not in SQLite, once the group commit had its moment. */
async function storedShortfall(file: string, published: number): Promise<number> {
  const { default: Database } = await import('better-sqlite3')
  const db = new Database(file, { readonly: true, fileMustExist: true })
  try {
    const deadline = Date.now() + 10_000
    let rows = 0
    for (;;) {
      rows = (db.prepare('SELECT count(*) AS n FROM readings').get() as { n: number }).n
      if (rows >= published * 2 || Date.now() > deadline) break
      await new Promise((r) => setTimeout(r, 100))
    }
    return published - rows / 2
  } finally {
    db.close()
  }
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b)
  const mid = Math.floor(s.length / 2)
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2
}

/** build/ plus every production dependency, as `npm ci --omit=dev` would install them. */
function npmInstallBytes(): number {
  const paths = execFileSync('npm', ['ls', '--omit=dev', '--all', '--parseable'], {
    cwd: ROOT,
    encoding: 'utf8',
  })
    .split('\n')
    .filter((p) => p !== '' && p !== ROOT)
  // One du run counts each file once, nested packages included.
  const out = execFileSync('du', ['-sbc', join(ROOT, 'build'), ...paths], { encoding: 'utf8' })
  const total = out.trim().split('\n').pop() ?? '0'
  return Number(total.split(/\s+/)[0])
}

function targets(): Target[] {
  const out: Target[] = []
  if (!values['skip-npm']) {
    out.push({
      name: 'npm install (node build/cli/main.js)',
      command: [process.execPath, join(ROOT, 'build', 'cli', 'main.js')],
      sizeBytes: npmInstallBytes(),
      sizeWhat: 'build/ + production node_modules (node itself not counted)',
    })
  }
  const exe = values.executable!
  if (!values['skip-executable']) {
    if (existsSync(exe)) {
      out.push({
        name: `single executable (${exe.replace(`${ROOT}/`, '')})`,
        command: [exe],
        sizeBytes: statSync(exe).size,
        sizeWhat: 'the one file',
      })
    } else {
      process.stderr.write(`${exe} does not exist (npm run package builds it): skipped\n`)
    }
  }
  return out
}

async function main(): Promise<void> {
  const minutes = Number(values.minutes)
  const rate = Number(values.rate)
  const starts = Number(values.starts)
  const lines: string[] = [
    '| target | size MB | ready ms (median, min-max) | RSS at READY MB | steady RSS MB | steady anon MB | peak RSS MB | CPU % | lost |',
    '|---|---|---|---|---|---|---|---|---|',
  ]
  for (const t of targets()) {
    process.stderr.write(`${t.name}: ${starts} starts\n`)
    const s = await measureStarts(t, starts)
    const ready = s.map((x) => x.readyMs)
    process.stderr.write(
      `${t.name}: ${minutes} min at ${rate} readings/s (${t.sizeWhat}: ${(t.sizeBytes / MB).toFixed(1)} MB)\n`,
    )
    const steady = await measureSteady(t, minutes, rate)
    lines.push(
      `| ${t.name} | ${(t.sizeBytes / MB).toFixed(1)} | ${median(ready).toFixed(0)} (${Math.min(...ready).toFixed(0)}-${Math.max(...ready).toFixed(0)}) | ${median(s.map((x) => x.rssAtReadyMB)).toFixed(1)} | ${steady.steadyRssMB.toFixed(1)} | ${steady.steadyAnonMB.toFixed(1)} | ${steady.peakRssMB.toFixed(1)} | ${steady.cpuPercent.toFixed(1)} | ${steady.lost} |`,
    )
  }
  process.stdout.write(`${lines.join('\n')}\n`)
  process.stdout.write(
    `\n${minutes} min at ${rate} readings/s from 100 devices; node ${process.version} for the npm install; NODE_OPTIONS ${nodeOptions ?? '(none)'}; CPU % of one core.\n`,
  )
}

main().catch((err: unknown) => {
  process.stderr.write(`bench:device failed: ${err instanceof Error ? err.stack : String(err)}\n`)
  process.exit(1)
})
