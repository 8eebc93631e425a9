/**
 * A bare MQTT 3.1.1 client on a TCP socket, for what MQTT.js will not do on request: a
 * PUBLISH with the DUP flag and a chosen packet id (a sensor's redelivery after a lost
 * PUBACK). Only CONNECT, PUBLISH (QoS 1) and reading PUBACKs.
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

function str(s: string): Buffer {
  const b = Buffer.from(s)
  const len = Buffer.alloc(2)
  len.writeUInt16BE(b.length)
  return Buffer.concat([len, b])
}

function packet(first: number, body: Buffer): Buffer {
  return Buffer.concat([Buffer.from([first]), remainingLength(body.length), body])
}

export interface RawClient {
  /** QoS 1 PUBLISH; resolves with the PUBACK of `packetId`. */
  publish(topic: string, payload: string, packetId: number, dup: boolean): Promise<void>
  close(): void
}

export async function rawConnect(port: number, clientId: string): Promise<RawClient> {
  const socket: Socket = connect(port, '127.0.0.1')
  let buf = Buffer.alloc(0)
  const waiters = new Map<number, () => void>()
  let connack: (() => void) | undefined
  socket.on('data', (d: Buffer) => {
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
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject)
    socket.once('connect', () => {
      // protocol name, level 4, flags: clean session, keepalive 60 s
      const vh = Buffer.concat([str('MQTT'), Buffer.from([4, 0x02, 0, 60])])
      socket.write(packet(0x10, Buffer.concat([vh, str(clientId)])))
    })
    connack = resolve
  })
  return {
    publish(topic, payload, packetId, dup) {
      const id = Buffer.alloc(2)
      id.writeUInt16BE(packetId)
      const acked = new Promise<void>((r) => waiters.set(packetId, r))
      const first = 0x30 | (dup ? 0x08 : 0) | 0x02
      socket.write(packet(first, Buffer.concat([str(topic), id, Buffer.from(payload)])))
      return acked
    },
    close: () => socket.destroy(),
  }
}
