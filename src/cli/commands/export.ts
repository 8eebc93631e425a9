import { once } from 'node:events'
import { createWriteStream, type WriteStream } from 'node:fs'
import { loadConfig } from '../../config/load.js'
import { EXIT } from '../../exit-codes.js'
import { devicesDir } from '../../ops/sea.js'
import type { Store } from '../../store/index.js'
import { openServiceStore } from './service-store.js'

export interface ExportOptions {
  readonly config: string
  readonly kind: ExportKind
  readonly format: 'csv' | 'ndjson'
  readonly from: number
  readonly to: number
  readonly device?: string | undefined
  readonly out?: string | undefined
}

export const EXPORT_KINDS = ['readings', 'aggregates', 'alerts', 'dead-letters'] as const
export type ExportKind = (typeof EXPORT_KINDS)[number]

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
  alerts: [
    'ts',
    'device',
    'metric',
    'rule',
    'kind',
    'severity',
    'state',
    'value',
    'threshold',
    'since',
  ],
  // payload as received: UTF-8 text, or base64 when it is not valid UTF-8
  'dead-letters': ['receivedAt', 'topic', 'device', 'reason', 'detail', 'payload', 'encoding'],
} as const

/**
 * Streams readings or aggregates of a time range as CSV or NDJSON, row by row (a year of
 * readings does not fit in a Pi's memory). On a terminal, a progress line on stderr.
 */
export async function exportCommand(o: ExportOptions, err: (s: string) => void): Promise<number> {
  const config = loadConfig(o.config, process.env, { builtinProfilesDir: devicesDir() })
  const store = openServiceStore(config.store.file)
  const sink: NodeJS.WritableStream | WriteStream = o.out
    ? createWriteStream(o.out)
    : process.stdout
  const progress = process.stderr.isTTY === true
  const cols = COLUMNS[o.kind]
  let n = 0
  const started = Date.now()
  try {
    if (o.format === 'csv') await write(sink, `${cols.join(',')}\n`)
    for (const row of rowsOf(store, o)) {
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

function* rowsOf(store: Store, o: ExportOptions): Iterable<Record<string, unknown>> {
  const f = { device: o.device }
  switch (o.kind) {
    case 'readings':
      yield* store.readings(o.from, o.to, f) as Iterable<Record<string, unknown>>
      return
    case 'aggregates':
      yield* store.aggregates(o.from, o.to, f) as Iterable<Record<string, unknown>>
      return
    case 'alerts':
      for (const a of store.alertHistory(o.from, o.to)) {
        if (o.device === undefined || a.device === o.device) yield { ...a }
      }
      return
    case 'dead-letters':
      for (const d of store.deadLetters(o.from, o.to, f)) {
        const text = UTF8.decode(d.payload)
        const utf8 = Buffer.from(text, 'utf8').equals(d.payload)
        yield {
          ...d,
          payload: utf8 ? text : d.payload.toString('base64'),
          encoding: utf8 ? 'utf8' : 'base64',
        }
      }
      return
  }
}

const UTF8 = new TextDecoder('utf-8')

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
