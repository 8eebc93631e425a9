/**
 * The real daemon as a child process (`node build/cli/main.js start`), for tests that
 * kill it: a config written to a temp folder, NDJSON log lines collected, readiness
 * awaited on the "floxgate is ready" line, and a separate SQLite connection to count
 * what the daemon committed.
 */
import { execSync } from 'node:child_process'
import { existsSync, mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import Database from 'better-sqlite3'

export const root = join(import.meta.dirname, '../..')
const cli = join(root, 'build/cli/main.js')

function newestSource(dir: string): number {
  let newest = 0
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name)
    newest = Math.max(newest, e.isDirectory() ? newestSource(p) : statSync(p).mtimeMs)
  }
  return newest
}

/** Builds the daemon when a source file is newer than the build (others edit the tree). */
export function ensureBuilt(): void {
  const fresh = () => existsSync(cli) && statSync(cli).mtimeMs >= newestSource(join(root, 'src'))
  if (fresh()) return
  try {
    execSync('npx tsc -p tsconfig.build.json', { cwd: root, stdio: 'pipe', encoding: 'utf8' })
  } catch (err) {
    // A build that fails fails the test: a stale or half-emitted build/ would test
    // something other than the source.
    const out = (err as { stdout?: string; stderr?: string }).stdout ?? ''
    throw new Error(`npm run build failed, so the daemon under test would be stale:\n${out}`)
  }
  if (!existsSync(cli)) throw new Error(`the daemon is not built (${cli}): run npm run build`)
}

export interface DaemonConfigOptions {
  readonly dataDir: string
  readonly port?: number
  readonly httpPort?: number
  readonly externalUrl?: string
  readonly batchMaxDelayMs?: number
  readonly uplink?: Record<string, unknown>
  readonly gatewayId?: string
  /** Top-level sections that replace the defaults below (rules, aggregates, ...). */
  readonly extra?: Record<string, unknown>
}

/** A config for tests: no rate limit, no watchdog, no alert rules, aggregates off. */
export function writeConfig(dir: string, o: DaemonConfigOptions): string {
  const config = {
    gateway: { id: o.gatewayId ?? 'gw-crash', dataDir: o.dataDir },
    log: { level: 'info' },
    broker:
      o.externalUrl === undefined
        ? {
            mode: 'embedded',
            embedded: {
              host: '127.0.0.1',
              port: o.port,
              rateLimit: { messagesPerSecond: 0 },
            },
          }
        : { mode: 'external', external: { url: o.externalUrl } },
    sensors: { topics: [{ pattern: 'sensors/{device}/telemetry', format: 'json' }] },
    aggregates: { enabled: false },
    store: {
      batch: {
        maxRows: 500,
        maxDelayMs: o.batchMaxDelayMs ?? 5,
        qos0DelayMs: o.batchMaxDelayMs ?? 5,
      },
    },
    http:
      o.httpPort === undefined
        ? { enabled: false }
        : { enabled: true, host: '127.0.0.1', port: o.httpPort },
    watchdog: { enabled: false },
    ...(o.uplink === undefined ? {} : { uplink: o.uplink }),
    ...o.extra,
  }
  mkdirSync(dir, { recursive: true })
  const file = join(dir, 'floxgate.yaml')
  // JSON is YAML: no serializer needed.
  writeFileSync(file, JSON.stringify(config, null, 2))
  return file
}

// The daemon as a child process: the one starter in test/daemon/cli-process.ts.
export {
  type CliProcess as DaemonProcess,
  killAll as killAllDaemons,
  startDaemon,
} from '../daemon/cli-process.js'

/** Count of stored readings per `device|ts`, read through a connection of our own. */
export function storedReadings(dbFile: string, devicePrefix: string): Map<string, number> {
  const db = new Database(dbFile, { fileMustExist: true })
  try {
    const rows = db
      .prepare(
        `SELECT s.device AS device, r.ts AS ts, count(*) AS n FROM readings r
         JOIN series s ON s.id = r.series WHERE s.device LIKE ? GROUP BY s.device, r.ts`,
      )
      .all(`${devicePrefix}%`) as { device: string; ts: number; n: number }[]
    return new Map(rows.map((r) => [`${r.device}|${r.ts}`, r.n]))
  } finally {
    db.close()
  }
}

/**
 * Reading rows stored for devices starting with `devicePrefix`: what a test polls while a
 * load runs (storedReadings builds a map of every key, too costly every 25 ms beside a
 * 20-device fleet in the same process).
 */
export function storedCount(dbFile: string, devicePrefix: string): number {
  const db = new Database(dbFile, { fileMustExist: true, readonly: true })
  try {
    const row = db
      .prepare(
        'SELECT count(*) AS n FROM readings r JOIN series s ON s.id = r.series WHERE s.device LIKE ?',
      )
      .get(`${devicePrefix}%`) as { n: number }
    return row.n
  } finally {
    db.close()
  }
}

// One /metrics parser for every test: test/helpers/prometheus.ts.
export { metric } from '../helpers/prometheus.js'
