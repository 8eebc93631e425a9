import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { healthy, unhealthy } from '../../src/ops/health.js'
import type { Log } from '../../src/ops/log.js'
import { SystemdNotifier } from '../../src/ops/systemd-notify.js'
import { Watchdog } from '../../src/ops/watchdog.js'
import { waitFor } from '../helpers/wait.js'
import { type NotifyReceiver, startNotifyReceiver } from './notify-receiver.js'

function recordingLog() {
  const lines: { level: string; msg: string; obj: Record<string, unknown> }[] = []
  const record = (level: string) => (obj: object, msg: string) => {
    lines.push({ level, msg, obj: obj as Record<string, unknown> })
  }
  const log: Log = {
    debug: record('debug'),
    info: record('info'),
    warn: record('warn'),
    error: record('error'),
  }
  return { log, lines }
}

describe('SystemdNotifier', () => {
  let receiver: NotifyReceiver
  beforeEach(async () => {
    receiver = await startNotifyReceiver()
  })
  afterEach(async () => {
    await receiver.close()
  })

  it('delivers the lifecycle messages in the order they were sent', async () => {
    const { log, lines } = recordingLog()
    const n = new SystemdNotifier({ socket: receiver.socket, log })
    expect(n.enabled).toBe(true)
    // Not awaited one by one: the notifier itself must keep the order.
    const sent = [
      n.ready('listening on 1883'),
      n.status('120 readings/s\nsecond line'),
      n.watchdog(),
      n.reloading('reloading config'),
      n.ready('reloaded'),
      n.stopping(),
    ]
    await Promise.all(sent)
    const msgs = receiver.messages()
    expect(msgs).toHaveLength(6)
    expect(msgs[0]).toBe('READY=1\nSTATUS=listening on 1883')
    expect(msgs[1]).toBe('STATUS=120 readings/s second line')
    expect(msgs[2]).toBe('WATCHDOG=1')
    expect(msgs[3]).toMatch(/^RELOADING=1\nMONOTONIC_USEC=\d+\nSTATUS=reloading config$/)
    expect(msgs[4]).toBe('READY=1\nSTATUS=reloaded')
    expect(msgs[5]).toBe('STOPPING=1')
    expect(lines.filter((l) => l.level === 'warn')).toEqual([])
  })

  it('sends MONOTONIC_USEC from the monotonic clock', async () => {
    const n = new SystemdNotifier({ socket: receiver.socket })
    const before = process.hrtime.bigint() / 1000n
    await n.reloading()
    const after = process.hrtime.bigint() / 1000n
    const usec = BigInt(/MONOTONIC_USEC=(\d+)/.exec(receiver.messages()[0] ?? '')?.[1] ?? '0')
    expect(usec >= before && usec <= after).toBe(true)
  })

  it('reads NOTIFY_SOCKET from the environment', async () => {
    const saved = process.env.NOTIFY_SOCKET
    process.env.NOTIFY_SOCKET = receiver.socket
    try {
      await new SystemdNotifier().ready()
    } finally {
      if (saved === undefined) delete process.env.NOTIFY_SOCKET
      else process.env.NOTIFY_SOCKET = saved
    }
    expect(receiver.messages()).toEqual(['READY=1'])
  })
})

describe('SystemdNotifier without systemd', () => {
  it('is a no-op when NOTIFY_SOCKET is unset', async () => {
    const { log, lines } = recordingLog()
    // A missing binary would log a warning if anything were spawned.
    const n = new SystemdNotifier({ socket: undefined, binary: '/nonexistent/notify', log })
    expect(n.enabled).toBe(false)
    await n.ready('x')
    await n.watchdog()
    await n.stopping()
    expect(lines).toEqual([])
  })

  it('warns once and resolves when systemd-notify is missing', async () => {
    const { log, lines } = recordingLog()
    const n = new SystemdNotifier({ socket: '/tmp/none.sock', binary: '/nonexistent/notify', log })
    await expect(Promise.all([n.ready(), n.watchdog(), n.stopping()])).resolves.toBeDefined()
    expect(lines.filter((l) => l.level === 'warn')).toHaveLength(1)
    expect(lines[0]?.msg).toMatch(/systemd-notify not found/)
    expect(n.enabled).toBe(false)
  })

  it('logs and resolves when systemd-notify cannot reach the socket', async () => {
    const { log, lines } = recordingLog()
    const n = new SystemdNotifier({ socket: '/tmp/floxgate-no-such-dir/notify.sock', log })
    await n.ready()
    expect(lines.some((l) => l.level === 'warn' && /systemd-notify failed/.test(l.msg))).toBe(true)
  })
})

describe('Watchdog', () => {
  let receiver: NotifyReceiver
  beforeEach(async () => {
    receiver = await startNotifyReceiver()
  })
  afterEach(async () => {
    await receiver.close()
  })

  const pings = () => receiver.messages().filter((m) => m === 'WATCHDOG=1').length

  it('pings at half of WATCHDOG_USEC only while the checks pass', async () => {
    const { log, lines } = recordingLog()
    const notifier = new SystemdNotifier({ socket: receiver.socket, log })
    let dbOk = true
    let checksRun = 0
    const wd = new Watchdog({
      notifier,
      watchdogUsec: '300000',
      watchdogPid: String(process.pid),
      log,
      checks: {
        database: () => {
          checksRun++
          return dbOk ? healthy() : unhealthy('SELECT 1 failed: disk I/O error')
        },
      },
    })
    expect(wd.intervalMs).toBe(150)
    wd.start()
    try {
      await waitFor(() => pings() >= 2, { what: 'two watchdog pings' })

      dbOk = false
      await notifier.flush()
      const before = pings()
      const pingsBefore = wd.pings
      const runsAtFailure = checksRun
      await waitFor(() => checksRun >= runsAtFailure + 3, { what: 'three unhealthy checks' })
      await notifier.flush()
      expect(wd.pings).toBe(pingsBefore)
      expect(pings()).toBe(before)
      const warn = lines.find((l) => l.level === 'warn')
      expect(warn?.msg).toMatch(
        /watchdog ping withheld.*database: SELECT 1 failed: disk I\/O error/,
      )

      dbOk = true
      await waitFor(() => pings() > before, { what: 'pings to resume' })
      expect(lines.some((l) => l.level === 'info' && /resumed/.test(l.msg))).toBe(true)
    } finally {
      wd.stop()
      await notifier.flush()
    }
  })

  it('stays off without WATCHDOG_USEC, or when WATCHDOG_PID names another process', () => {
    const notifier = new SystemdNotifier({ socket: receiver.socket })
    const checks = { ok: () => healthy() }
    expect(new Watchdog({ notifier, checks, watchdogUsec: undefined }).enabled).toBe(false)
    expect(
      new Watchdog({ notifier, checks, watchdogUsec: '1000000', watchdogPid: '1' }).enabled,
    ).toBe(false)
    expect(
      new Watchdog({
        notifier: new SystemdNotifier({ socket: undefined }),
        checks,
        watchdogUsec: '1000000',
      }).enabled,
    ).toBe(false)
  })
})
