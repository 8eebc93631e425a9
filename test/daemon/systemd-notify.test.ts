import { afterAll, beforeAll, expect, it } from 'vitest'
import { waitFor } from '../helpers/wait.js'
import { type NotifyReceiver, startNotifyReceiver } from '../ops/notify-receiver.js'
import { type CliProcess, startDaemon, withDeadline } from './cli-process.js'
import { type TestConfig, writeTestConfig } from './harness.js'

let cfg: TestConfig
let receiver: NotifyReceiver
let daemon: CliProcess | undefined

beforeAll(async () => {
  cfg = await writeTestConfig({ log: { level: 'info' } })
  receiver = await startNotifyReceiver()
})
afterAll(async () => {
  await daemon?.kill()
  await receiver?.close()
  cfg?.cleanup()
})

it('the real daemon sends READY=1, then RELOADING=1 and READY=1 on SIGHUP, then STOPPING=1, in order', async () => {
  daemon = await startDaemon(cfg.file, { env: { NOTIFY_SOCKET: receiver.socket } })
  const has = (prefix: string, from = 0) =>
    receiver.messages().findIndex((m, i) => i >= from && m.startsWith(prefix))
  await waitFor(() => has('READY=1') >= 0, { what: 'READY=1' })
  expect(receiver.messages()[0]).toMatch(
    /^READY=1\nSTATUS=embedded broker on 127\.0\.0\.1:\d+; 0 readings stored/,
  )

  daemon.child.kill('SIGHUP')
  await waitFor(() => has('READY=1', has('RELOADING=1') + 1) > 0 && has('RELOADING=1') > 0, {
    what: 'RELOADING=1 then READY=1',
  })

  daemon.child.kill('SIGTERM')
  expect(await withDeadline(daemon.exited, 5000, 'exit after SIGTERM')).toBe(0)
  await waitFor(() => has('STOPPING=1') >= 0, { what: 'STOPPING=1' })
  // WATCHDOG=1 and STATUS= may interleave (no WatchdogSec here, so none expected); the
  // lifecycle messages keep their order.
  const lifecycle = receiver
    .messages()
    .map((m) => m.split('\n')[0])
    .filter((m) => m === 'READY=1' || m === 'RELOADING=1' || m === 'STOPPING=1')
  expect(lifecycle).toEqual(['READY=1', 'RELOADING=1', 'READY=1', 'STOPPING=1'])
})
