import type { EventEmitter } from 'node:events'
import { Aedes, type AuthenticateError, type Client, type PublishPacket } from 'aedes'
import { ERR } from '../errors.js'
import { type AccessOptions, AccessPolicy } from './access-policy.js'
import { AckSequence } from './ack-sequence.js'
import type { Acl } from './acl.js'
import type { Publisher, PublishOptions, QoS, SensorIntake, SensorMessage } from './intake.js'
import { IntakeGate } from './intake-gate.js'
import {
  type Listener,
  listenTcp,
  listenTls,
  listenWebSocket,
  type TcpListenerOptions,
  type TlsListenerOptions,
  type WebSocketListenerOptions,
} from './listeners.js'
import { readWholeBuffer } from './read-whole-buffer.js'
import {
  REFUSAL_REASONS,
  type Refusal,
  type RefusalListener,
  type RefusalReason,
} from './refusal.js'
import { type StatusOptions, statusPayload } from './status.js'
import { TokenBucket } from './token-bucket.js'
import { isValidFilter, matchTopic } from './topic-filter.js'

export interface RateLimit {
  /** Sustained messages per second per client. */
  readonly messagesPerSecond: number
  /** Messages a client may send at once before the rate applies. */
  readonly burst: number
}

export interface EmbeddedBrokerOptions extends AccessOptions {
  /** At least one listener must be given. */
  readonly tcp?: TcpListenerOptions
  readonly tls?: TlsListenerOptions
  readonly websocket?: WebSocketListenerOptions
  /** Topic filters of sensor messages; these go to the intake and wait for its ack. */
  readonly sensorTopics: readonly string[]
  /** Largest accepted PUBLISH payload in bytes; default 65536. */
  readonly maxPayloadBytes?: number
  /** Per-client limit; none when absent. */
  readonly rateLimit?: RateLimit
  /** Retained online/offline announcement; none when absent. */
  readonly status?: StatusOptions
  /** Called for broker-level errors (never thrown); default: ignored. */
  readonly onError?: (err: Error) => void
}

/** Per-connection state, kept beside aedes' client object. */
interface Session {
  readonly username: string | undefined
  readonly acl: Acl
  readonly bucket: TokenBucket | undefined
  readonly acks: AckSequence
}

const DEFAULT_MAX_PAYLOAD = 64 * 1024
const NO_ACK = () => {}

/**
 * The aedes broker embedded in the daemon. Sensor publishes are consumed in-process in
 * the `authorizePublish` hook: aedes writes a QoS 1 PUBACK (QoS 2 PUBREC) only after
 * that hook calls back, so the callback is held until the intake's `ack()`. Any refusal
 * is reported through `onRefusal` and counted.
 */
export class EmbeddedBroker {
  readonly intake: SensorIntake
  readonly publisher: Publisher
  private readonly listeners: Listener[] = []
  private readonly sessions = new WeakMap<Client, Session>()
  private readonly refusalListeners = new Set<RefusalListener>()
  private readonly counts = new Map<RefusalReason, number>(REFUSAL_REASONS.map((r) => [r, 0]))
  // Payloads of rate-limited QoS 0 messages: aedes still routes them after the hook, so
  // authorizeForward stops them here (aedes keeps the payload Buffer's identity).
  private readonly dropped = new WeakSet<Buffer>()
  private readonly gate: IntakeGate
  private readonly policy: AccessPolicy
  private closing: Promise<void> | undefined
  /** Replaced on a config reload (new sensor topic patterns apply to the next publish). */
  private sensorTopics: readonly string[]

  private constructor(
    private readonly aedes: Aedes,
    private readonly opts: EmbeddedBrokerOptions,
  ) {
    this.policy = new AccessPolicy(opts)
    this.sensorTopics = [...opts.sensorTopics]
    this.gate = new IntakeGate((err, m) =>
      m.ack(err instanceof Error ? err : new Error(String(err))),
    )
    aedes.authenticate = (client, username, password, cb) => {
      this.authenticate(client, username, password).then(
        (ok) => cb(null, ok),
        (err: Error & { returnCode?: number }) =>
          cb(Object.assign(err, { returnCode: err.returnCode ?? 3 }) as AuthenticateError, false),
      )
    }
    aedes.authorizePublish = (client, packet, cb) => this.authorizePublish(client, packet, cb)
    aedes.authorizeSubscribe = (client, sub, cb) => {
      const s = this.sessions.get(client)
      if (
        s &&
        this.policy.maySubscribe(s.acl, { username: s.username, clientId: client.id }, sub.topic)
      ) {
        cb(null, sub)
        return
      }
      this.refuse(
        client,
        s,
        'acl-subscribe',
        sub.topic,
        'subscription not allowed by the ACL',
        'suback-refused',
      )
      cb(null, null) // SUBACK 0x80 for this filter, the connection stays
    }
    aedes.authorizeForward = (_client, packet) =>
      typeof packet.payload !== 'string' && this.dropped.has(packet.payload) ? null : packet
    aedes.on('clientDisconnect', (client) => {
      const s = this.sessions.get(client)
      if (s) this.gate.dropConnection(s)
    })
    // one client's trouble never crashes the broker; broker-level errors are reported
    const emitter: EventEmitter = aedes
    emitter.on('error', (err: Error) => opts.onError?.(err))
    this.intake = this.makeIntake()
    this.publisher = { publish: (t, p, o) => this.publish(t, p, o) }
  }

  static async start(opts: EmbeddedBrokerOptions): Promise<EmbeddedBroker> {
    for (const t of opts.sensorTopics) {
      if (!isValidFilter(t)) throw ERR.BROKER_BAD_FILTER('sensorTopics', t)
    }
    const aedes = await Aedes.createBroker()
    const broker = new EmbeddedBroker(aedes, opts)
    try {
      const handle = (
        stream: Parameters<typeof aedes.handle>[0],
        req?: Parameters<typeof aedes.handle>[1],
      ) => {
        aedes.handle(readWholeBuffer(stream), req)
      }
      if (opts.tcp) broker.listeners.push(await listenTcp(opts.tcp, handle))
      if (opts.tls) broker.listeners.push(await listenTls(opts.tls, handle))
      if (opts.websocket) broker.listeners.push(await listenWebSocket(opts.websocket, handle))
      if (opts.status) await broker.publishStatus('online')
    } catch (err) {
      await broker.close()
      throw err
    }
    return broker
  }

  /** Which topics are sensor messages from now on (a config reload). */
  setSensorTopics(filters: readonly string[]): void {
    for (const t of filters) {
      if (!isValidFilter(t)) throw ERR.BROKER_BAD_FILTER('sensorTopics', t)
    }
    this.sensorTopics = [...filters]
  }

  /** Bound ports of the listeners that were configured. */
  get ports(): { tcp?: number; tls?: number; websocket?: number } {
    return Object.fromEntries(this.listeners.map((l) => [l.kind, l.port]))
  }

  /** Subscribes to refusals; returns the unsubscribe function. */
  onRefusal(listener: RefusalListener): () => void {
    this.refusalListeners.add(listener)
    return () => this.refusalListeners.delete(listener)
  }

  refusalCounts(): Readonly<Record<RefusalReason, number>> {
    return Object.fromEntries(this.counts) as Record<RefusalReason, number>
  }

  /**
   * Announces `offline` (retained), disconnects every client and closes the listeners.
   * Sensor messages still unacknowledged get no PUBACK: their senders resend them.
   */
  close(): Promise<void> {
    this.closing ??= (async () => {
      this.gate.stop()
      if (this.opts.status && !this.aedes.closed) {
        await this.publishStatus('offline').catch(() => {})
      }
      await new Promise<void>((resolve) => this.aedes.close(() => resolve()))
      await Promise.all(this.listeners.map((l) => l.close()))
    })()
    return this.closing
  }

  private makeIntake(): SensorIntake {
    const gate = this.gate
    return {
      onMessage: (handler) => gate.setHandler(handler),
      start: async () => gate.start(),
      stop: async () => gate.stop(),
    }
  }

  private async authenticate(
    client: Client,
    username: string | undefined,
    password: Buffer | undefined,
  ): Promise<boolean> {
    const res = await this.policy.authenticate(username, password)
    if (!res.ok) {
      this.refuse(client, undefined, res.reason, undefined, res.detail, 'connack-refused', username)
      throw Object.assign(new Error(res.detail), { returnCode: res.returnCode })
    }
    const rate = this.opts.rateLimit
    this.sessions.set(client, {
      username: res.username,
      acl: res.acl,
      bucket: rate ? new TokenBucket(rate.messagesPerSecond, rate.burst, Date.now()) : undefined,
      acks: new AckSequence((err) => {
        this.refuse(
          client,
          this.sessions.get(client),
          'not-stored',
          undefined,
          err.message,
          'disconnected',
        )
      }),
    })
    return true
  }

  private authorizePublish(
    client: Client | null,
    packet: PublishPacket,
    cb: (err?: Error | null) => void,
  ): void {
    const topic = packet.topic
    // aedes' default: nobody publishes under $SYS/ (a DoS vector, aedes #597)
    if (topic.startsWith('$SYS/')) {
      if (client)
        this.refuse(
          client,
          this.sessions.get(client),
          'sys-topic',
          topic,
          '$SYS/ is reserved',
          'disconnected',
        )
      cb(new Error('$SYS/ topic is reserved'))
      return
    }
    if (!client) {
      cb(null) // a will of a client gone before this broker started
      return
    }
    const s = this.sessions.get(client)
    if (
      !s ||
      !this.policy.mayPublish(s.acl, { username: s.username, clientId: client.id }, topic)
    ) {
      this.refuse(client, s, 'acl-publish', topic, 'publish not allowed by the ACL', 'disconnected')
      cb(new Error('not authorized to publish here'))
      return
    }
    const size = packet.payload.length
    const max = this.opts.maxPayloadBytes ?? DEFAULT_MAX_PAYLOAD
    if (size > max) {
      const detail = `payload of ${size} bytes exceeds the limit of ${max}`
      this.refuse(client, s, 'payload-too-large', topic, detail, 'disconnected')
      cb(new Error(detail))
      return
    }
    if (s.bucket && !s.bucket.take(Date.now())) {
      const detail = `more than ${this.opts.rateLimit?.messagesPerSecond} messages/s`
      if (packet.qos === 0) {
        // QoS 0 promises nothing: drop it, keep the client
        this.refuse(client, s, 'rate-limited', topic, detail, 'dropped')
        this.dropped.add(packet.payload as Buffer)
        packet.retain = false
        cb(null)
        return
      }
      // QoS 1/2 must not be acknowledged and thrown away: drop the connection instead
      this.refuse(client, s, 'rate-limited', topic, detail, 'disconnected')
      cb(new Error(detail))
      return
    }
    if (!this.sensorTopics.some((f) => matchTopic(f, topic))) {
      cb(null)
      return
    }
    const qos = packet.qos as QoS
    const payload =
      typeof packet.payload === 'string' ? Buffer.from(packet.payload) : packet.payload
    const message: SensorMessage = {
      topic,
      payload,
      receivedAt: Date.now(),
      qos,
      clientId: client.id,
      ...(qos === 0 || packet.messageId === undefined
        ? {}
        : {
            delivery: {
              session: `sensor:${client.id}`,
              packetId: packet.messageId,
              dup: packet.dup === true,
            },
          }),
      ack: qos === 0 ? NO_ACK : s.acks.add(cb),
    }
    const wait = this.gate.offer(message, s)
    if (qos !== 0) return
    // QoS 0 has no ack to hold: hold the hook instead while the gateway is full.
    if (wait === undefined) cb(null)
    else wait.then(() => cb(null), cb)
  }

  private refuse(
    client: Client,
    s: Session | undefined,
    reason: RefusalReason,
    topic: string | undefined,
    detail: string,
    action: Refusal['action'],
    username = s?.username,
  ): void {
    this.counts.set(reason, (this.counts.get(reason) ?? 0) + 1)
    const refusal: Refusal = { reason, clientId: client.id, username, topic, detail, action }
    for (const l of this.refusalListeners) {
      try {
        l(refusal)
      } catch {
        // a faulty listener must not break the broker's hook chain
      }
    }
  }

  private publish(topic: string, payload: Buffer | string, o: PublishOptions): Promise<void> {
    if (this.aedes.closed) return Promise.reject(ERR.BROKER_CLOSED(topic))
    const packet: PublishPacket = {
      cmd: 'publish',
      topic,
      payload: typeof payload === 'string' ? Buffer.from(payload) : payload,
      qos: o.qos,
      retain: o.retain,
      dup: false,
    }
    return new Promise((resolve, reject) => {
      this.aedes.publish(packet, (err) =>
        err ? reject(ERR.BROKER_PUBLISH(topic, err.message)) : resolve(),
      )
    })
  }

  private publishStatus(state: 'online' | 'offline'): Promise<void> {
    const status = this.opts.status!
    return this.publish(status.topic, statusPayload(status, state, Date.now()), {
      qos: 1,
      retain: true,
    })
  }
}
