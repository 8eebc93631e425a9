/**
 * The interfaces between the brokers and the rest of the daemon: sensor messages come in
 * through a `SensorIntake`, the gateway's own output goes out through a `Publisher`.
 */

export type QoS = 0 | 1 | 2

/** Dead-letter reasons of messages the broker refused (docs/security.md). */
export type BrokerDeadLetterReason = 'payload-too-large' | 'not-authorized' | 'bad-topic'

/** One sensor PUBLISH, held unacknowledged until `ack()`. */
export interface SensorMessage {
  readonly topic: string
  readonly payload: Buffer
  /** ms since the epoch. */
  readonly receivedAt: number
  readonly qos: QoS
  /** The publishing sensor's client id (embedded broker only). */
  readonly clientId?: string
  /**
   * QoS 1/2: the MQTT session it came through (the sensor's client id, or the external
   * broker's session), its packet id and DUP flag: how a redelivery is recognised.
   */
  readonly delivery?:
    | { readonly session: string; readonly packetId: number; readonly dup: boolean }
    | undefined
  /**
   * Set when the broker refused the message but acknowledges it anyway (a resend would be
   * refused again): the gateway keeps it as a dead letter of this reason. `payload` then
   * holds only the first bytes.
   */
  readonly refused?: { readonly reason: BrokerDeadLetterReason; readonly detail: string }
  /**
   * `ack()` (or `ack(null)`, so it can be a store callback): stored, acknowledge it (QoS 1
   * PUBACK goes out now, in receive order). `ack(err)`: not stored; no PUBACK, the
   * connection is dropped so the sender redelivers. QoS 0: a no-op. Calling it twice does
   * nothing.
   */
  ack(err?: Error | null): void
}

/**
 * Takes one message. A returned promise means "full, wait": the embedded broker then holds
 * a QoS 0 sender's stream until it resolves, so a flood slows the sender at the TCP level
 * instead of growing a queue (QoS 1/2 are already held until `ack`).
 */
export type SensorMessageHandler = (message: SensorMessage) => undefined | Promise<void>

export interface SensorIntake {
  /** Sets the one handler; messages that arrived before are delivered once started. */
  onMessage(handler: SensorMessageHandler): void
  /** Starts delivering (messages held so far go first, in arrival order). */
  start(): Promise<void>
  /**
   * Stops delivering: after it resolves no message reaches the handler. Messages that
   * arrive later are held unacknowledged. Acks of messages already delivered still work.
   */
  stop(): Promise<void>
}

export interface PublishOptions {
  readonly qos: QoS
  readonly retain: boolean
}

export interface Publisher {
  /** Resolves when the broker has taken the message (embedded: routed; external: PUBACK). */
  publish(topic: string, payload: Buffer | string, options: PublishOptions): Promise<void>
}
