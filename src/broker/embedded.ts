import type { EventEmitter } from 'node:events'
import type { Duplex } from 'node:stream'
import { Aedes, type AuthenticateError, type Client, type PublishPacket } from 'aedes'
import { TokenBucket } from '../engine/token-bucket.js'
import { ERR } from '../errors.js'
import { type StatusOptions, statusPayload } from '../mqtt/status.js'
import { VERSION } from '../version.js'
import { type AccessOptions, AccessPolicy } from './access-policy.js'
import { AckSequence } from './ack-sequence.js'
import type { Acl } from './acl.js'
import { AddressSlots } from './address-slots.js'
import type {
  BrokerDeadLetterReason,
  Publisher,
  PublishOptions,
  QoS,
  SensorIntake,
  SensorMessage,
} from './intake.js'
import { IntakeGate } from './intake-gate.js'
import {
  clipForLog,
  MAX_TOPIC_BYTES,
  publishTopicProblem,
  REFUSED_PAYLOAD_HEAD_BYTES,
  topicProblem,
} from './limits.js'
import {
  type Listener,
  listenTcp,
  listenTls,
  listenWebSocket,
  type TcpListenerOptions,
  type TlsListenerOptions,
  type WebSocketListenerOptions,
} from './listeners.js'
import { boundParser, type PacketLimits, type PacketParser } from './packet-bound.js'
import { readWholeBuffer } from './read-whole-buffer.js'
import {
  REFUSAL_REASONS,
  type Refusal,
  type RefusalListener,
  type RefusalReason,
} from './refusal.js'
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
  /**
   * Bytes queued for one client's socket beyond which it is disconnected as a slow
   * consumer (it stopped reading); default 256 KiB.
   */
  readonly maxOutgoingBytes?: number
  /** Connections open at once, over all listeners; more are closed at once. Default 1000. */
  readonly maxConnections?: number
  /**
   * Connections open at once from one address (an IPv6 /64), over all listeners; more
   * from it are closed at once. Default 250, a quarter of the default maxConnections.
   */
  readonly maxConnectionsPerAddress?: number
  /** A sensor message's receive time (default Date.now; the daemon's ClockSanity). */
  readonly receiveTime?: () => number
  /** Called for broker-level errors (never thrown); default: ignored. */
  readonly onError?: (err: Error) => void
}

/** Per-connection state, kept beside aedes' client object. */
interface Session {
  readonly username: string | undefined
  /** `sensor:<client id>`: the MQTT session a QoS 1 message's packet id belongs to. */
  readonly session: string
  readonly acl: Acl
  readonly bucket: TokenBucket | undefined
  readonly acks: AckSequence
  /** Refused messages in the current minute: past STRIKE_LIMIT the client is disconnected. */
  strikes: number
  strikesSince: number
}

const DEFAULT_MAX_PAYLOAD = 64 * 1024
const DEFAULT_MAX_OUTGOING = 256 * 1024
const DEFAULT_MAX_CONNECTIONS = 1000
const DEFAULT_MAX_CONNECTIONS_PER_ADDRESS = 250
/** A client whose messages are refused this often a minute is disconnected. */
const STRIKE_LIMIT = 10
const STRIKE_WINDOW_MS = 60_000
const NO_ACK = () => {}

/** Bytes a socket may hold before `write()` says "wait" (see listeners.ts). */
export function socketHighWaterMark(o: {
  maxPayloadBytes?: number | undefined
  maxOutgoingBytes?: number | undefined
}): number {
  // One whole PUBLISH written while under the bound never makes write() return false, so
  // aedes never waits for a slow client's drain while routing someone else's message.
  return (
    (o.maxOutgoingBytes ?? DEFAULT_MAX_OUTGOING) +
    (o.maxPayloadBytes ?? DEFAULT_MAX_PAYLOAD) +
    MAX_TOPIC_BYTES +
    64
  )
}

/** What one packet may make the broker buffer (packet-bound.ts). */
export function packetLimits(maxPayloadBytes: number | undefined): PacketLimits {
  const payload = maxPayloadBytes ?? DEFAULT_MAX_PAYLOAD
  return {
    // A CONNECT's fields are bounded (limits.ts) but for the will's payload; a client id
    // of up to 64 KiB still gets its CONNACK 2 rather than a closed connection.
    connectBytes: Math.max(payload, 65_535) + 2048,
    // Longer ones are acknowledged and dead-lettered from their first bytes.
    publishBytes: payload + MAX_TOPIC_BYTES + 64,
    // SUBSCRIBE, UNSUBSCRIBE: filters of at most MAX_TOPIC_BYTES each.
    otherBytes: 64 * 1024,
  }
}

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
  /** Connected client ids and their account (undefined: anonymous), for takeover refusal. */
  private readonly owners = new Map<string, { client: Client; username: string | undefined }>()
  private readonly refusalListeners = new Set<RefusalListener>()
  private readonly counts = new Map<RefusalReason, number>(REFUSAL_REASONS.map((r) => [r, 0]))
  // Payloads of rate-limited QoS 0 messages: aedes still routes them after the hook, so
  // authorizeForward stops them here (aedes keeps the payload Buffer's identity).
  private readonly dropped = new WeakSet<Buffer>()
  /** Stand-ins of PUBLISH packets too large to keep: their payload's head -> its real size. */
  private readonly oversized = new WeakMap<Buffer, number>()
  private readonly gate: IntakeGate
  private readonly policy: AccessPolicy
  private closing: Promise<void> | undefined
  private openConnections = 0
  private readonly addressSlots: AddressSlots
  /** Replaced on a config reload (new sensor topic patterns apply to the next publish). */
  private sensorTopics: readonly string[]

  private constructor(
    private readonly aedes: Aedes,
    private readonly opts: EmbeddedBrokerOptions,
  ) {
    this.policy = new AccessPolicy(opts)
    this.addressSlots = new AddressSlots(
      opts.maxConnectionsPerAddress ?? DEFAULT_MAX_CONNECTIONS_PER_ADDRESS,
    )
    this.sensorTopics = [...opts.sensorTopics]
    this.gate = new IntakeGate((err, m) =>
      m.ack(err instanceof Error ? err : new Error(String(err))),
    )
    aedes.authenticate = (client, username, password, cb) => {
      this.authenticate(client, username ?? undefined, password ?? undefined).then(
        (ok) => cb(null, ok),
        (err: Error & { returnCode?: number }) =>
          cb(Object.assign(err, { returnCode: err.returnCode ?? 3 }) as AuthenticateError, false),
      )
    }
    aedes.authorizePublish = (client, packet, cb) => this.authorizePublish(client, packet, cb)
    aedes.authorizeSubscribe = (client, sub, cb) => {
      const s = this.sessions.get(client)
      const bad = topicProblem(sub.topic)
      if (
        bad === undefined &&
        s &&
        this.policy.maySubscribe(s.acl, { username: s.username, clientId: client.id }, sub.topic)
      ) {
        cb(null, sub)
        return
      }
      this.refuse(
        client,
        s,
        bad === undefined ? 'acl-subscribe' : 'bad-topic',
        sub.topic,
        bad ?? 'subscription not allowed by the ACL',
        'suback-refused',
      )
      cb(null, null) // SUBACK 0x80 for this filter, the connection stays
    }
    aedes.authorizeForward = (client, packet) => {
      if (typeof packet.payload !== 'string' && this.dropped.has(packet.payload)) return null
      return this.mayForward(client) ? packet : null
    }
    aedes.on('clientDisconnect', (client) => this.forget(client))
    aedes.on('clientError', (client) => this.forget(client))
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
    // drainTimeout: a client over its outgoing bound is cut in authorizeForward; this only
    // bounds a wait on a socket whose transport ignores the high-water mark (websocket).
    // concurrency 0: mqemitter delivers each message as it is published instead of
    // queueing past 100 in flight. Its queue drains by recursion (released -> _do ->
    // released) once deliveries complete synchronously, which they do since slow
    // consumers are cut instead of waited on: a flood overflowed the stack (RangeError
    // in mqemitter, seen in bench:gateway's embedded flood). The outgoing bound per
    // client is what limits memory, not this queue.
    const aedes = await Aedes.createBroker({ drainTimeout: 5000, concurrency: 0 })
    const broker = new EmbeddedBroker(aedes, opts)
    try {
      const handle = (
        stream: Parameters<typeof aedes.handle>[0],
        req?: Parameters<typeof aedes.handle>[1],
      ) => {
        const conn = stream as unknown as Duplex
        // TCP and TLS hand over the socket itself; a websocket's address is its request's.
        const address =
          req?.socket.remoteAddress ?? (stream as { remoteAddress?: string }).remoteAddress
        if (!broker.admit(conn, address)) return
        broker.boundPackets(aedes.handle(readWholeBuffer(stream), req), conn)
      }
      const highWaterMark = socketHighWaterMark(opts)
      if (opts.tcp) broker.listeners.push(await listenTcp({ ...opts.tcp, highWaterMark }, handle))
      if (opts.tls) broker.listeners.push(await listenTls({ ...opts.tls, highWaterMark }, handle))
      if (opts.websocket) broker.listeners.push(await listenWebSocket(opts.websocket, handle))
      if (opts.status) await broker.publishStatus('online')
    } catch (err) {
      await broker.close()
      throw err
    }
    return broker
  }

  /**
   * Counts a new connection in, or closes it at once when `maxConnections` are open, or
   * `maxConnectionsPerAddress` from its address: each one may hold a packet of up to
   * `packetLimits` bytes, so their number bounds memory, and no one address may take
   * every place.
   */
  private admit(conn: Duplex, address: string | undefined): boolean {
    const max = this.opts.maxConnections ?? DEFAULT_MAX_CONNECTIONS
    const key = AddressSlots.keyOf(address)
    let refusal: { reason: RefusalReason; detail: string } | undefined
    if (this.openConnections >= max) {
      refusal = {
        reason: 'too-many-connections',
        detail: `${max} connections are open (broker.embedded.maxConnections)`,
      }
    } else if (!this.addressSlots.take(key)) {
      refusal = {
        reason: 'too-many-from-address',
        detail: `${this.addressSlots.max} connections are open from ${key} (broker.embedded.maxConnectionsPerAddress)`,
      }
    }
    if (refusal !== undefined) {
      this.emitRefusal({
        ...refusal,
        clientId: '',
        username: undefined,
        topic: undefined,
        action: 'disconnected',
      })
      conn.destroy()
      return false
    }
    this.openConnections++
    conn.once('close', () => {
      this.openConnections--
      this.addressSlots.release(key)
    })
    return true
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
    // A websocket client's stream has no address: its upgrade request's socket has.
    const peer = client as unknown as {
      conn?: { remoteAddress?: string }
      req?: { socket?: { remoteAddress?: string } }
    }
    const address = peer.conn?.remoteAddress ?? peer.req?.socket?.remoteAddress
    const res = await this.policy.authenticate({
      clientId: client.id,
      username,
      password,
      address,
    })
    if (!res.ok) {
      this.refuse(client, undefined, res.reason, undefined, res.detail, 'connack-refused', username)
      throw Object.assign(ERR.BROKER_REFUSED(res.detail), { returnCode: res.returnCode })
    }
    // A client id is its account's: another account (or an anonymous client) taking it
    // over would end that session and could receive its messages.
    const holder = this.owners.get(client.id)
    if (
      this.policy.clientIdOwnedByOther(client.id, res.username) ||
      (holder !== undefined && holder.client !== client && holder.username !== res.username)
    ) {
      const detail = 'this client id belongs to another account'
      this.refuse(
        client,
        undefined,
        'client-id-taken',
        undefined,
        detail,
        'connack-refused',
        username,
      )
      throw Object.assign(ERR.BROKER_REFUSED(detail), { returnCode: 2 })
    }
    this.owners.set(client.id, { client, username: res.username })
    ;(client.conn as unknown as Duplex | undefined)?.once('close', () => this.forget(client))
    const rate = this.opts.rateLimit
    this.sessions.set(client, {
      session: `sensor:${client.id}`,
      strikes: 0,
      strikesSince: 0,
      username: res.username,
      acl: res.acl,
      bucket: rate ? new TokenBucket(rate.messagesPerSecond, rate.burst) : undefined,
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
    if (!client) {
      // a will of a client gone before this broker started; aedes' default rule stays
      cb(topic.startsWith('$SYS/') ? ERR.BROKER_REFUSED('$SYS/ is reserved') : null)
      return
    }
    const s = this.sessions.get(client)
    if (!s) {
      cb(ERR.BROKER_REFUSED('a publish before the connection was accepted'))
      return
    }
    const bad = topicProblem(topic)
    if (bad !== undefined) {
      this.refuseMessage(client, s, packet, 'bad-topic', 'bad-topic', bad, cb)
      return
    }
    // aedes' default: nobody publishes under $SYS/ (a DoS vector, aedes #597)
    if (topic.startsWith('$SYS/')) {
      this.refuseMessage(client, s, packet, 'sys-topic', 'not-authorized', '$SYS/ is reserved', cb)
      return
    }
    const who = { username: s.username, clientId: client.id }
    if (!this.policy.mayPublish(s.acl, who, topic)) {
      const detail = 'publish not allowed by the ACL'
      this.refuseMessage(client, s, packet, 'acl-publish', 'not-authorized', detail, cb)
      return
    }
    const owner = s.username === undefined ? this.policy.ownerOf(topic) : undefined
    if (owner !== undefined) {
      const detail = `the topic belongs to account "${clipForLog(owner)}"; anonymous clients may not publish on it`
      this.refuseMessage(client, s, packet, 'acl-publish', 'not-authorized', detail, cb)
      return
    }
    const size = this.payloadSize(packet)
    const max = this.opts.maxPayloadBytes ?? DEFAULT_MAX_PAYLOAD
    if (size > max) {
      const detail = `payload of ${size} bytes exceeds the limit of ${max}`
      this.refuseMessage(client, s, packet, 'payload-too-large', 'payload-too-large', detail, cb)
      return
    }
    if (s.bucket && s.bucket.take() === 0) {
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
      cb(ERR.BROKER_REFUSED(detail))
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
      receivedAt: this.opts.receiveTime?.() ?? Date.now(),
      qos,
      clientId: client.id,
      delivery:
        qos === 0 || packet.messageId === undefined
          ? undefined
          : { session: s.session, packetId: packet.messageId, dup: packet.dup === true },
      ack: qos === 0 ? NO_ACK : s.acks.add(cb),
    }
    const wait = this.gate.offer(message, s)
    if (qos !== 0) return
    // QoS 0 has no ack to hold: hold the hook instead while the gateway is full.
    if (wait === undefined) cb(null)
    else wait.then(() => cb(null), cb)
  }

  /**
   * A message that will never be accepted: a resend would be refused again, so it is
   * acknowledged (MQTT 3.1.1 has no negative PUBACK) once kept as a dead letter with its
   * size and first bytes, and never routed. Only a client that keeps doing it is cut off.
   */
  private refuseMessage(
    client: Client,
    s: Session,
    packet: PublishPacket,
    reason: RefusalReason,
    deadLetter: BrokerDeadLetterReason,
    detail: string,
    cb: (err?: Error | null) => void,
  ): void {
    const now = Date.now()
    if (now - s.strikesSince > STRIKE_WINDOW_MS) {
      s.strikes = 0
      s.strikesSince = now
    }
    s.strikes++
    const payload =
      typeof packet.payload === 'string' ? Buffer.from(packet.payload) : packet.payload
    if (s.strikes > STRIKE_LIMIT) {
      this.refuse(
        client,
        s,
        reason,
        packet.topic,
        `${detail}; more than ${STRIKE_LIMIT} refused messages in a minute`,
        'disconnected',
      )
      cb(ERR.BROKER_REFUSED(detail))
      return
    }
    this.refuse(client, s, reason, packet.topic, detail, 'dead-lettered')
    this.dropped.add(payload)
    packet.retain = false
    const qos = packet.qos as QoS
    const message: SensorMessage = {
      // the dead letter keeps a bounded topic and the first bytes, never the whole packet
      topic: clipTopic(packet.topic),
      payload: Buffer.from(payload.subarray(0, REFUSED_PAYLOAD_HEAD_BYTES)),
      receivedAt: now,
      qos,
      clientId: client.id,
      refused: { reason: deadLetter, detail: `${detail} (${this.payloadSize(packet)} bytes)` },
      ack: qos === 0 ? NO_ACK : s.acks.add(cb),
    }
    this.gate.offer(message, s)
    if (qos === 0) cb(null)
  }

  /** The payload's size as sent: a stand-in for an oversized PUBLISH holds only its head. */
  private payloadSize(packet: PublishPacket): number {
    const p = packet.payload
    return (typeof p === 'string' ? undefined : this.oversized.get(p)) ?? p.length
  }

  /** Routes to this client unless it stopped reading: then it is cut off. */
  private mayForward(client: Client): boolean {
    const conn = client.conn as unknown as Duplex | undefined
    if (conn === undefined || conn.destroyed) return false
    const max = this.opts.maxOutgoingBytes ?? DEFAULT_MAX_OUTGOING
    if (conn.writableLength <= max) return true
    this.refuse(
      client,
      this.sessions.get(client),
      'slow-consumer',
      undefined,
      `more than ${max} bytes waiting for a client that does not read them`,
      'disconnected',
    )
    conn.destroy()
    return false
  }

  /** Bounds what the connection's packets can make the broker buffer (packet-bound.ts). */
  private boundPackets(client: Client, conn: Duplex): void {
    const parser = (client as unknown as { _parser?: PacketParser })._parser
    if (parser === undefined || typeof parser.parse !== 'function') return
    boundParser(parser, packetLimits(this.opts.maxPayloadBytes), {
      connected: () => this.sessions.has(client),
      tooLarge: (cmd, bytes, limit) => {
        this.refuse(
          client,
          this.sessions.get(client),
          'packet-too-large',
          undefined,
          `a ${cmd} packet of ${bytes} bytes, over the limit of ${limit}`,
          'disconnected',
        )
        conn.destroy()
      },
      oversized: (payload, bytes) => this.oversized.set(payload, bytes),
    })
  }

  private forget(client: Client): void {
    const s = this.sessions.get(client)
    if (s) this.gate.dropConnection(s)
    const holder = this.owners.get(client.id)
    if (holder?.client === client) this.owners.delete(client.id)
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
    // client-chosen strings are clipped: a listener may keep or log them
    this.emitRefusal({
      reason,
      // null until a CONNECT was read: a packet can be refused before it
      clientId: clipForLog(client.id ?? '') ?? '',
      username: clipForLog(username),
      topic: clipForLog(topic),
      detail,
      action,
    })
  }

  /** Counts a refusal and hands it to the listeners. */
  private emitRefusal(refusal: Refusal): void {
    this.counts.set(refusal.reason, (this.counts.get(refusal.reason) ?? 0) + 1)
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
    // aedes delivers whatever it is given; its subscribers (Home Assistant) must not get
    // a topic they could not subscribe to or publish themselves.
    const bad = publishTopicProblem(topic)
    if (bad !== undefined) return Promise.reject(ERR.BROKER_PUBLISH(topic, bad))
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
    return this.publish(status.topic, statusPayload(status.gatewayId, VERSION, state), {
      qos: 1,
      retain: true,
    })
  }
}

function clipTopic(topic: string): string {
  if (Buffer.byteLength(topic) <= MAX_TOPIC_BYTES) return topic
  return Buffer.from(topic).subarray(0, MAX_TOPIC_BYTES).toString('utf8')
}
