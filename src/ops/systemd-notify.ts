import { spawn } from 'node:child_process'
import { type Log, silentLog } from './log.js'

export interface SystemdNotifierOptions {
  /** The notify socket; defaults to `NOTIFY_SOCKET` (set by systemd for Type=notify). */
  readonly socket?: string | undefined
  /** Path of systemd's helper (default `/usr/bin/systemd-notify`). */
  readonly binary?: string
  readonly log?: Log
  /** Kill a systemd-notify that has not exited after this long, ms (default 10 000). */
  readonly timeoutMs?: number
  /** Messages waiting beyond this are dropped with a warning (default 64). */
  readonly maxQueued?: number
}

/**
 * Speaks systemd's notify protocol (sd_notify(3)).
 *
 * Node has no AF_UNIX datagram sockets, so each message is one run of systemd's own
 * `systemd-notify`, which needs `NotifyAccess=all` in the unit (the sender is our child,
 * not the main PID). We let it wait for systemd's acknowledgement (we do not pass
 * `--no-block`: since systemd 246 it then sends BARRIER=1 and waits until the manager
 * has read the message). That closes the known race where a helper exits before
 * systemd has looked up its cgroup, and the message is dropped as coming from an
 * unknown process. No native addon, nothing to compile for arm64.
 *
 * Runs are serialized, so systemd sees messages in the order they were sent. Every
 * method resolves once its message is handled (sent, or failed and logged); none
 * throws. Without a notify socket (not run by systemd) every method is a no-op.
 */
export class SystemdNotifier {
  readonly socket: string | undefined
  readonly #binary: string
  readonly #log: Log
  readonly #timeoutMs: number
  readonly #maxQueued: number
  #tail: Promise<void> = Promise.resolve()
  #queued = 0
  #broken = false

  constructor(opts: SystemdNotifierOptions = {}) {
    const socket = 'socket' in opts ? opts.socket : process.env.NOTIFY_SOCKET
    this.socket = socket === '' ? undefined : socket
    this.#binary = opts.binary ?? '/usr/bin/systemd-notify'
    this.#log = opts.log ?? silentLog
    this.#timeoutMs = opts.timeoutMs ?? 10_000
    this.#maxQueued = opts.maxQueued ?? 64
  }

  /** True when a notify socket is set and the helper has not been found missing. */
  get enabled(): boolean {
    return this.socket !== undefined && !this.#broken
  }

  /** Start-up (or a reload) is complete. */
  ready(status?: string): Promise<void> {
    return this.send(['READY=1', ...statusLine(status)])
  }

  /** A one-line summary shown by `systemctl status`. */
  status(text: string): Promise<void> {
    return this.send(statusLine(text))
  }

  /** Keep-alive for `WatchdogSec=`; the `Watchdog` class decides when to send it. */
  watchdog(): Promise<void> {
    return this.send(['WATCHDOG=1'])
  }

  stopping(status?: string): Promise<void> {
    return this.send(['STOPPING=1', ...statusLine(status)])
  }

  /**
   * A reload has begun; call `ready()` when it is done. MONOTONIC_USEC is what systemd
   * 253+ requires for Type=notify-reload; older ones ignore the unknown field, so the
   * same message works with today's Type=notify unit and a future notify-reload one.
   */
  reloading(status?: string): Promise<void> {
    return this.send(['RELOADING=1', `MONOTONIC_USEC=${monotonicUsec()}`, ...statusLine(status)])
  }

  /** Sends raw `KEY=VALUE` assignments as one datagram, after the messages before it. */
  send(assignments: readonly string[]): Promise<void> {
    if (!this.enabled || assignments.length === 0) return Promise.resolve()
    if (this.#queued >= this.#maxQueued) {
      this.#log.warn(
        { message: assignments.join(' ') },
        'systemd notify queue full; message dropped',
      )
      return Promise.resolve()
    }
    this.#queued++
    const run = this.#tail.then(() => this.#run(assignments))
    this.#tail = run.finally(() => {
      this.#queued--
    })
    return this.#tail
  }

  /** Resolves when every message sent so far has been handled. */
  flush(): Promise<void> {
    return this.#tail
  }

  #run(assignments: readonly string[]): Promise<void> {
    if (!this.enabled) return Promise.resolve()
    return new Promise<void>((resolve) => {
      const child = spawn(this.#binary, [...assignments], {
        env: { ...process.env, NOTIFY_SOCKET: this.socket },
        stdio: ['ignore', 'ignore', 'pipe'],
      })
      let stderr = ''
      child.stderr?.on('data', (d: Buffer) => {
        if (stderr.length < 1000) stderr += d.toString()
      })
      const timer = setTimeout(() => child.kill('SIGKILL'), this.#timeoutMs)
      // A failed spawn may emit both 'error' and 'close': report it once.
      let done = false
      const finish = () => {
        done = true
        clearTimeout(timer)
        resolve()
      }
      child.once('error', (err: NodeJS.ErrnoException) => {
        if (done) return
        if (err.code === 'ENOENT') {
          // Without the helper nothing can be sent: warn once and stop trying.
          this.#broken = true
          this.#log.warn(
            { binary: this.#binary },
            'systemd-notify not found: readiness and watchdog pings cannot reach systemd; install systemd or use Type=simple without WatchdogSec=',
          )
        } else {
          this.#log.warn({ err: err.message }, 'systemd-notify could not be started')
        }
        finish()
      })
      child.once('close', (code, signal) => {
        if (done) return
        if (code !== 0) {
          this.#log.warn(
            { message: assignments.join(' '), code, signal, stderr: stderr.trim() },
            'systemd-notify failed; systemd may not have received the message',
          )
        }
        finish()
      })
    })
  }
}

function statusLine(text: string | undefined): string[] {
  // The protocol is newline-separated KEY=VALUE: a newline in STATUS would cut it short.
  return text === undefined ? [] : [`STATUS=${text.replace(/[\r\n]+/g, ' ')}`]
}

/** CLOCK_MONOTONIC in microseconds: libuv's hrtime reads that clock on Linux. */
function monotonicUsec(): string {
  return (process.hrtime.bigint() / 1000n).toString()
}
