import { readFileSync } from 'node:fs'
import { createServer } from 'node:net'

/**
 * A TCP port free on 127.0.0.1, for a child process or a config that needs a number
 * before anything listens (where the listener is in-process, prefer port 0 and read the
 * bound port back).
 *
 * Not `listen(0)` and close: those ports come from the kernel's ephemeral range, which
 * it also hands to outgoing connections, so between the close and the consumer's bind
 * any connect() on the machine may take it. These are drawn at random from below the
 * ephemeral range, where the kernel assigns nothing by itself, checked free by binding,
 * and never handed out twice by one process. The benchmarks use this one too.
 */
export async function freePort(): Promise<number> {
  const [low, high] = candidateRange()
  for (let attempt = 0; attempt < 200; attempt++) {
    const port = low + Math.floor(Math.random() * (high - low))
    if (handedOut.has(port)) continue
    handedOut.add(port) // before the await: concurrent callers never test the same port
    if (await bindable(port)) return port
    handedOut.delete(port)
  }
  throw new Error(`no free port found in ${low}-${high} after 200 tries`)
}

const handedOut = new Set<number>()

/** [low, high) below the ephemeral range (Linux default 32768-60999). */
function candidateRange(): [number, number] {
  let ephemeralLow = 32768
  try {
    const first = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').split(/\s+/)[0]
    ephemeralLow = Number(first) || ephemeralLow
  } catch {
    // not Linux: keep the default
  }
  const high = Math.max(ephemeralLow, 12_000)
  return [Math.max(10_000, high - 12_000), high]
}

function bindable(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer()
    srv.unref()
    srv.once('error', () => resolve(false))
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)))
  })
}
