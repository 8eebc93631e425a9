import { writeToStream } from 'mqtt-packet'

/**
 * mqtt-packet (under aedes and MQTT.js alike) writes 2-byte numbers from a table of 65,536
 * pre-built Buffers, made at its first write: 6.5 MB of the daemon's live heap, about a
 * quarter of it (heap snapshot mid-flood, issue 11), for a gateway that writes a few
 * thousand packets a second. Without the table each number is a 2-byte Buffer made when
 * written. Call before the first packet is written; it applies to the whole process.
 */
export function writePacketNumbersWithoutTable(): void {
  writeToStream.cacheNumbers = false
}
