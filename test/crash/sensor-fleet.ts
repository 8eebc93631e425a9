/**
 * Sensors as a real fleet would behave: one MQTT connection per device, QoS 1, each
 * reading with its own timestamp. A reading counts as delivered only when its PUBACK
 * arrives; when the connection drops, the device reconnects and sends again every
 * reading that was not acknowledged (what a sensor with a small flash queue does).
 */
import mqtt, { type MqttClient } from 'mqtt'

export interface FleetOptions {
  readonly port: number
  readonly devices: number
  readonly perDevice: number
  readonly prefix: string
  /** Timestamp of reading 0, ms; reading i has baseTs + i * stepMs. */
  readonly baseTs: number
  /** Sensor time between two readings of a device (default 1 ms). */
  readonly stepMs?: number
  /** Publishes awaiting PUBACK per device. */
  readonly window?: number
  /** Whole-fleet publish rate limit (readings/s); 0 = as fast as the acks allow. */
  readonly ratePerSecond?: number
  /** Every device loop gives up after this (bounded test). */
  readonly deadlineMs?: number
}

/** Pause between reconnect attempts while the gateway is down (a sensor's retry interval). */
const RETRY_MS = 50

export class SensorFleet {
  /** `device|ts` of every PUBACKed reading. */
  readonly acked = new Set<string>()
  connections = 0
  publishes = 0
  /** Devices that still have readings to deliver. */
  unfinished = 0
  private stopped = false
  private readonly clients = new Set<MqttClient>()
  private readonly started = Date.now()

  constructor(private readonly o: FleetOptions) {}

  static key(device: string, ts: number): string {
    return `${device}|${ts}`
  }

  get total(): number {
    return this.o.devices * this.o.perDevice
  }

  /** Every key the fleet sends. */
  allKeys(): string[] {
    const keys: string[] = []
    for (let d = 0; d < this.o.devices; d++)
      for (let i = 0; i < this.o.perDevice; i++)
        keys.push(SensorFleet.key(`${this.o.prefix}${d}`, this.tsOf(i)))
    return keys
  }

  /** The sensor timestamp of reading `i`. */
  tsOf(i: number): number {
    return this.o.baseTs + i * (this.o.stepMs ?? 1)
  }

  /** Resolves when every reading of every device is acknowledged. */
  async run(): Promise<void> {
    await Promise.all(Array.from({ length: this.o.devices }, (_, d) => this.device(d)))
  }

  stop(): void {
    this.stopped = true
    for (const c of this.clients) c.end(true)
  }

  private async device(d: number): Promise<void> {
    const name = `${this.o.prefix}${d}`
    const unacked = new Set<number>(Array.from({ length: this.o.perDevice }, (_, i) => i))
    const deadline = this.started + (this.o.deadlineMs ?? 120_000)
    this.unfinished++
    try {
      await this.deliverAll(name, unacked, deadline)
    } finally {
      this.unfinished--
    }
  }

  private async deliverAll(name: string, unacked: Set<number>, deadline: number): Promise<void> {
    while (unacked.size > 0 && !this.stopped) {
      if (Date.now() > deadline) {
        throw new Error(`${name}: ${unacked.size} readings still unacknowledged at the deadline`)
      }
      let client: MqttClient
      try {
        client = await mqtt.connectAsync({
          host: '127.0.0.1',
          port: this.o.port,
          clientId: name,
          clean: true,
          reconnectPeriod: 0,
          connectTimeout: 2000,
          keepalive: 10,
        })
      } catch {
        await new Promise((r) => setTimeout(r, RETRY_MS))
        continue
      }
      this.connections++
      this.clients.add(client)
      await this.sendUnacked(client, name, unacked)
      // Forced: fails the callbacks of publishes that will never be acknowledged now.
      client.end(true)
      this.clients.delete(client)
    }
  }

  /** Sends the unacknowledged readings in order; resolves when all are acked or the link drops. */
  private sendUnacked(client: MqttClient, device: string, unacked: Set<number>): Promise<void> {
    const order = [...unacked].sort((a, b) => a - b)
    const window = this.o.window ?? 8
    const rate = this.o.ratePerSecond ?? 0
    const perDeviceGapMs = rate > 0 ? (1000 * this.o.devices) / rate : 0
    return new Promise<void>((resolve) => {
      let next = 0
      let inflight = 0
      let closed = false
      let paced: NodeJS.Timeout | undefined
      const finish = () => {
        closed = true
        clearTimeout(paced)
        resolve()
      }
      client.once('close', finish)
      const pump = () => {
        while (!closed && inflight < window && next < order.length) {
          if (paced !== undefined) return
          const i = order[next++] as number
          const ts = this.tsOf(i)
          inflight++
          this.publishes++
          const payload = `{"temperature":${20 + (i % 50) / 10},"ts":${ts}}`
          client.publish(`sensors/${device}/telemetry`, payload, { qos: 1 }, (err) => {
            inflight--
            if (!err) {
              unacked.delete(i)
              this.acked.add(SensorFleet.key(device, ts))
            }
            // Done, or every send answered with some refused: reconnect and resend those.
            if (unacked.size === 0 || (next >= order.length && inflight === 0)) finish()
            else pump()
          })
          if (perDeviceGapMs > 0) {
            paced = setTimeout(() => {
              paced = undefined
              pump()
            }, perDeviceGapMs)
          }
        }
      }
      pump()
    })
  }
}
