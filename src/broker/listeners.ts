import { createServer as createHttpServer, type IncomingMessage } from 'node:http'
import { createServer as createTcpServer, type Server, type Socket } from 'node:net'
import type { Duplex } from 'node:stream'
import { createServer as createTlsServer } from 'node:tls'
import { ERR } from '../errors.js'

/** Hands one client connection to the broker. */
export type ConnectionHandler = (stream: Duplex, req?: IncomingMessage) => void

export interface TcpListenerOptions {
  readonly host: string
  /** 0 lets the OS pick; the bound port is in `Listener.port`. */
  readonly port: number
  /**
   * Bytes a connection's socket buffers before `write()` returns false; default Node's
   * 16 KiB. The broker raises it so writing to a client under its outgoing bound never
   * waits (embedded.ts, `socketHighWaterMark`).
   */
  readonly highWaterMark?: number
}

export interface TlsListenerOptions extends TcpListenerOptions {
  /** PEM certificate (chain) and private key. */
  readonly cert: string | Buffer
  readonly key: string | Buffer
}

export interface WebSocketListenerOptions extends TcpListenerOptions {
  /** HTTP path of the websocket endpoint; default `/mqtt`. */
  readonly path?: string
}

export interface Listener {
  readonly kind: 'tcp' | 'tls' | 'websocket'
  readonly port: number
  close(): Promise<void>
}

async function bind(server: Server, kind: string, o: TcpListenerOptions): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    const onError = (err: Error) => reject(ERR.BROKER_LISTEN(kind, o.host, o.port, err.message))
    server.once('error', onError)
    server.listen(o.port, o.host, () => {
      server.off('error', onError)
      resolve()
    })
  })
  const addr = server.address()
  return typeof addr === 'object' && addr !== null ? addr.port : o.port
}

/** Closes the server and destroys connections still open (the broker closed its clients). */
function closer(server: Server, sockets: Set<Duplex>): () => Promise<void> {
  return () =>
    new Promise<void>((resolve) => {
      for (const s of sockets) s.destroy()
      server.close(() => resolve())
    })
}

function track(server: Server, sockets: Set<Duplex>, event: string): void {
  server.on(event, (s: Socket) => {
    sockets.add(s)
    s.once('close', () => sockets.delete(s))
  })
}

export async function listenTcp(o: TcpListenerOptions, handle: ConnectionHandler) {
  const sockets = new Set<Duplex>()
  // No Nagle: an alert or PUBACK of a few bytes must not wait for the peer's delayed ACK.
  const server = createTcpServer(
    { noDelay: true, ...(o.highWaterMark === undefined ? {} : { highWaterMark: o.highWaterMark }) },
    (s) => handle(s),
  )
  track(server, sockets, 'connection')
  const port = await bind(server, 'MQTT over TCP', o)
  return { kind: 'tcp', port, close: closer(server, sockets) } satisfies Listener
}

export async function listenTls(o: TlsListenerOptions, handle: ConnectionHandler) {
  let server: Server
  try {
    server = createTlsServer(
      {
        cert: o.cert,
        key: o.key,
        ...(o.highWaterMark === undefined ? {} : { highWaterMark: o.highWaterMark }),
      },
      (s) => handle(s),
    )
  } catch (err) {
    throw ERR.BROKER_TLS(err instanceof Error ? err.message : String(err))
  }
  const sockets = new Set<Duplex>()
  track(server, sockets, 'secureConnection')
  // a failed handshake is one client's problem, never the broker's
  server.on('tlsClientError', () => {})
  const port = await bind(server, 'MQTT over TLS', o)
  return { kind: 'tls', port, close: closer(server, sockets) } satisfies Listener
}

export async function listenWebSocket(o: WebSocketListenerOptions, handle: ConnectionHandler) {
  // Loaded only when a websocket listener is configured (memory on small devices).
  const { createWebSocketStream, WebSocketServer } = await import('ws')
  const http = createHttpServer((_req, res) => {
    res.writeHead(426, { 'content-type': 'text/plain' }).end('MQTT over websocket only\n')
  })
  const sockets = new Set<Duplex>()
  track(http, sockets, 'connection')
  const wss = new WebSocketServer({ server: http, path: o.path ?? '/mqtt' })
  wss.on('connection', (ws, req) => {
    const stream = createWebSocketStream(ws)
    stream.on('error', () => ws.terminate())
    handle(stream, req)
  })
  wss.on('error', () => {})
  const port = await bind(http, 'MQTT over websocket', o)
  const closeHttp = closer(http, sockets)
  return {
    kind: 'websocket',
    port,
    close: async () => {
      for (const ws of wss.clients) ws.terminate()
      await new Promise<void>((r) => wss.close(() => r()))
      await closeHttp()
    },
  } satisfies Listener
}
