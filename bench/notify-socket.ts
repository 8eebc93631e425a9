/**
 * systemd's side of the notify protocol, for the device benchmark: a unix datagram socket
 * owned by the bench. Node has no AF_UNIX datagram sockets, so a small python3 process
 * binds it and prints each datagram as one JSON line; like systemd it closes the file
 * descriptors that arrive with BARRIER=1 (that is what releases `systemd-notify`).
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

/** The python3 receiver (also used by the notify tests in test/ops and test/daemon). */
export const NOTIFY_RECEIVER_PY = `
import array, json, os, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
print(json.dumps("LISTENING"), flush=True)
while True:
    msg, anc, flags, addr = s.recvmsg(65536, socket.CMSG_SPACE(64 * 4))
    fds = array.array("i")
    for level, kind, data in anc:
        if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
            fds.frombytes(data[: len(data) - len(data) % fds.itemsize])
    print(json.dumps(msg.decode()), flush=True)
    for fd in fds:
        os.close(fd)
`

export interface NotifySocket {
  readonly path: string
  /** Resolves with performance.now() when a datagram containing `line` arrives. */
  when(line: string): Promise<number>
  close(): Promise<void>
}

export async function openNotifySocket(): Promise<NotifySocket> {
  const dir = mkdtempSync(join(tmpdir(), 'floxgate-notify-'))
  const path = join(dir, 'notify.sock')
  const child: ChildProcess = spawn('python3', ['-c', NOTIFY_RECEIVER_PY, path], {
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  const waiters: { line: string; resolve: (t: number) => void }[] = []
  let buf = ''
  let listening: () => void = () => {}
  const ready = new Promise<void>((r) => {
    listening = r
  })
  child.stdout?.on('data', (d: Buffer) => {
    const at = performance.now()
    buf += d.toString()
    let nl = buf.indexOf('\n')
    while (nl >= 0) {
      const msg = JSON.parse(buf.slice(0, nl)) as string
      buf = buf.slice(nl + 1)
      if (msg === 'LISTENING') listening()
      for (const w of waiters.splice(0)) {
        if (msg.split('\n').includes(w.line)) w.resolve(at)
        else waiters.push(w)
      }
      nl = buf.indexOf('\n')
    }
  })
  const failed = new Promise<never>((_, reject) => {
    child.once('error', (err) =>
      reject(new Error(`python3 is needed to play systemd's notify socket: ${err.message}`)),
    )
    child.once('exit', (code) => reject(new Error(`notify receiver exited with ${code}`)))
  })
  failed.catch(() => {})
  await Promise.race([ready, failed])
  return {
    path,
    when: (line) => new Promise((resolve) => waiters.push({ line, resolve })),
    close: async () => {
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.once('exit', r))
        child.kill('SIGTERM')
        await exited
      }
      rmSync(dir, { recursive: true, force: true })
    },
  }
}
