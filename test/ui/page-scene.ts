/**
 * A running gateway with its HTTP server and the status page, as `floxgate start` wires
 * them, for the page's tests.
 */
import { loadConfig } from '../../src/config/load.js'
import { statusPageRoutes } from '../../src/daemon/status-page-setup.js'
import { type OpsHttpServer, startOpsHttp } from '../../src/ops/http-server.js'
import {
  connectClient,
  type RecordingClient,
  type RunningGateway,
  startGateway,
  type TestConfig,
  writeTestConfig,
} from '../daemon/harness.js'

export interface PageScene {
  readonly cfg: TestConfig
  readonly gw: RunningGateway
  readonly http: OpsHttpServer
  readonly sensor: RecordingClient
  close(): Promise<void>
}

export async function startPageScene(over: Record<string, unknown>): Promise<PageScene> {
  const cfg = await writeTestConfig(over)
  const gw = await startGateway(cfg.file)
  const config = loadConfig(cfg.file)
  const http = await startOpsHttp({
    host: '127.0.0.1',
    port: 0,
    checks: gw.gateway.checks(),
    metrics: gw.metrics,
    routes: statusPageRoutes(gw.gateway, config, gw.gateway.checks(), {
      debug() {},
      info() {},
      warn() {},
      error() {},
    }),
  })
  const sensor = await connectClient(gw.port)
  return {
    cfg,
    gw,
    http,
    sensor,
    close: async () => {
      await sensor.close()
      await http.close()
      await gw.stop()
      cfg.cleanup()
    },
  }
}
