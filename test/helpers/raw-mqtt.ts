/**
 * MQTT 3.1.1 packets written by hand, so a test can send what no well-behaved client
 * library would (50 KB client ids, a socket that never reads, random bytes) or will not do
 * on request (a PUBLISH with the DUP flag and a chosen packet id: a sensor's redelivery
 * after a lost PUBACK).
 */
import { connect, type Socket } from 'node:net'

function remainingLength(n: number): Buffer {
  const out: number[] = []
  do {
    let b = n % 128
    n = Math.floor(n / 128)
    if (n > 0) b |= 0x80
    out.push(b)
  } while (n > 0)
  return Buffer.from(out)
}

/**
 * A fixed header: the first byte (type and flags), then `length` as MQTT's remaining
 * length, whether or not that many bytes follow (tests announce what they never send).
 */
export function packetHeader(first: number, length: number): Buffer {
  return Buffer.concat([Buffer.from([first]), remainingLength(length)])
}

function str(s: string | Buffer): Buffer {
  const b = typeof s === 'string' ? Buffer.from(s) : s
  const len = Buffer.alloc(2)
  len.writeUInt16BE(b.length)
  return Buffer.concat([len, b])
}

function packet(header: number, body: Buffer): Buffer {
  return Buffer.concat([packetHeader(header, body.length), body])
}

export function connectPacket(o: { clientId: string; username?: string; password?: string }) {
  let flags = 0x02 // clean session
  if (o.username !== undefined) flags |= 0x80
  if (o.password !== undefined) flags |= 0x40
  const keepalive = Buffer.from([0, 60])
  return packet(
    0x10,
    Buffer.concat([
      str('MQTT'),
      Buffer.from([4, flags]),
      keepalive,
      str(o.clientId),
      ...(o.username === undefined ? [] : [str(o.username)]),
      ...(o.password === undefined ? [] : [str(o.password)]),
    ]),
  )
}

/** PUBLISH; `topic` as raw bytes lets a test send invalid UTF-8. */
export function publishPacket(
  topic: string | Buffer,
  payload: Buffer,
  qos: 0 | 1 = 0,
  id = 1,
  dup = false,
) {
  const parts = [str(topic)]
  if (qos === 1) parts.push(Buffer.from([id >> 8, id & 0xff]))
  parts.push(payload)
  return packet(0x30 | (dup ? 0x08 : 0) | (qos << 1), Buffer.concat(parts))
}

export function subscribePacket(filter: string, id = 1) {
  return packet(
    0x82,
    Buffer.concat([Buffer.from([id >> 8, id & 0xff]), str(filter), Buffer.from([0])]),
  )
}

/** A TCP connection that collects what the broker sends; `closed` resolves on close. */
export interface RawClient {
  readonly socket: Socket
  readonly received: () => Buffer
  readonly closed: Promise<void>
  isClosed(): boolean
}

export async function rawConnect(port: number): Promise<RawClient> {
  const socket = connect({ host: '127.0.0.1', port })
  const chunks: Buffer[] = []
  let closed = false
  socket.on('data', (d: Buffer) => chunks.push(d))
  socket.on('error', () => {})
  const done = new Promise<void>((r) =>
    socket.once('close', () => {
      closed = true
      r()
    }),
  )
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve)
    socket.once('error', reject)
  })
  return { socket, received: () => Buffer.concat(chunks), closed: done, isClosed: () => closed }
}

/** The CONNACK return code in what was received, or undefined before it arrives. */
export function connackCode(b: Buffer): number | undefined {
  return b.length >= 4 && b[0] === 0x20 ? b[3] : undefined
}

/** A connected session that publishes QoS 1 with chosen packet ids and DUP flags. */
export interface RawSession {
  /** QoS 1 PUBLISH; resolves with the PUBACK of `packetId`. */
  publish(topic: string, payload: string, packetId: number, dup: boolean): Promise<void>
  close(): void
}

export async function rawSession(port: number, clientId: string): Promise<RawSession> {
  const c = await rawConnect(port)
  let buf = Buffer.alloc(0)
  const waiters = new Map<number, () => void>()
  let connack: (() => void) | undefined
  c.socket.on('data', (d: Buffer) => {
    buf = Buffer.concat([buf, d])
    while (buf.length >= 2) {
      const type = buf[0]! >> 4
      const len = buf[1]! // CONNACK and PUBACK are short
      if (buf.length < 2 + len) break
      if (type === 2) connack?.()
      if (type === 4) {
        const id = buf.readUInt16BE(2)
        waiters.get(id)?.()
        waiters.delete(id)
      }
      buf = buf.subarray(2 + len)
    }
  })
  const accepted = new Promise<void>((resolve) => {
    connack = resolve
  })
  c.socket.write(connectPacket({ clientId }))
  const first = await Promise.race([
    accepted.then(() => 'connack' as const),
    c.closed.then(() => 'closed' as const),
  ])
  if (first === 'closed') throw new Error(`the broker closed ${clientId} before its CONNACK`)
  return {
    publish(topic, payload, packetId, dup) {
      const acked = new Promise<void>((r) => waiters.set(packetId, r))
      c.socket.write(publishPacket(topic, Buffer.from(payload), 1, packetId, dup))
      return acked
    },
    close: () => c.socket.destroy(),
  }
}
