import { createServer, request, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { gunzipSync } from 'node:zlib'

export interface WriteSeen {
  readonly path: string
  readonly headers: Record<string, string | string[] | undefined>
  /** The body as line protocol (gunzipped when sent gzipped). */
  readonly lines: string[]
  /** What the server behind answered (0 when it could not be reached). */
  status: number
}

export interface InfluxProxy {
  readonly url: string
  /** Every write request in arrival order: the order InfluxDB received the points in. */
  readonly writes: WriteSeen[]
  close(): Promise<void>
}

/**
 * A recording pass-through in front of a real InfluxDB (in-process, port 0): InfluxDB's
 * query API returns points by time, so the order they arrived in is seen here. When the
 * server behind is down the client's connection is cut, so the sender sees a network
 * error as it would without the proxy.
 */
export async function influxProxy(target: string): Promise<InfluxProxy> {
  const to = new URL(target)
  const writes: WriteSeen[] = []
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      const body = Buffer.concat(chunks)
      let seen: WriteSeen | undefined
      if (req.method === 'POST' && body.length > 0) {
        const text =
          req.headers['content-encoding'] === 'gzip' ? gunzipSync(body).toString() : body.toString()
        seen = {
          path: req.url ?? '',
          headers: req.headers,
          lines: text.split('\n').filter((l) => l !== ''),
          status: 0,
        }
        writes.push(seen)
      }
      const up = request(
        {
          host: to.hostname,
          port: to.port,
          method: req.method,
          path: req.url,
          headers: req.headers,
        },
        (r) => {
          if (seen !== undefined) seen.status = r.statusCode ?? 0
          res.writeHead(r.statusCode ?? 502, r.headers)
          r.pipe(res)
        },
      )
      up.on('error', () => req.socket.destroy())
      up.end(body)
    })
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}`,
    writes,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections()
        server.close(() => r())
      }),
  }
}

/** Tag and field values of one line of line protocol (no escaped separators expected). */
export function parseLine(line: string): {
  measurement: string
  tags: Record<string, string>
  fields: Record<string, string>
  ts: number
} {
  const [head = '', fieldPart = '', ts = ''] = line.split(' ')
  const [measurement = '', ...tagPairs] = head.split(',')
  const tags: Record<string, string> = {}
  for (const p of tagPairs) {
    const [k = '', v = ''] = p.split('=')
    tags[k] = v
  }
  const fields: Record<string, string> = {}
  for (const p of fieldPart.split(',')) {
    const [k = '', v = ''] = p.split('=')
    fields[k] = v
  }
  return { measurement, tags, fields, ts: Number(ts) }
}
