/**
 * The daemon under attack: `floxgate start` as a child process on loopback ports, under
 * the unit's environment (its NODE_OPTIONS heap cap: a crash the unit would see is a
 * crash here), with one well-behaved sensor. `isWell()` is asserted after every hostile
 * case: the daemon is alive, its RSS is under RSS_BOUND_MB (docs/security.md), and the
 * sensor's QoS 1 reading is acknowledged and stored.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt'
import { expect } from 'vitest'
import { root, storedReadings } from '../crash/daemon-process.js'
import { type CliProcess, startDaemon } from '../daemon/cli-process.js'
import { freePort } from '../helpers/net.js'
import { tempDir } from '../helpers/tmp.js'

/** The bound docs/security.md states: the unit runs under a 128 MB heap cap. */
export const RSS_BOUND_MB = 200

/** The `Environment=` lines of systemd/floxgate.service, as the unit starts the daemon. */
export function unitEnv(): Record<string, string> {
  const unit = readFileSync(join(root, 'systemd/floxgate.service'), 'utf8')
  const env: Record<string, string> = {}
  for (const m of unit.matchAll(/^Environment="?([A-Z_]+)=([^"\n]*)"?$/gm)) env[m[1]!] = m[2]!
  return env
}

export function rssMb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
  return Number(m?.[1] ?? 0) / 1024
}

/** The process's peak RSS since it started (VmHWM), in MB. */
export function peakRssMb(pid: number): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
  return Number(m?.[1] ?? 0) / 1024
}

export interface TargetOptions {
  /** Merged over the base config's `broker.embedded`. */
  readonly embedded?: Record<string, unknown>
  /** Extra top-level config keys (rules, unknownDevices, ...). */
  readonly extra?: Record<string, unknown>
  /** Extra sensor topic entries (presets). */
  readonly topics?: readonly Record<string, unknown>[]
  /** How the well-behaved sensor logs in (anonymous when absent). */
  readonly sensor?: { readonly username: string; readonly password: string }
}

export class Target {
  daemon!: CliProcess
  sensor!: MqttClient
  readonly port: number
  readonly httpPort: number
  readonly dbFile: string
  readonly configFile: string
  private good = 0
  private readonly tmp = tempDir('floxgate-hostile-')

  private constructor(
    ports: { port: number; httpPort: number },
    readonly options: TargetOptions,
  ) {
    this.port = ports.port
    this.httpPort = ports.httpPort
    const dataDir = join(this.tmp.dir, 'data')
    mkdirSync(dataDir, { recursive: true })
    this.dbFile = join(dataDir, 'floxgate.db')
    this.configFile = join(this.tmp.dir, 'floxgate.yaml')
    const config = {
      gateway: { id: 'gw-hostile', dataDir },
      log: { level: 'info' },
      broker: {
        embedded: {
          host: '127.0.0.1',
          port: this.port,
          rateLimit: { messagesPerSecond: 0 },
          ...options.embedded,
        },
      },
      sensors: {
        topics: [
          { pattern: 'sensors/{device}/telemetry', format: 'json' },
          ...(options.topics ?? []),
        ],
      },
      aggregates: { enabled: false },
      store: { batch: { maxRows: 500, maxDelayMs: 5, qos0DelayMs: 5 } },
      http: { enabled: true, host: '127.0.0.1', port: this.httpPort },
      watchdog: { enabled: false },
      ...options.extra,
    }
    // JSON is YAML: no serializer needed.
    writeFileSync(this.configFile, JSON.stringify(config, null, 2))
  }

  static async start(options: TargetOptions = {}): Promise<Target> {
    const t = new Target({ port: await freePort(), httpPort: await freePort() }, options)
    await t.restart()
    return t
  }

  /** The well-behaved sensor's device id: its username, else `good`. */
  get device(): string {
    return this.options.sensor?.username ?? 'good'
  }

  get pid(): number {
    return this.daemon.child.pid!
  }

  /** Starts the daemon (again) on the same config and database, and its sensor. */
  async restart(): Promise<void> {
    this.daemon = await startDaemon(this.configFile, { env: unitEnv(), timeoutMs: 30_000 })
    this.sensor = await this.connectSensor()
  }

  /** SIGTERM; resolves with the exit code. */
  async stop(): Promise<number | null> {
    await this.sensor?.endAsync(true)
    return await this.daemon.stop()
  }

  async cleanup(): Promise<void> {
    await this.sensor?.endAsync(true).catch(() => {})
    await this.daemon?.kill()
    this.tmp.cleanup()
  }

  /** An MQTT.js client on the TCP listener. */
  async client(o: IClientOptions = {}): Promise<MqttClient> {
    return await mqtt.connectAsync({
      host: '127.0.0.1',
      port: this.port,
      reconnectPeriod: 0,
      connectTimeout: 10_000,
      ...o,
    })
  }

  async healthz(): Promise<number> {
    const r = await fetch(`http://127.0.0.1:${this.httpPort}/healthz`)
    await r.text()
    return r.status
  }

  /** Alive, bounded, and still serving: asserted after every hostile case. */
  async isWell(): Promise<void> {
    expect(this.daemon.child.exitCode).toBeNull()
    expect(rssMb(this.pid)).toBeLessThan(RSS_BOUND_MB)
    if (!this.sensor.connected) this.sensor = await this.connectSensor()
    this.good++
    const reading = JSON.stringify({ temperature: 20 + (this.good % 10) })
    await this.sensor.publishAsync(`sensors/${this.device}/telemetry`, reading, { qos: 1 })
    // PUBACK follows the commit: the reading is in SQLite now.
    expect(storedReadings(this.dbFile, this.device).size).toBe(this.good)
  }

  private async connectSensor(): Promise<MqttClient> {
    return await this.client({
      clientId: 'good-sensor',
      ...(this.options.sensor ?? {}),
    })
  }
}
