/**
 * A real HTTP server on a loopback port that records every request and answers with the
 * status the test chooses per path: the webhook or ntfy server a notification goes to.
 */
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http'

export interface ReceivedRequest {
  readonly method: string
  readonly path: string
  readonly headers: IncomingHttpHeaders
  readonly body: string
  /** Date.now() when the request ended (tests order it against daemon events). */
  readonly at: number
}

export interface Receiver {
  readonly requests: ReceivedRequest[]
  /** JSON bodies of the requests to `path`. */
  json<T = Record<string, unknown>>(path: string): T[]
  close(): Promise<void>
}

export async function startReceiver(
  port: number,
  statusFor: (path: string) => number = () => 200,
): Promise<Receiver> {
  const requests: ReceivedRequest[] = []
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      const path = req.url ?? '/'
      requests.push({
        method: req.method ?? '',
        path,
        headers: req.headers,
        body: Buffer.concat(chunks).toString(),
        at: Date.now(),
      })
      res.statusCode = statusFor(path)
      res.end('{}')
    })
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, '127.0.0.1', () => resolve())
  })
  return {
    requests,
    json: <T>(path: string) =>
      requests.filter((r) => r.path === path).map((r) => JSON.parse(r.body) as T),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}
