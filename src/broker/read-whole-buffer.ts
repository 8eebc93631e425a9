import type { Duplex } from 'node:stream'

/**
 * Makes `stream.read()` without a size return everything buffered, as it did up to Node 24.
 *
 * aedes reads a client connection with one `read()` per `'readable'` event and expects
 * the whole buffer. Since Node 26 `read()` returns one buffered chunk, and `'readable'` is
 * not emitted again while data is left, so a client whose CONNECT arrived in several
 * chunks (MQTT.js over websocket sends one message per field) waited for its CONNACK
 * until it timed out. Reading in a loop here works on every line.
 */
export function readWholeBuffer<S extends Duplex>(stream: S): S {
  const readOne = stream.read.bind(stream)
  stream.read = (size?: number) => {
    if (size !== undefined && size !== null) return readOne(size)
    const first = readOne()
    if (first === null || stream.readableObjectMode) return first
    const chunks: Buffer[] = [first]
    // bounded by what is buffered: read() returns null once the buffer is empty
    for (let next = readOne(); next !== null; next = readOne()) chunks.push(next)
    return chunks.length === 1 ? first : Buffer.concat(chunks)
  }
  return stream
}
