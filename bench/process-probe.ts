/**
 * What the benchmarks read about a child process from /proc (Linux only): CPU time,
 * resident memory and bytes it caused to be written to storage. Readings are snapshots;
 * a benchmark subtracts two of them to charge a phase.
 */
import { readFileSync } from 'node:fs'

/** Clock ticks per second of /proc/<pid>/stat (USER_HZ: 100 on every Linux we target). */
const TICKS_PER_SECOND = 100

export interface ProcessSnapshot {
  /** User + system CPU seconds so far. */
  readonly cpuSeconds: number
  /** Resident set now, bytes. */
  readonly rssBytes: number
  /**
   * Anonymous resident memory (RssAnon): heap, stacks, buffers. RSS also counts pages
   * mapped from files, which for the single executable includes ~67 MB of its own
   * binary: shared, clean, and given back by the kernel under pressure.
   */
  readonly anonRssBytes: number
  /** Peak resident set so far (VmHWM), bytes. */
  readonly peakRssBytes: number
  /** Bytes sent to the storage layer so far (`write_bytes`, counted when pages are dirtied). */
  readonly writeBytes: number
}

export function snapshot(pid: number): ProcessSnapshot {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
  // Fields after the command name, which may itself hold spaces and parentheses.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  const ticks = Number(fields[11]) + Number(fields[12]) // utime, stime (fields 14, 15)
  const status = readFileSync(`/proc/${pid}/status`, 'utf8')
  const io = readFileSync(`/proc/${pid}/io`, 'utf8')
  return {
    cpuSeconds: ticks / TICKS_PER_SECOND,
    rssBytes: kib(status, 'VmRSS') * 1024,
    anonRssBytes: kib(status, 'RssAnon') * 1024,
    peakRssBytes: kib(status, 'VmHWM') * 1024,
    writeBytes: field(io, 'write_bytes'),
  }
}

function kib(status: string, name: string): number {
  const m = new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status)
  return m ? Number(m[1]) : Number.NaN
}

function field(text: string, name: string): number {
  const m = new RegExp(`^${name}:\\s+(\\d+)`, 'm').exec(text)
  return m ? Number(m[1]) : Number.NaN
}

export const MB = 1024 * 1024
