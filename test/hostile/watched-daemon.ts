/**
 * The daemon under attack in the hostile tests: a child process on a loopback port, and a
 * well-behaved sensor beside it. After every hostile case `isWell()` asserts the daemon is
 * alive, its RSS under RSS_BOUND_MB, and the sensor's QoS 1 reading acknowledged and stored.
 */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import mqtt, { type MqttClient } from 'mqtt'
import { afterAll, beforeAll, expect } from 'vitest'
import {
  type DaemonProcess,
  ensureBuilt,
  killAllDaemons,
  startDaemon,
  storedReadings,
  writeConfig,
} from '../crash/daemon-process.js'
import { freePort } from '../helpers/net.js'
import { type RawClient, rawConnect } from '../helpers/raw-mqtt.js'
import { tempDir } from '../helpers/tmp.js'

/** Stated bound (docs/security.md): the unit runs under a 128 MB heap cap. */
export const RSS_BOUND_MB = 200

export interface WatchedDaemon {
  port: number
  configFile: string
  dbFile: string
  /** Replaced by a test that restarts the daemon. */
  daemon: DaemonProcess
  sensor: MqttClient
  connectSensor(): Promise<MqttClient>
  /** Alive, bounded, and still serving: asserted after every hostile case. */
  isWell(): Promise<void>
  /** A raw TCP client for `fn`, destroyed after it. */
  withRaw<T>(fn: (c: RawClient) => Promise<T>): Promise<T>
}

function rssMb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
  return Number(m?.[1] ?? 0) / 1024
}

/** Registers this file's beforeAll/afterAll; the fields are set once beforeAll ran. */
export function useWatchedDaemon(tmpPrefix: string): WatchedDaemon {
  const tmp = tempDir(tmpPrefix)
  const dataDir = join(tmp.dir, 'data')
  let good = 0
  const w: WatchedDaemon = {
    port: 0,
    configFile: '',
    dbFile: join(dataDir, 'floxgate.db'),
    daemon: undefined as unknown as DaemonProcess,
    sensor: undefined as unknown as MqttClient,
    async connectSensor() {
      const c = mqtt.connect({
        host: '127.0.0.1',
        port: w.port,
        clientId: 'good-sensor',
        reconnectPeriod: 0,
      })
      await new Promise<void>((resolve, reject) => {
        c.once('connect', () => resolve())
        c.once('error', reject)
      })
      return c
    },
    async isWell() {
      expect(w.daemon.child.exitCode).toBeNull()
      expect(rssMb(w.daemon.child.pid!)).toBeLessThan(RSS_BOUND_MB)
      if (!w.sensor.connected) w.sensor = await w.connectSensor()
      good++
      await w.sensor.publishAsync(
        'sensors/good/telemetry',
        JSON.stringify({ temperature: 20 + good }),
        { qos: 1 },
      )
      // PUBACK follows the commit: the reading is in SQLite now.
      expect(storedReadings(w.dbFile, 'good').size).toBe(good)
    },
    async withRaw(fn) {
      const c = await rawConnect(w.port)
      try {
        return await fn(c)
      } finally {
        c.socket.destroy()
      }
    },
  }
  beforeAll(async () => {
    ensureBuilt()
    w.port = await freePort()
    w.configFile = writeConfig(tmp.dir, { dataDir, port: w.port })
    w.daemon = await startDaemon(w.configFile)
    w.sensor = await w.connectSensor()
  }, 30_000)
  afterAll(async () => {
    await w.sensor?.endAsync(true)
    await killAllDaemons()
    tmp.cleanup()
  })
  return w
}
