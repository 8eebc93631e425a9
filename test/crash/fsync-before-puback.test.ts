import { type ChildProcess, spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { CLI } from '../daemon/cli-process.js'
import { connectClient, type TestConfig, telemetry, writeTestConfig } from '../daemon/harness.js'
import { waitFor } from '../helpers/wait.js'

/**
 * The power-cut promise rests on an order of system calls: a QoS 1 PUBACK may reach the
 * socket only after the fsync/fdatasync of the commit holding its reading. The daemon
 * runs under `strace -f` (Debian's package) with the shipped durability while a stream of
 * QoS 1 readings goes through it; the trace must show, at every PUBACK write, no WAL
 * write that has not been synced since. With `store.durability: normal` (no sync per
 * commit) it fails, as it did with the old default.
 */
let cfg: TestConfig
let strace: ChildProcess
let traceFile: string
let exited: Promise<number | null>

function daemonPid(): number | undefined {
  const first = readFileSync(traceFile, 'utf8').split('\n', 1)[0] ?? ''
  const pid = Number(first.split(/\s+/, 1)[0])
  return Number.isInteger(pid) && pid > 0 ? pid : undefined
}

beforeAll(async () => {
  cfg = await writeTestConfig({ store: { batch: { maxRows: 500, maxDelayMs: 20 } } })
  traceFile = join(cfg.dir, 'trace.txt')
  strace = spawn(
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
  exited = new Promise((r) => strace.once('exit', (code) => r(code)))
  await waitFor(
    async () => {
      try {
        const c = await connectClient(cfg.brokerPort)
        await c.close()
        return true
      } catch {
        return undefined
      }
    },
    { timeoutMs: 30_000, what: 'the traced daemon listening' },
  )
}, 40_000)

afterAll(async () => {
  const pid = daemonPid()
  if (pid !== undefined) {
    try {
      process.kill(pid, 'SIGTERM')
    } catch {}
  }
  await exited
  cfg?.cleanup()
})

/** `<\x2f\x74...>` (strace -y -xx) back to the path. */
function fdPath(arg: string): string {
  const m = /<([^>]*)>/.exec(arg)
  if (m === null) return ''
  return m[1]!.replace(/\\x([0-9a-f]{2})/g, (_, h: string) =>
    String.fromCharCode(Number.parseInt(h, 16)),
  )
}

it('every PUBACK is written after the fsync of the WAL writes before it', async () => {
  const sensor = await connectClient(cfg.brokerPort)
  const t0 = Date.now() - 60_000
  // 10 rounds of 10 publishes in flight together: several readings per commit
  for (let round = 0; round < 10; round++) {
    await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        sensor.client.publishAsync(
          'sensors/traced/telemetry',
          telemetry({ temperature: 20 + i / 10 }, t0 + round * 10 + i),
          { qos: 1 },
        ),
      ),
    )
  }
  await sensor.close()

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
      // PUBACKs: 0x40 0x02 then the packet id; aedes writes them as iovecs of a writev
      const n = line.match(/"\\x40(?:", iov_len=1\}, \{iov_base=")?\\x02/g)?.length ?? 0
      pubacks += n
      if (n > 0 && unsynced > 0) violations.push(line.slice(0, 200))
    }
  }
  expect(pubacks).toBe(100)
  expect(walWrites).toBeGreaterThan(0)
  expect(syncs).toBeGreaterThan(0)
  expect(violations).toEqual([])
}, 60_000)
