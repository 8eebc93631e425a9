import type { Config } from '../config/load.js'
import { loadConfig } from '../config/load.js'
import { FloxgateError } from '../errors.js'
import { EventLoopLag } from '../ops/event-loop-lag.js'
import { eventLoopCheck, failingSummary, runChecks } from '../ops/health.js'
import { type OpsHttpServer, startOpsHttp } from '../ops/http-server.js'
import { createLogger, type Logger } from '../ops/logger.js'
import { GatewayMetrics } from '../ops/metrics.js'
import { devicesDir, sqliteNativeBinding } from '../ops/sea.js'
import { SystemdNotifier } from '../ops/systemd-notify.js'
import { Watchdog } from '../ops/watchdog.js'
import { VERSION } from '../version.js'
import { Gateway } from './gateway.js'
import { statusPageRoutes } from './status-page-setup.js'

export interface DaemonOptions {
  readonly configPath: string
  readonly env?: NodeJS.ProcessEnv
}

/** How long STATUS= lines wait between refreshes. */
const STATUS_EVERY_MS = 10_000

/**
 * `floxgate start`: loads the config (refusing an invalid one with every problem
 * listed), runs the gateway until SIGTERM/SIGINT, reloads on SIGHUP, and speaks
 * systemd's notify protocol and watchdog. Resolves with the process exit code.
 */
export async function runDaemon(opts: DaemonOptions): Promise<number> {
  const env = opts.env ?? process.env
  const profiles = devicesDir()
  // Throws FLX_ERR_CONFIG_INVALID; the CLI prints it and exits 2.
  let config = loadConfig(opts.configPath, env, { builtinProfilesDir: profiles })
  const log = createLogger({ level: config.log.level })
  for (const w of config.warnings) log.warn({ code: w.code }, w.message)

  const notifier = new SystemdNotifier({ log })
  const eventLoop = new EventLoopLag()
  const metrics = new GatewayMetrics({ version: VERSION, eventLoop })
  let gateway: Gateway
  try {
    gateway = await Gateway.start(config, {
      logger: log,
      metrics,
      eventLoop,
      nativeBinding: sqliteNativeBinding(),
    })
  } catch (err) {
    eventLoop.stop()
    metrics.close()
    throw err
  }
  const checks = { ...gateway.checks(), eventLoop: eventLoopCheck(eventLoop, 1000) }
  let http: OpsHttpServer | undefined
  if (config.http.enabled) {
    try {
      http = await startOpsHttp({
        host: config.http.host,
        port: config.http.port,
        checks,
        metrics,
        log,
        routes: config.http.ui ? statusPageRoutes(gateway, config, checks, log) : undefined,
      })
    } catch (err) {
      // Health and metrics are for the operator; the readings matter more. Keep running.
      log.error(
        { err: err instanceof Error ? err.message : String(err) },
        'the health and metrics endpoint could not start; the gateway runs without it (set http.port or http.enabled: false)',
      )
    }
  }
  const summary = () => {
    const where = gateway.broker.ports.tcp
      ? ` on ${config.broker.embedded.host}:${gateway.broker.ports.tcp}`
      : ''
    const stored = gateway.store.stats().rowsWritten.reading
    return `${gateway.broker.mode} broker${where}; ${stored} readings stored since start`
  }
  const watchdog = new Watchdog({
    notifier,
    // The watchdog's bound is the config's stall limit, looser than /healthz's 1 s: an SD
    // card can stall an fsync for seconds without anything being wrong.
    checks: {
      database: checks.database,
      // A stuck workflow on an idle loop passes the lag check; this one catches it.
      pipeline: checks.pipeline,
      eventLoop: eventLoopCheck(eventLoop, config.watchdog.stallSeconds * 1000),
    },
    log,
  })
  const statusTimer = setInterval(async () => {
    const report = await runChecks(checks)
    void notifier.status(report.ok ? summary() : `unhealthy: ${failingSummary(report)}`)
  }, STATUS_EVERY_MS)
  statusTimer.unref()

  const reload = async () => {
    void notifier.reloading('reloading config')
    let next: Config
    try {
      next = loadConfig(opts.configPath, env, { builtinProfilesDir: profiles })
    } catch (err) {
      log.error(
        { err: err instanceof FloxgateError ? err.message : String(err) },
        'the new config is invalid and was NOT applied; the gateway keeps running with the previous one. Fix the file (floxgate check-config) and send SIGHUP again',
      )
      void notifier.ready(summary())
      return
    }
    const restart = gateway.reload(next)
    for (const w of next.warnings) log.warn({ code: w.code }, w.message)
    if (restart.length > 0) {
      log.warn(
        { sections: restart },
        `config reloaded, but changes to ${restart.join(', ')} apply only after a restart (systemctl restart floxgate)`,
      )
    } else {
      log.info(
        { config: opts.configPath },
        'config reloaded: topics, devices, rules and windows applied',
      )
    }
    config = { ...next, broker: config.broker, store: config.store, http: config.http }
    void notifier.ready(summary())
  }

  return await new Promise<number>((resolve) => {
    let stopping = false
    const stop = (signal: string) => {
      if (stopping) return
      stopping = true
      log.info({ signal }, 'stopping: no new readings accepted, flushing what was received')
      void notifier.stopping('stopping')
      watchdog.stop()
      clearInterval(statusTimer)
      // Past this, a stuck shutdown must not keep the process around (systemd would kill it).
      const hard = setTimeout(() => {
        log.error(
          'shutdown took longer than 5 s; exiting now. Unacknowledged readings will be resent by their sensors',
        )
        resolve(1)
      }, 5000)
      hard.unref()
      void (async () => {
        try {
          await gateway.stop()
          await http?.close()
          eventLoop.stop()
          metrics.close()
          log.info('stopped cleanly')
          await notifier.flush()
          // stdout is asynchronous (see ops/logger.ts): the last lines must reach journald.
          await new Promise<void>((r) => log.flush(() => r()))
          clearTimeout(hard)
          resolve(0)
        } catch (err) {
          log.error({ err: String(err) }, 'error while stopping')
          clearTimeout(hard)
          resolve(1)
        }
      })()
    }
    // Installed before "ready" is said: a SIGTERM that arrives before Node has a listener
    // for it ends the process at once, by the signal (seen in the crash tests, whose stop
    // followed the ready line by a few ms). A second SIGTERM while stopping is ignored; the
    // 5 s limit above and systemd's SIGKILL bound the stop.
    process.on('SIGTERM', () => stop('SIGTERM'))
    process.on('SIGINT', () => stop('SIGINT'))
    process.on('SIGHUP', () => void reload())
    log.info(
      {
        version: VERSION,
        config: config.source.file,
        broker: gateway.broker.mode,
        ports: gateway.broker.ports,
        database: config.store.file,
        http: http?.url,
        uplinks: config.uplinks.filter((u) => u.enabled).map((u) => `${u.id} (${u.kind}) ${u.url}`),
      },
      'floxgate is ready',
    )
    void notifier.ready(summary())
    if (config.watchdog.enabled) watchdog.start()
    void gateway.finished?.then((result) => {
      if (!stopping && result.reason !== 'closed') {
        log.error(
          { reason: result.reason },
          'the workflow ended unexpectedly; stopping so systemd restarts floxgate',
        )
        stop('workflow-ended')
      }
    })
  })
}

export type { Logger }
