/**
 * The real CLI (`node build/cli/main.js ...`) as a child process: its pino JSON lines
 * parsed as they arrive, its exit awaited with a deadline. `npm test` builds first
 * (pretest); when running vitest alone, run `npm run build` after changing src/.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll } from 'vitest'
import { waitFor } from '../helpers/wait.js'
import {
  type LogLine,
  openReader,
  type StoreReader,
  type TestConfig,
  writeTestConfig,
} from './harness.js'

export const CLI = fileURLToPath(new URL('../../build/cli/main.js', import.meta.url))

function requireBuild(): void {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run npm run build first`)
}

export interface CliProcess {
  readonly child: ChildProcess
  /** stdout lines that are JSON log records. */
  readonly logs: LogLine[]
  stdout(): string
  stderr(): string
  /** Waits for a log record whose message matches. */
  waitForLog(msg: RegExp, timeoutMs?: number): Promise<LogLine>
  /** Resolves with the exit code (null when killed by a signal). */
  readonly exited: Promise<number | null>
  /** SIGKILL if still running (afterEach safety net, crash tests), and wait for the exit. */
  kill(): Promise<void>
  /**
   * SIGTERM (graceful drain) if still running; resolves with the exit code, and rejects,
   * saying why, when a signal ended the process instead.
   */
  stop(): Promise<number>
}

const running = new Set<CliProcess>()

/** SIGKILLs every CLI process still running (afterEach / afterAll). */
export async function killAll(): Promise<void> {
  for (const p of [...running]) await p.kill()
}

export function spawnCli(args: readonly string[], env: NodeJS.ProcessEnv = {}): CliProcess {
  requireBuild()
  const child = spawn(process.execPath, [CLI, ...args], {
    env: { ...process.env, NOTIFY_SOCKET: '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  const logs: LogLine[] = []
  let out = ''
  let err = ''
  let partial = ''
  child.stdout?.on('data', (d: Buffer) => {
    out += d.toString()
    partial += d.toString()
    let nl = partial.indexOf('\n')
    while (nl >= 0) {
      const line = partial.slice(0, nl)
      partial = partial.slice(nl + 1)
      if (line.startsWith('{')) {
        try {
          logs.push(JSON.parse(line) as LogLine)
        } catch {
          // not a log record
        }
      }
      nl = partial.indexOf('\n')
    }
  })
  child.stderr?.on('data', (d: Buffer) => {
    err += d.toString()
  })
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => resolve(code)),
  )
  const p: CliProcess = {
    child,
    logs,
    stdout: () => out,
    stderr: () => err,
    waitForLog: (msg, timeoutMs = 10_000) =>
      waitFor(
        () => {
          const hit = logs.find((l) => msg.test(l.msg))
          if (hit === undefined && child.exitCode !== null) {
            throw new Error(`exited with ${child.exitCode}: ${err}${out}`)
          }
          return hit
        },
        { timeoutMs, what: `a log line matching ${msg}` },
      ),
    exited,
    kill: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return
      child.kill('SIGKILL')
      await exited
    },
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM')
      const code = await exited
      // A graceful stop ends with an exit code; a signal means something else ended it:
      // say which, with the daemon's last words, rather than "expected null to be 0".
      if (code === null) {
        throw new Error(
          `the daemon was ended by ${child.signalCode} instead of stopping: ${err.slice(-1500)}${out.slice(-1500)}`,
        )
      }
      return code
    },
  }
  running.add(p)
  void exited.then(() => running.delete(p))
  return p
}

/** Runs a CLI command to its end (bounded) and returns its exit code and output. */
export async function runCli(
  args: readonly string[],
  timeoutMs = 15_000,
  env: NodeJS.ProcessEnv = {},
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const p = spawnCli(args, env)
  const code = await withDeadline(p.exited, timeoutMs, `floxgate ${args.join(' ')}`).finally(() =>
    p.kill(),
  )
  return { code, stdout: p.stdout(), stderr: p.stderr() }
}

/** Rejects when `promise` has not settled within `ms`. */
export function withDeadline<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not finish within ${ms} ms`)), ms)
  })
  return Promise.race([promise, late]).finally(() => clearTimeout(timer))
}

export interface StartDaemonOptions {
  readonly env?: NodeJS.ProcessEnv
  /** Wait for the "floxgate is ready" line (default true); false for a start that fails. */
  readonly ready?: boolean
  readonly timeoutMs?: number
}

/**
 * `floxgate start --config FILE` as a child process, by default once ready (its "ready"
 * log line seen). The one daemon starter: the CLI tests and the crash tests use it.
 */
export async function startDaemon(
  config: string,
  { env = {}, ready = true, timeoutMs = 20_000 }: StartDaemonOptions = {},
): Promise<CliProcess> {
  const p = spawnCli(['start', '--config', config], env)
  if (ready) await p.waitForLog(/^floxgate is ready$/, timeoutMs)
  return p
}

/** The daemon as a child process on a test config, for one test file. */
export interface DaemonScene {
  cfg: TestConfig
  daemon: CliProcess
  /** A second connection on its database: what the daemon really committed. */
  db: StoreReader
}

/**
 * Registers this file's beforeAll/afterAll: a test config from `over` (logging at info,
 * which the ready line needs), `floxgate start` on it once ready, and a reader on its
 * database; afterAll SIGKILLs the daemon if a test has not stopped it. The fields are
 * set once beforeAll ran. The CLI counterpart of harness.ts's useScene.
 */
export function useDaemon(over: Record<string, unknown> = {}): DaemonScene {
  const scene = {} as DaemonScene
  beforeAll(async () => {
    scene.cfg = await writeTestConfig({ log: { level: 'info' }, ...over })
    scene.daemon = await startDaemon(scene.cfg.file)
    scene.db = openReader(scene.cfg.dbFile)
  })
  afterAll(async () => {
    scene.db?.close()
    await scene.daemon?.kill()
    scene.cfg?.cleanup()
  })
  return scene
}
