import { type ChildProcess, spawn, spawnSync } from 'node:child_process'
import { join } from 'node:path'
import { NOTIFY_RECEIVER_PY } from '../../bench/notify-socket.js'
import { tempDir } from '../helpers/tmp.js'
import { waitFor } from '../helpers/wait.js'

/**
 * Plays systemd's side of the notify protocol: a unix datagram socket owned by the test.
 * Node cannot open AF_UNIX datagram sockets, so a small python3 process does, and prints
 * each datagram as one JSON line. Like systemd, it closes the file descriptors that
 * arrive with BARRIER=1, which is what releases a waiting `systemd-notify`.
 */

export interface NotifyReceiver {
  readonly socket: string
  /** Datagrams received so far, BARRIER=1 acknowledgements left out. */
  messages(): string[]
  close(): Promise<void>
}

export function requirePython(): void {
  const r = spawnSync('python3', ['-c', 'import socket; socket.AF_UNIX'], { encoding: 'utf8' })
  if (r.error !== undefined || r.status !== 0) {
    throw new Error(
      "these tests need python3 (with AF_UNIX sockets) to play systemd's notify socket: install python3 and re-run",
    )
  }
}

export async function startNotifyReceiver(): Promise<NotifyReceiver> {
  requirePython()
  const { dir, cleanup } = tempDir('floxgate-notify-')
  const socket = join(dir, 'notify.sock')
  const child: ChildProcess = spawn('python3', ['-c', NOTIFY_RECEIVER_PY, socket], {
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  const received: string[] = []
  let buf = ''
  let stderr = ''
  child.stdout?.on('data', (d: Buffer) => {
    buf += d.toString()
    let nl = buf.indexOf('\n')
    while (nl >= 0) {
      received.push(JSON.parse(buf.slice(0, nl)) as string)
      buf = buf.slice(nl + 1)
      nl = buf.indexOf('\n')
    }
  })
  child.stderr?.on('data', (d: Buffer) => {
    stderr += d.toString()
  })
  await waitFor(
    () => {
      if (child.exitCode !== null) throw new Error(`receiver exited: ${stderr}`)
      return received[0] === 'LISTENING'
    },
    { what: 'the notify receiver to listen' },
  )
  return {
    socket,
    messages: () => received.slice(1).filter((m) => m !== 'BARRIER=1'),
    close: async () => {
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.once('exit', r))
        child.kill('SIGTERM')
        await exited
      }
      cleanup()
    },
  }
}
