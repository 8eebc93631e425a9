import { Writable } from 'node:stream'
import { type DestinationStream, type Level, type Logger, pino } from 'pino'

export type { Logger }

/**
 * pino JSON to stdout (journald keeps each line). On a terminal the same records are
 * printed as one readable line each, without pino transports (worker threads and extra
 * files to bundle into the single executable).
 */
export function createLogger(opts: { level?: Level | 'silent'; pretty?: boolean } = {}): Logger {
  const pretty = opts.pretty ?? process.stdout.isTTY === true
  const dest: DestinationStream = pretty ? new TerminalLines() : journalDestination()
  return pino(
    {
      level: opts.level ?? 'info',
      base: { service: 'floxgate' },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    dest,
  )
}

/**
 * Asynchronous stdout. A synchronous one blocks the event loop for 100 ms (sonic-boom's
 * busy wait) each time the pipe to journald is full, which stalls intake and alerts.
 * Lines queue while a write is in flight and go out together; pino flushes what is
 * queued on exit. If journald stops reading, at most MAX_QUEUED_LOG bytes wait and
 * later lines are dropped rather than growing memory.
 */
function journalDestination(): DestinationStream {
  return pino.destination({ dest: 1, sync: false, minLength: 0, maxLength: MAX_QUEUED_LOG })
}
const MAX_QUEUED_LOG = 1024 * 1024

const LEVELS: Record<number, string> = {
  10: 'TRACE',
  20: 'DEBUG',
  30: 'INFO ',
  40: 'WARN ',
  50: 'ERROR',
  60: 'FATAL',
}
const SKIP = new Set(['level', 'time', 'msg', 'service', 'pid', 'hostname'])

/** `12:00:01 WARN  the message  key=value ...` for people at a terminal. */
class TerminalLines extends Writable {
  override _write(chunk: Buffer, _enc: BufferEncoding, done: (err?: Error | null) => void): void {
    for (const line of chunk.toString().split('\n')) {
      if (line === '') continue
      try {
        const rec = JSON.parse(line) as Record<string, unknown>
        const time = typeof rec.time === 'string' ? rec.time.slice(11, 19) : ''
        const level = LEVELS[Number(rec.level)] ?? String(rec.level)
        const extra = Object.entries(rec)
          .filter(([k]) => !SKIP.has(k))
          .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
          .join(' ')
        process.stdout.write(
          `${time} ${level} ${String(rec.msg ?? '')}${extra ? `  ${extra}` : ''}\n`,
        )
      } catch {
        process.stdout.write(`${line}\n`)
      }
    }
    done()
  }
}
