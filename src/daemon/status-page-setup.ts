import type { Config } from '../config/load.js'
import { type HealthCheck, runChecks } from '../ops/health.js'
import type { HttpRoutes } from '../ops/http-server.js'
import type { Log } from '../ops/log.js'
import { EventStream } from '../ui/event-stream.js'
import { statusPage } from '../ui/status-page.js'
import type { Gateway } from './gateway.js'

/** The status page's routes over a running gateway, for the HTTP server. */
export function statusPageRoutes(
  gateway: Gateway,
  config: Config,
  checks: Readonly<Record<string, HealthCheck>>,
  log: Log,
): HttpRoutes {
  const events = new EventStream()
  const unobserve = gateway.observe(events)
  const routes = statusPage({
    db: gateway.store.database,
    token: config.http.token,
    devices: () => gateway.pageDevices(),
    unknownDevice: (id) => gateway.pageUnknownDevice(id),
    events,
    log,
    status: async () => {
      const report = await runChecks(checks, 2000)
      const outbox = gateway.store.outboxStats()
      return {
        gateway: config.gateway.id,
        health: report,
        buffer: {
          pendingRows: gateway.store.stats().pending,
          fileBytes: gateway.store.fileBytes(),
        },
        uplink: {
          configured: gateway.forwarders.length > 0,
          backlogRows: outbox.rows,
          lagSeconds:
            outbox.oldestCreatedAt === undefined ? 0 : (Date.now() - outbox.oldestCreatedAt) / 1000,
        },
        notifications: { pending: gateway.notifier.pending() },
      }
    },
  })
  return {
    handle: (req, res, path) => routes.handle(req, res, path),
    close: () => {
      unobserve()
      routes.close()
    },
  }
}
