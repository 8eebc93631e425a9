import { type ChildProcess, spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import { afterEach, expect, it } from 'vitest'
import { CLI } from '../daemon/cli-process.js'
import {
  connectClient,
  type RecordingClient,
  type TestConfig,
  telemetry,
  writeTestConfig,
} from '../daemon/harness.js'
import { type Mosquitto, startMosquitto } from '../helpers/mosquitto.js'
import { waitFor } from '../helpers/wait.js'

/**
 * The power-cut promise rests on an order of system calls: a QoS 1 PUBACK may reach the
 * socket only after the fsync/fdatasync of the commit holding its reading. The daemon
 * runs under `strace -f` (Debian's package) with the shipped durability while a stream of
 * QoS 1 readings goes through it; the trace must show, at every PUBACK write, no WAL
 * write that has not been synced since. In both broker modes: the PUBACK goes to the
 * sensor (embedded) or to Mosquitto (external). With `store.durability: normal` (no sync
 * per commit) it fails, as it did with the old default.
 */
interface Traced {
  readonly cfg: TestConfig
  readonly traceFile: string
  stop(): Promise<void>
}

const cleanups: (() => Promise<void>)[] = []
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c()
})

async function traced(over: Record<string, unknown>): Promise<Traced> {
  const cfg = await writeTestConfig({ store: { batch: { maxRows: 500, maxDelayMs: 20 } }, ...over })
  const traceFile = join(cfg.dir, 'trace.txt')
  const strace: ChildProcess = spawn(
    'strace',
    [
      '-f',
      '-qq',
      '-y',
      '-xx',
      '-s',
      '4096',
      '-e',
      'trace=pwrite64,write,writev,fsync,fdatasync',
      '-o',
      traceFile,
      process.execPath,
      CLI,
      'start',
      '--config',
      cfg.file,
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  )
  const exited = new Promise((r) => strace.once('exit', (code) => r(code)))
  const t: Traced = {
    cfg,
    traceFile,
    stop: async () => {
      const first = readFileSync(traceFile, 'utf8').split('\n', 1)[0] ?? ''
      const pid = Number(first.split(/\s+/, 1)[0])
      if (Number.isInteger(pid) && pid > 0) {
        try {
          process.kill(pid, 'SIGTERM')
        } catch {}
      }
      await exited
      cfg.cleanup()
    },
  }
  cleanups.push(t.stop)
  return t
}

/** `<\x2f\x74...>` (strace -y -xx) back to the path. */
function fdPath(arg: string): string {
  const m = /<([^>]*)>/.exec(arg)
  if (m === null) return ''
  return m[1]!.replace(/\\x([0-9a-f]{2})/g, (_, h: string) =>
    String.fromCharCode(Number.parseInt(h, 16)),
  )
}

/** PUBACKs written to sockets, WAL writes and syncs, and every PUBACK after an unsynced write. */
function readTrace(traceFile: string) {
  const lines = readFileSync(traceFile, 'utf8').split('\n')
  let unsynced = 0 // WAL writes since the last sync
  let pubacks = 0
  let walWrites = 0
  let syncs = 0
  const violations: string[] = []
  for (const line of lines) {
    const call = /^\d+\s+(\w+)\((\d+<[^>]*>)/.exec(line)
    if (call === null) continue
    const [, name, fd] = call
    const path = fdPath(fd!)
    if (path.endsWith('.db-wal') || path.endsWith('.db')) {
      if (name === 'pwrite64' || name === 'write' || name === 'writev') {
        unsynced++
        walWrites++
      } else if (name === 'fsync' || name === 'fdatasync') {
        if (!line.includes('<unfinished')) unsynced = 0
        syncs++
      }
    } else if (path.startsWith('TCP:') || path.startsWith('socket:') || path.startsWith('TCPv6:')) {
      // PUBACKs: 0x40 0x02 then the packet id, in one buffer or as iovecs of a writev
      const n = line.match(/"\\x40(?:", iov_len=1\}, \{iov_base=")?\\x02/g)?.length ?? 0
      pubacks += n
      if (n > 0 && unsynced > 0) violations.push(line.slice(0, 200))
    }
  }
  return { pubacks, walWrites, syncs, violations }
}

/** 10 rounds of 10 publishes in flight together: several readings per commit. */
async function stream(sensor: RecordingClient, topic: string): Promise<void> {
  const t0 = Date.now() - 60_000
  for (let round = 0; round < 10; round++) {
    await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        sensor.client.publishAsync(
          topic,
          telemetry({ temperature: 20 + i / 10 }, t0 + round * 10 + i),
          {
            qos: 1,
          },
        ),
      ),
    )
  }
}

it('embedded broker: every PUBACK to a sensor is written after the fsync of the WAL writes before it', async () => {
  const t = await traced({})
  const sensor = await waitFor(
    async () => {
      try {
        return await connectClient(t.cfg.brokerPort)
      } catch {
        return undefined
      }
    },
    { timeoutMs: 30_000, what: 'the traced daemon listening' },
  )
  await stream(sensor, 'sensors/traced/telemetry')
  await sensor.close()
  const r = readTrace(t.traceFile)
  expect(r.pubacks).toBe(100)
  expect(r.walWrites).toBeGreaterThan(0)
  expect(r.syncs).toBeGreaterThan(0)
  expect(r.violations).toEqual([])
}, 60_000)

it('external broker: every PUBACK to Mosquitto is written after the fsync of the WAL writes before it', async () => {
  const mosquitto: Mosquitto = await startMosquitto()
  cleanups.push(() => mosquitto.close())
  const t = await traced({ broker: { mode: 'external', external: { url: mosquitto.url } } })
  const sensor = await connectClient(mosquitto.port)
  cleanups.push(() => sensor.close())
  const stored = () => {
    try {
      const db = new Database(t.cfg.dbFile, { readonly: true, fileMustExist: true })
      try {
        return (db.prepare('SELECT count(*) AS n FROM readings').get() as { n: number }).n
      } finally {
        db.close()
      }
    } catch {
      return 0
    }
  }
  // The daemon's subscription is in place once a probe reading is stored.
  await waitFor(
    async () => {
      await sensor.client.publishAsync(
        'sensors/probe/telemetry',
        telemetry({ temperature: 1 }, Date.now()),
        {
          qos: 1,
        },
      )
      return stored() > 0
    },
    { timeoutMs: 30_000, intervalMs: 200, what: 'the traced daemon subscribed' },
  )
  const before = readTrace(t.traceFile).pubacks
  await stream(sensor, 'sensors/traced/telemetry')
  await waitFor(() => stored() >= 100 + 1, { what: 'the stream stored' })
  await waitFor(() => readTrace(t.traceFile).pubacks >= before + 100, {
    what: "the daemon's 100 PUBACKs to Mosquitto",
  })
  const r = readTrace(t.traceFile)
  expect(r.walWrites).toBeGreaterThan(0)
  expect(r.syncs).toBeGreaterThan(0)
  expect(r.violations).toEqual([])
}, 60_000)
