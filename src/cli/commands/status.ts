import { loadConfig } from '../../config/load.js'
import { EXIT } from '../../exit-codes.js'
import { devicesDir } from '../../ops/sea.js'
import { openServiceStore } from './service-store.js'

interface Health {
  status?: string
  checks?: Record<string, { ok: boolean; reason?: string; detail?: string }>
}

/**
 * What an operator asks first: is it healthy, how much is buffered, what is alerting,
 * what did each sensor last say. Reads the database read-only (safe beside the running
 * daemon) and asks the daemon's /healthz when the HTTP endpoint is on.
 */
export async function statusCommand(
  configPath: string,
  json: boolean,
  out: (s: string) => void,
): Promise<number> {
  const config = loadConfig(configPath, process.env, { builtinProfilesDir: devicesDir() })
  let health: Health | string
  if (config.http.enabled) {
    try {
      const res = await fetch(`http://${config.http.host}:${config.http.port}/healthz`, {
        signal: AbortSignal.timeout(3000),
      })
      health = (await res.json()) as Health
    } catch (err) {
      health = `daemon not reachable on ${config.http.host}:${config.http.port} (${(err as Error).message}): is it running?`
    }
  } else {
    health = 'http endpoint disabled in the config'
  }
  const store = openServiceStore(config.store.file)
  try {
    const outbox = store.outboxStats()
    const active = store.activeAlerts()
    const latest = store.latestReadings()
    if (json) {
      out(JSON.stringify({ health, outbox, activeAlerts: active, latest }, null, 2))
      return healthyCode(health)
    }
    out(`floxgate ${config.gateway.id}`)
    if (typeof health === 'string') out(`health:   ${health}`)
    else {
      out(`health:   ${health.status ?? '?'}`)
      for (const [name, c] of Object.entries(health.checks ?? {})) {
        out(
          `  ${c.ok ? 'ok  ' : 'FAIL'} ${name}${c.reason ? `: ${c.reason}` : c.detail ? ` (${c.detail})` : ''}`,
        )
      }
    }
    out(`database: ${config.store.file} (${(store.fileBytes() / 1048576).toFixed(1)} MiB)`)
    const oldest =
      outbox.oldestCreatedAt === undefined
        ? ''
        : `, oldest ${new Date(outbox.oldestCreatedAt).toISOString()}`
    out(`uplink backlog: ${outbox.rows} rows, ${outbox.bytes} bytes${oldest}`)
    out(`active alerts: ${active.length}`)
    for (const a of active) {
      out(
        `  ${a.severity.padEnd(8)} ${a.device} ${a.metric ?? ''} ${a.rule} since ${new Date(a.since).toISOString()} (value ${a.value ?? '-'}, threshold ${a.threshold ?? '-'})`,
      )
    }
    out(`latest readings (${latest.length}):`)
    for (const r of latest) {
      out(
        `  ${r.device.padEnd(20)} ${r.metric.padEnd(12)} ${String(r.value).padStart(8)}  ${new Date(r.ts).toISOString()}`,
      )
    }
    return healthyCode(health)
  } finally {
    store.close()
  }
}

function healthyCode(h: Health | string): number {
  return typeof h !== 'string' && h.status === 'ok' ? EXIT.OK : EXIT.FAILURE
}
