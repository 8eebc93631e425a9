import { once } from 'node:events'
import { createWriteStream, existsSync, type WriteStream } from 'node:fs'
import { loadConfig } from '../../config/load.js'
import { ERR } from '../../errors.js'
import { EXIT } from '../../exit-codes.js'
import { devicesDir, sqliteNativeBinding } from '../../ops/sea.js'
import { openStore } from '../../store/index.js'

export interface ExportOptions {
  readonly config: string
  readonly kind: 'readings' | 'aggregates'
  readonly format: 'csv' | 'ndjson'
  readonly from: number
  readonly to: number
  readonly device?: string | undefined
  readonly out?: string | undefined
}

const COLUMNS = {
  readings: ['device', 'metric', 'ts', 'value', 'receivedAt'],
  aggregates: [
    'device',
    'metric',
    'windowStart',
    'windowEnd',
    'count',
    'min',
    'max',
    'mean',
    'last',
  ],
} as const

/**
 * Streams readings or aggregates of a time range as CSV or NDJSON, row by row (a year of
 * readings does not fit in a Pi's memory). On a terminal, a progress line on stderr.
 */
export async function exportCommand(o: ExportOptions, err: (s: string) => void): Promise<number> {
  const config = loadConfig(o.config, process.env, { builtinProfilesDir: devicesDir() })
  // read-only: never create an empty database where the service's is not
  if (!existsSync(config.store.file)) throw ERR.STORE_NOT_FOUND(config.store.file)
  const store = openStore({
    file: config.store.file,
    readonly: true,
    integrityCheck: 'none',
    nativeBinding: sqliteNativeBinding(),
  })
  const sink: NodeJS.WritableStream | WriteStream = o.out
    ? createWriteStream(o.out)
    : process.stdout
  const progress = process.stderr.isTTY === true
  const cols = COLUMNS[o.kind]
  let n = 0
  const started = Date.now()
  try {
    if (o.format === 'csv') await write(sink, `${cols.join(',')}\n`)
    const rows =
      o.kind === 'readings'
        ? store.readings(o.from, o.to, { device: o.device })
        : store.aggregates(o.from, o.to, { device: o.device })
    for (const row of rows as Iterable<Record<string, unknown>>) {
      const line =
        o.format === 'csv'
          ? `${cols.map((c) => csvCell(row[c])).join(',')}\n`
          : `${JSON.stringify(row)}\n`
      await write(sink, line)
      n++
      if (progress && n % 10_000 === 0) {
        const rate = Math.round(n / ((Date.now() - started) / 1000 || 1))
        process.stderr.write(`\r${n} ${o.kind} exported (${rate}/s)...`)
      }
    }
  } finally {
    store.close()
    if (o.out) {
      sink.end()
      await once(sink, 'finish')
    }
  }
  if (progress) process.stderr.write('\r')
  err(`exported ${n} ${o.kind}${o.out ? ` to ${o.out}` : ''}`)
  return EXIT.OK
}

function write(sink: NodeJS.WritableStream, s: string): Promise<void> | undefined {
  // Respect back-pressure so a slow pipe does not buffer the whole export in memory.
  if (sink.write(s)) return undefined
  return once(sink, 'drain').then(() => undefined)
}

function csvCell(v: unknown): string {
  if (v === null || v === undefined) return ''
  const s = String(v)
  return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s
}
