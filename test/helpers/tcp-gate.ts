import { connect, createServer, type Socket } from 'node:net'

/**
 * A TCP relay on a loopback port in front of another one, which a test opens and shuts:
 * shut, it cuts every relayed connection and refuses new ones (they are closed at once,
 * as by a broker that is down); open, it relays bytes both ways. Lets a test choose who
 * reaches a restarted broker first.
 */
export interface TcpGate {
  readonly port: number
  open(): void
  shut(): void
  close(): Promise<void>
}

export async function startTcpGate(targetPort: number): Promise<TcpGate> {
  let isOpen = true
  const pairs = new Set<Socket>()
  const server = createServer((inbound) => {
    if (!isOpen) {
      inbound.destroy()
      return
    }
    const outbound = connect(targetPort, '127.0.0.1')
    const end = () => {
      inbound.destroy()
      outbound.destroy()
      pairs.delete(inbound)
      pairs.delete(outbound)
    }
    pairs.add(inbound)
    pairs.add(outbound)
    inbound.on('error', end).on('close', end)
    outbound.on('error', end).on('close', end)
    inbound.pipe(outbound)
    outbound.pipe(inbound)
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => resolve())
  })
  const address = server.address()
  if (address === null || typeof address === 'string') throw new Error('tcp gate: no port')
  return {
    port: address.port,
    open() {
      isOpen = true
    },
    shut() {
      isOpen = false
      for (const s of pairs) s.destroy()
      pairs.clear()
    },
    close() {
      isOpen = false
      for (const s of pairs) s.destroy()
      return new Promise((resolve) => server.close(() => resolve()))
    },
  }
}
