import { statfs } from 'node:fs/promises'
import type { EventLoopLag } from './event-loop-lag.js'

/** The outcome of one health check; `reason` tells an operator what is wrong. */
export type CheckResult =
  | { readonly ok: true; readonly detail?: string }
  | { readonly ok: false; readonly reason: string }

/**
 * One health check, given by the daemon (broker listening, database answers, uplink
 * connected...). It may be async; it may throw (that counts as a failure).
 */
export type HealthCheck = () => CheckResult | Promise<CheckResult>

export interface HealthReport {
  readonly ok: boolean
  readonly checks: Readonly<Record<string, CheckResult>>
}

export const healthy = (detail?: string): CheckResult =>
  detail === undefined ? { ok: true } : { ok: true, detail }
export const unhealthy = (reason: string): CheckResult => ({ ok: false, reason })

/**
 * Runs every check concurrently. A check that throws, or does not answer within
 * `timeoutMs`, fails with that as its reason: a hung database must read as unhealthy,
 * not hang the health endpoint or the watchdog.
 */
export async function runChecks(
  checks: Readonly<Record<string, HealthCheck>>,
  timeoutMs = 2000,
): Promise<HealthReport> {
  const names = Object.keys(checks)
  const results = await Promise.all(names.map((n) => runOne(checks[n]!, timeoutMs)))
  const out: Record<string, CheckResult> = {}
  names.forEach((n, i) => {
    out[n] = results[i]!
  })
  return { ok: results.every((r) => r.ok), checks: out }
}

async function runOne(check: HealthCheck, timeoutMs: number): Promise<CheckResult> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<CheckResult>((resolve) => {
    timer = setTimeout(() => resolve(unhealthy(`no answer within ${timeoutMs} ms`)), timeoutMs)
  })
  try {
    return await Promise.race([Promise.resolve().then(check), timeout])
  } catch (err) {
    return unhealthy(err instanceof Error ? err.message : String(err))
  } finally {
    clearTimeout(timer)
  }
}

/** The reasons of the failing checks, one line, for logs and STATUS=. */
export function failingSummary(report: HealthReport): string {
  return Object.entries(report.checks)
    .flatMap(([name, r]) => (r.ok ? [] : [`${name}: ${r.reason}`]))
    .join('; ')
}

export interface DiskSpaceOptions {
  /** Fail below this many free bytes (default 50 MB). */
  readonly minFreeBytes?: number
  /** Fail below this fraction of the filesystem free (default 0.02). */
  readonly minFreeRatio?: number
}

/**
 * Free space of the filesystem holding `dir` (the data directory). SQLite on a full SD
 * card fails its commits; this shows it on /healthz before it happens.
 */
export function diskSpaceCheck(dir: string, opts: DiskSpaceOptions = {}): HealthCheck {
  const minBytes = opts.minFreeBytes ?? 50 * 1024 * 1024
  const minRatio = opts.minFreeRatio ?? 0.02
  return async () => {
    const s = await statfs(dir)
    // bavail: blocks an unprivileged process may use, which is what the daemon gets.
    const free = s.bavail * s.bsize
    const total = s.blocks * s.bsize
    const ratio = total > 0 ? free / total : 0
    const detail = `${formatMB(free)} free of ${formatMB(total)} in ${dir}`
    if (free < minBytes || ratio < minRatio) {
      return unhealthy(
        `${detail}, below the minimum (${formatMB(minBytes)} and ${(minRatio * 100).toFixed(1)} %): free space or lower the buffer limits`,
      )
    }
    return healthy(detail)
  }
}

/** Fails when the event loop's recent p99 delay exceeds `maxMs`. */
export function eventLoopCheck(lag: EventLoopLag, maxMs = 1000): HealthCheck {
  return () => {
    const { p99Ms, maxMs: worst } = lag.recent()
    const detail = `event loop delay p99 ${p99Ms.toFixed(1)} ms, max ${worst.toFixed(1)} ms`
    return p99Ms > maxMs ? unhealthy(`${detail}, above ${maxMs} ms`) : healthy(detail)
  }
}

function formatMB(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(0)} MB`
}
