import mqtt, { type IPublishPacket, type MqttClient } from 'mqtt'
import { Attempts, reconnectBackoff } from '../engine/backoff.js'
import { ERR } from '../errors.js'
import { clientOptions } from '../mqtt/client-options.js'
import { parseMqttUrl, readTlsFile } from '../mqtt/endpoint.js'
import { type StatusOptions, statusPayload } from '../mqtt/status.js'
import { VERSION } from '../version.js'
import { AckSequence, type Release } from './ack-sequence.js'
import type { Publisher, PublishOptions, QoS, SensorIntake, SensorMessage } from './intake.js'
import { IntakeGate } from './intake-gate.js'
import { publishTopicProblem } from './limits.js'
import { isValidFilter } from './topic-filter.js'

export interface ExternalBrokerOptions {
  /** `mqtt://host:port` or `mqtts://host:port`. */
  readonly url: string
  /** Fixed, so the broker keeps the session (and unacknowledged messages) across restarts. */
  readonly clientId: string
  /** Default: the URL's credentials (`mqtt://user:pass@host`), percent-decoded. */
  readonly username?: string
  readonly password?: string
  /** CA certificate(s) for mqtts://, as PEM text or a file path. */
  readonly ca?: string | Buffer
  readonly caFile?: string
  /** Client certificate and key (PEM files) for brokers that require one (mqtts://). */
  readonly certFile?: string
  readonly keyFile?: string
  readonly sensorTopics: readonly string[]
  /** Retained online/offline status, with the Last Will as `offline`. */
  readonly status?: StatusOptions
  /** Reconnect backoff: doubles from `initialMs` up to `maxMs`, with equal jitter. */
  readonly reconnect?: { readonly initialMs?: number; readonly maxMs?: number }
  readonly keepaliveSeconds?: number
  /**
   * MQTT 5 Receive Maximum: how many unacknowledged messages the broker may send at once.
   * Default DEFAULT_RECEIVE_MAXIMUM.
   */
  readonly receiveMaximum?: number
  /** How long the broker keeps the session while the gateway is away; default 7 days. */
  readonly sessionExpirySeconds?: number
  /** A sensor message's receive time (default Date.now; the daemon's ClockSanity). */
  readonly receiveTime?: () => number
  /** Connection and protocol errors (never thrown); default: ignored. */
  readonly onError?: (err: Error) => void
}

type SendPacket = (
  packet: { cmd: 'puback'; messageId: number; reasonCode: number },
  cb?: () => void,
  cbStorePut?: undefined,
  noStore?: boolean,
) => void

/**
 * Mosquitto (2.0.11 measured) honours an MQTT 5 client's Receive Maximum for what it sends,
 * and never drops a message in flight; only its queue behind the window is cut, at
 * `max_queued_messages` (stock 1000). A burst from `mosquitto_pub -l` (about 12,000
 * messages/s here) outruns the gateway (3,000-6,000/s on the shared test machine), so
 * the window is where a burst waits safely: with 1000 a stock Mosquitto dropped 3,000 of
 * a 5,000 burst, with 4096 none. Messages of the window that the sensor channel
 * (SENSOR_CHANNEL_CAPACITY) has no room for wait unread in the socket: bounded by the
 * window, and not held in the JS heap.
 */
export const DEFAULT_RECEIVE_MAXIMUM = 4096

/** Tells MQTT.js "handled elsewhere": it moves to the next packet and sends nothing. */
const DEFERRED = new Error('floxgate: acknowledgement deferred until stored')

const noAck = (): void => {}

/**
 * The gateway's connection to an external broker (Mosquitto or any MQTT 5 broker):
 * a persistent session (fixed client id, clean start off, a session expiry) with QoS 1
 * subscriptions to the sensor topics, and the gateway's own publishes.
 *
 * MQTT.js applies `customHandleAcks` only with MQTT 5, and processes the next incoming
 * packet only after its callback; waiting there for a group commit would let one message
 * through per commit. So the callback is answered as soon as the workflow has taken the
 * message (at once unless it is full) with a sentinel error (MQTT.js then sends no
 * PUBACK) and the PUBACK is written later, in receive order, by
 * `AckSequence`, on the same connection only. A PUBACK that would belong to a closed
 * connection is never sent: the broker redelivers that message on the new one.
 */
export class ExternalBroker {
  readonly intake: SensorIntake
  readonly publisher: Publisher
  private readonly client: MqttClient
  private readonly gate: IntakeGate
  private readonly sendPacket: SendPacket
  private generation = 0
  private pubacks = 0
  private acks: AckSequence
  private readonly backoff: Attempts
  private closing: Promise<void> | undefined
  /** Replaced on a config reload; the session's subscriptions follow. */
  private sensorTopics: readonly string[]

  private constructor(private readonly opts: ExternalBrokerOptions) {
    const endpoint = parseMqttUrl('broker.external.url', opts.url)
    for (const t of opts.sensorTopics) {
      if (!isValidFilter(t)) throw ERR.BROKER_BAD_FILTER('sensorTopics', t)
    }
    this.sensorTopics = [...opts.sensorTopics]
    this.backoff = new Attempts(
      reconnectBackoff(opts.reconnect?.initialMs ?? 1000, opts.reconnect?.maxMs ?? 30_000),
    )
    this.gate = new IntakeGate((err, m) =>
      m.ack(err instanceof Error ? err : new Error(String(err))),
    )
    this.acks = this.newSequence()
    const tls = (key: 'certFile' | 'keyFile' | 'caFile', file: string | undefined) =>
      file === undefined ? undefined : readTlsFile(`broker.external.${key}`, file)
    const options = clientOptions({
      ...endpoint,
      username: opts.username ?? endpoint.username,
      password: opts.password ?? endpoint.password,
      clientId: opts.clientId,
      ca:
        typeof opts.ca === 'string'
          ? Buffer.from(opts.ca)
          : (opts.ca ?? tls('caFile', opts.caFile)),
      cert: tls('certFile', opts.certFile),
      key: tls('keyFile', opts.keyFile),
      protocolVersion: 5,
      keepaliveSeconds: opts.keepaliveSeconds ?? 30,
      connectTimeoutMs: 10_000,
      // MQTT.js reconnects; each wait is set from the backoff as the connection drops.
      reconnectPeriod: this.reconnectPeriod(),
      will: opts.status && { topic: opts.status.topic, payload: this.status('offline') },
    })
    options.resubscribe = false
    options.properties = {
      sessionExpiryInterval: opts.sessionExpirySeconds ?? 7 * 24 * 3600,
      receiveMaximum: opts.receiveMaximum ?? DEFAULT_RECEIVE_MAXIMUM,
    }
    options.customHandleAcks = (topic, message, packet, done) =>
      this.onPublish(topic, message, packet, done)
    // connect(options) rather than connect(url): the URL form warns on newer Node
    this.client = mqtt.connect(options)
    const send = (this.client as unknown as { _sendPacket?: SendPacket })._sendPacket
    if (typeof send !== 'function') {
      this.client.end(true)
      throw ERR.MQTT_CLIENT_INTERNALS('MqttClient._sendPacket')
    }
    this.sendPacket = send.bind(this.client)
    this.client.on('packetsend', (p) => {
      if (p.cmd === 'puback') this.pubacks++
    })
    this.client.on('connect', () => this.onConnect())
    this.client.on('close', () => this.onClose())
    // 'offline' once as the connection drops, 'reconnect' at each attempt: each is one more
    // failed attempt, and the wait MQTT.js takes before the next one.
    this.client.on('offline', () => this.setReconnectPeriod())
    this.client.on('reconnect', () => this.setReconnectPeriod())
    // QoS 0 reaches MQTT.js' handleMessage hook (QoS 1/2 go through customHandleAcks,
    // whose error answer skips it); the next packet is read only after its callback.
    this.client.handleMessage = (packet, callback) => {
      if (packet.cmd !== 'publish' || packet.qos !== 0) return callback()
      const payload =
        typeof packet.payload === 'string' ? Buffer.from(packet.payload) : packet.payload
      this.whenTaken(
        this.gate.offer(this.message(packet.topic, payload, 0, noAck, packet), this.acks),
        callback,
      )
    }
    this.client.on('error', (err) => {
      if (err !== DEFERRED) opts.onError?.(err)
    })
    const gate = this.gate
    this.intake = {
      onMessage: (handler) => gate.setHandler(handler),
      start: async () => gate.start(),
      stop: async () => gate.stop(),
    }
    this.publisher = { publish: (t, p, o) => this.publish(t, p, o) }
  }

  /** Starts connecting (and reconnecting) in the background. */
  static connect(opts: ExternalBrokerOptions): ExternalBroker {
    return new ExternalBroker(opts)
  }

  /** PUBACKs this connection has written to the broker since start (for metrics and tests). */
  get acknowledged(): number {
    return this.pubacks
  }

  get connected(): boolean {
    return this.client.connected
  }

  /** Resolves at the next successful CONNACK with subscriptions in place. */
  whenConnected(): Promise<void> {
    if (this.client.connected && this.subscribed) return Promise.resolve()
    return new Promise((resolve) => this.subscribedWaiters.push(resolve))
  }

  /** Announces `offline` (when connected) and disconnects; unacknowledged messages stay with the broker. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      this.gate.stop()
      if (this.opts.status && this.client.connected) {
        await this.publish(this.opts.status.topic, this.status('offline'), {
          qos: 1,
          retain: true,
        }).catch(() => {})
      }
      // force: do not wait for PUBACKs of our own publishes still in flight
      await new Promise<void>((resolve) => this.client.end(true, {}, () => resolve()))
    })()
    return this.closing
  }

  /**
   * Which topics are sensor messages from now on (a config reload): new filters are
   * subscribed at QoS 1, dropped ones unsubscribed. Offline, the next connect does it.
   */
  setSensorTopics(filters: readonly string[]): void {
    for (const t of filters) {
      if (!isValidFilter(t)) throw ERR.BROKER_BAD_FILTER('sensorTopics', t)
    }
    const added = filters.filter((t) => !this.sensorTopics.includes(t))
    const removed = this.sensorTopics.filter((t) => !filters.includes(t))
    this.sensorTopics = [...filters]
    if (!this.client.connected) return
    const report = (err?: Error | null) => {
      if (err) this.opts.onError?.(err)
    }
    if (added.length > 0) this.client.subscribe(added, { qos: 1 }, report)
    if (removed.length > 0) this.client.unsubscribe(removed, report)
  }

  private subscribed = false
  private subscribedWaiters: Array<() => void> = []

  private onConnect(): void {
    this.backoff.reset()
    this.client.options.reconnectPeriod = this.reconnectPeriod()
    const topics = Object.fromEntries(this.sensorTopics.map((t) => [t, { qos: 1 as const }]))
    this.client.subscribe(topics, (err) => {
      if (err) {
        this.opts.onError?.(err)
        return
      }
      this.subscribed = true
      const waiters = this.subscribedWaiters
      this.subscribedWaiters = []
      for (const w of waiters) w()
      if (this.opts.status) {
        this.publish(this.opts.status.topic, this.status('online'), {
          qos: 1,
          retain: true,
        }).catch((e: Error) => this.opts.onError?.(e))
      }
    })
  }

  private onClose(): void {
    this.subscribed = false
    const old = this.acks
    this.generation++
    this.acks = this.newSequence()
    // messages of the old connection were not acknowledged: the broker resends them
    this.gate.dropConnection(old)
  }

  private setReconnectPeriod(): void {
    this.client.options.reconnectPeriod = this.reconnectPeriod(this.backoff.next())
  }

  /** A reconnectPeriod of 0 would turn MQTT.js' reconnecting off. */
  private reconnectPeriod(waitMs = this.opts.reconnect?.initialMs ?? 1000): number {
    return Math.max(10, waitMs)
  }

  private status(state: 'online' | 'offline'): Buffer {
    return statusPayload(this.opts.status?.gatewayId ?? this.opts.clientId, VERSION, state)
  }

  private newSequence(): AckSequence {
    // a store failure: drop the connection so the broker redelivers what was not acked
    return new AckSequence(() => this.client?.stream?.destroy())
  }

  private onPublish(
    topic: string,
    payload: Buffer,
    packet: IPublishPacket,
    done: (err: Error | number, code?: number) => void,
  ): void {
    if (packet.qos === 2) {
      // sensor subscriptions are QoS 1, so this is rare: acknowledge through MQTT.js
      // (it serialises, but keeps QoS 2's PUBREC/PUBREL bookkeeping correct)
      const ack = this.acks.add((err) => done(err ?? 0))
      this.gate.offer(this.message(topic, payload, 2, ack, packet), this.acks)
      return
    }
    const ack = this.acks.add(this.pubackFor(packet.messageId!))
    // Back-pressure: the broker's in-flight window is not enough (Mosquitto 2.0 sends past
    // our Receive Maximum once PUBACKs flow: 54,000 unacknowledged in a 100,000 flood, and
    // the heap ran out). While the workflow is full the next packet is not read, so TCP
    // holds the broker back.
    this.whenTaken(this.gate.offer(this.message(topic, payload, 1, ack, packet), this.acks), () =>
      done(DEFERRED),
    )
  }

  /** The PUBACK of one message, sent on its own connection only (own closure: no packet kept). */
  private pubackFor(messageId: number): Release {
    const generation = this.generation
    return (err) => {
      if (err || generation !== this.generation || !this.client.connected) return
      this.sendPacket({ cmd: 'puback', messageId, reasonCode: 0 }, undefined, undefined, true)
    }
  }

  /** Calls `next` (read the next packet) at once, or when the workflow has taken the message. */
  private whenTaken(wait: undefined | Promise<void>, next: () => void): void {
    if (wait === undefined) next()
    else wait.then(next, next)
  }

  private message(
    topic: string,
    payload: Buffer,
    qos: QoS,
    ack: (err?: Error) => void,
    packet: IPublishPacket,
  ): SensorMessage {
    // The broker redelivers to this session with DUP set after a reconnect.
    const delivery =
      qos === 0 || packet.messageId === undefined
        ? undefined
        : { session: `broker:${this.opts.clientId}`, packetId: packet.messageId, dup: packet.dup }
    const receivedAt = this.opts.receiveTime?.() ?? Date.now()
    return { topic, payload, receivedAt, qos, ack, ...(delivery && { delivery }) }
  }

  private publish(topic: string, payload: Buffer | string, o: PublishOptions): Promise<void> {
    if (this.client.disconnecting || this.client.disconnected) {
      return Promise.reject(ERR.BROKER_CLOSED(topic))
    }
    const bad = publishTopicProblem(topic)
    if (bad !== undefined) return Promise.reject(ERR.BROKER_PUBLISH(topic, bad))
    return this.client.publishAsync(topic, payload, { qos: o.qos, retain: o.retain }).then(
      () => undefined,
      (err: Error) => {
        throw ERR.BROKER_PUBLISH(topic, err.message)
      },
    )
  }
}
