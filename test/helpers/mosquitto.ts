import { type ChildProcess, spawn } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { connect } from 'node:net'
import { join } from 'node:path'
import { freePort } from './net.js'
import { tempDir } from './tmp.js'

export interface Mosquitto {
  readonly port: number
  readonly url: string
  /** Stops the broker (SIGTERM, then SIGKILL after 3 s). */
  stop(): Promise<void>
  /** Starts it again on the same port, with the same persistence file. */
  start(): Promise<void>
  /** Stops it and removes its folder. */
  close(): Promise<void>
  /** What it wrote to stderr since the first start (its log with `log_dest stderr`). */
  log(): string
}

export interface MosquittoOptions {
  /** Extra lines for mosquitto.conf (e.g. `persistence true`). */
  extraConfig?: string[]
  /**
   * A stock broker as a new user runs it: the config is only `listener` and
   * `allow_anonymous true` (Debian's defaults for everything else: no persistence,
   * max_inflight_messages 20, max_queued_messages 1000, log to stderr).
   */
  stock?: boolean
}

/**
 * Starts a real Mosquitto (Debian package `mosquitto`) as a separate process on a free
 * loopback port, with anonymous access and persistence in a temp folder.
 */
export async function startMosquitto(opts: MosquittoOptions = {}): Promise<Mosquitto> {
  const port = await freePort()
  const { dir, cleanup } = tempDir('floxgate-mosquitto-')
  const conf = join(dir, 'mosquitto.conf')
  const stock = [`listener ${port} 127.0.0.1`, 'allow_anonymous true', '']
  writeFileSync(
    conf,
    (opts.stock
      ? stock
      : [
          `listener ${port} 127.0.0.1`,
          'allow_anonymous true',
          // As root (CI), Mosquitto drops to user `mosquitto`, which cannot write its
          // persistence file in our root-owned temp folder: sessions would be lost across
          // stop()/start(). Ignored when not run as root.
          'user root',
          'persistence true',
          `persistence_location ${dir}/`,
          'log_dest stderr',
          'log_type error',
          'log_type warning',
          'max_queued_messages 1000000',
          ...(opts.extraConfig ?? []),
          '',
        ]
    ).join('\n'),
  )
  let proc: ChildProcess | undefined
  let log = ''

  async function start(): Promise<void> {
    const child = spawn('mosquitto', ['-c', conf], { stdio: ['ignore', 'ignore', 'pipe'] })
    proc = child
    let stderr = ''
    child.stderr?.on('data', (d: Buffer) => {
      stderr += d.toString()
      log += d.toString()
    })
    const deadline = Date.now() + 10_000
    for (;;) {
      if (child.exitCode !== null) {
        throw new Error(`mosquitto exited with ${child.exitCode}: ${stderr}`)
      }
      if (await canConnect(port)) return
      if (Date.now() > deadline) throw new Error(`mosquitto did not listen on ${port}: ${stderr}`)
      await new Promise((r) => setTimeout(r, 20))
    }
  }

  async function stop(): Promise<void> {
    const child = proc
    proc = undefined
    if (!child || child.exitCode !== null) return
    const exited = new Promise<void>((r) => child.once('exit', () => r()))
    child.kill('SIGTERM')
    const timer = setTimeout(() => child.kill('SIGKILL'), 3000)
    await exited
    clearTimeout(timer)
  }

  await start()
  return {
    port,
    url: `mqtt://127.0.0.1:${port}`,
    stop,
    start,
    close: async () => {
      await stop()
      cleanup()
    },
    log: () => log,
  }
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1')
    s.once('connect', () => {
      s.destroy()
      resolve(true)
    })
    s.once('error', () => resolve(false))
  })
}
