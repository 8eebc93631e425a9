/**
 * Bounds the bytes one connection can make the broker buffer, by wrapping the MQTT packet
 * parser aedes reads each connection with (mqtt-packet). The parser keeps a packet's bytes
 * until all of it has arrived, as many as its header announces (up to 256 MiB): without a
 * bound, 300 connections each sending 1 MB of an unfinished CONNECT held 300 MB, with no
 * credentials needed.
 *
 * - Before the client is connected, a packet longer than `connectBytes` closes the
 *   connection: it can only be a CONNECT, whose fields are bounded (limits.ts).
 * - A PUBLISH longer than `publishBytes` is not kept: its topic, packet id and first
 *   REFUSED_PAYLOAD_HEAD_BYTES bytes are, the rest is read and dropped as it arrives, and a
 *   stand-in PUBLISH with that head goes to the broker, reported through `oversized` with
 *   the payload's real size. So it can be acknowledged and dead-lettered like any refused
 *   message, however large, instead of closing the connection (which made MQTT.js resend
 *   it on every reconnect, forever).
 * - Any other packet longer than `otherBytes` closes the connection.
 */
import { REFUSED_PAYLOAD_HEAD_BYTES } from './limits.js'

export interface PacketLimits {
  readonly connectBytes: number
  readonly publishBytes: number
  readonly otherBytes: number
}

export interface PacketBoundHooks {
  /** True once the broker accepted the client's CONNECT. */
  connected(): boolean
  /** A packet over its limit: the caller closes the connection. */
  tooLarge(cmd: string, bytes: number, limit: number): void
  /** The stand-in of an oversized PUBLISH was parsed: `payload` is its head. */
  oversized(payload: Buffer, payloadBytes: number): void
}

/** The parts of mqtt-packet's parser this module uses (not in its types). */
export interface PacketParser {
  parse(buf: Buffer): number
  prependListener(event: 'packet', fn: (packet: { cmd?: string; payload?: unknown }) => void): void
  error: Error | null
  packet: { cmd?: string; length: number; qos?: number; dup?: boolean; retain?: boolean }
  _list: { length: number; slice(): Buffer }
  _stateCounter: number
  _resetState(): void
}

/** mqtt-packet's parser state while it waits for the rest of a packet's body. */
const AWAITING_BODY = 2

export function boundParser(
  parser: PacketParser,
  limits: PacketLimits,
  hooks: PacketBoundHooks,
): void {
  const parse = parser.parse.bind(parser)
  let skipping: OversizedPublish | undefined
  let standInBytes: number | undefined
  // Registered first: tags the stand-in before aedes handles it.
  parser.prependListener('packet', (packet) => {
    if (standInBytes !== undefined && packet.cmd === 'publish' && Buffer.isBuffer(packet.payload)) {
      hooks.oversized(packet.payload, standInBytes)
    }
    standInBytes = undefined
  })
  parser.parse = (buf: Buffer) => {
    let rest: Buffer | undefined = buf
    while (rest !== undefined && rest.length > 0) {
      if (skipping !== undefined) {
        const after = skipping.take(rest)
        if (after === undefined) return 0
        const done = skipping
        skipping = undefined
        standInBytes = done.payloadBytes()
        parse(done.standIn())
        standInBytes = undefined
        if (parser.error) return parser._list.length
        rest = after
        continue
      }
      parse(rest)
      rest = undefined
      if (parser.error || parser._stateCounter !== AWAITING_BODY) break
      const p = parser.packet
      const connected = hooks.connected()
      const limit = !connected
        ? limits.connectBytes
        : p.cmd === 'publish'
          ? limits.publishBytes
          : limits.otherBytes
      if (p.length <= limit) break
      if (!connected || p.cmd !== 'publish') {
        hooks.tooLarge(p.cmd ?? 'unknown', p.length, limit)
        parser._resetState()
        return 0
      }
      // What arrived of this PUBLISH's body so far is all the parser holds.
      const body = parser._list.slice()
      skipping = new OversizedPublish(fixedHeader(p), p.length, p.qos ?? 0)
      parser._resetState()
      rest = body
    }
    return parser._list.length
  }
}

function fixedHeader(p: PacketParser['packet']): number {
  return 0x30 | (p.dup ? 0x08 : 0) | ((p.qos ?? 0) << 1) | (p.retain ? 0x01 : 0)
}

/** Reads past an oversized PUBLISH, keeping its topic, packet id and first payload bytes. */
class OversizedPublish {
  private readonly kept: Buffer[] = []
  private keptBytes = 0
  private seen = 0
  /** Bytes of the body to keep: the topic's length prefix until the topic length is known. */
  private keep = 2

  constructor(
    private readonly header: number,
    private readonly length: number,
    private readonly qos: number,
  ) {}

  /** Consumes `buf`; returns what follows the packet once it ended, else undefined. */
  take(buf: Buffer): Buffer | undefined {
    const mine = Math.min(buf.length, this.length - this.seen)
    this.seen += mine
    this.keepFrom(buf.subarray(0, mine))
    if (this.seen < this.length) return undefined
    return buf.subarray(mine)
  }

  payloadBytes(): number {
    const before = this.keepBeforePayload()
    return before === undefined ? 0 : Math.max(0, this.length - before)
  }

  /** A PUBLISH with the same header flags, topic and packet id, and the payload's head. */
  standIn(): Buffer {
    const body = Buffer.concat(this.kept, this.keptBytes)
    return Buffer.concat([Buffer.from([this.header]), remainingLength(body.length), body])
  }

  /** Bytes of topic length, topic and packet id, once the topic's length has arrived. */
  private keepBeforePayload(): number | undefined {
    if (this.keptBytes < 2) return undefined
    const topic = Buffer.concat(this.kept, 2).readUInt16BE(0)
    return 2 + topic + (this.qos > 0 ? 2 : 0)
  }

  private keepFrom(chunk: Buffer): void {
    let c = chunk
    while (c.length > 0 && this.keptBytes < this.keep) {
      const n = Math.min(c.length, this.keep - this.keptBytes)
      this.kept.push(Buffer.from(c.subarray(0, n)))
      this.keptBytes += n
      c = c.subarray(n)
      const before = this.keepBeforePayload()
      if (before !== undefined) {
        this.keep = Math.min(this.length, before + REFUSED_PAYLOAD_HEAD_BYTES)
      }
    }
  }
}

function remainingLength(n: number): Buffer {
  const out: number[] = []
  let rest = n
  do {
    let b = rest % 128
    rest = Math.floor(rest / 128)
    if (rest > 0) b |= 0x80
    out.push(b)
  } while (rest > 0)
  return Buffer.from(out)
}
