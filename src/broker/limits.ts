/**
 * Bounds on every string a client chooses and floxgate keeps or logs (docs/security.md).
 * Anything longer is refused at the door, so no map, log line or database row ever holds
 * more than these sizes, whatever a hostile client sends.
 */

/** MQTT client ids, in UTF-8 bytes (MQTT 3.1.1 only promises 23; devices use up to ~64). */
export const MAX_CLIENT_ID_BYTES = 128
/** Usernames in a CONNECT, in UTF-8 bytes. */
export const MAX_USERNAME_BYTES = 128
/** Topic names and filters of PUBLISH and SUBSCRIBE, in UTF-8 bytes. */
export const MAX_TOPIC_BYTES = 512
/** Passwords in a CONNECT, in bytes: longer ones are refused before any scrypt work. */
export const MAX_PASSWORD_BYTES = 1024
/** Bytes of a refused message's payload kept in its dead letter. */
export const REFUSED_PAYLOAD_HEAD_BYTES = 256
/** Characters of a client-chosen string written into one log field. */
export const LOG_STRING_CHARS = 128

/** `s` cut to `max` characters, marked with `…` and its full length when cut. */
export function clipForLog(s: string | undefined, max = LOG_STRING_CHARS): string | undefined {
  if (s === undefined || s.length <= max) return s
  return `${s.slice(0, max)}…(${s.length} chars)`
}

/**
 * Why a topic name or filter is not acceptable, or undefined. MQTT-1.5.3-1/-2: a topic
 * is well-formed UTF-8 without U+0000. The packet parser turns invalid UTF-8 into U+FFFD,
 * so U+FFFD is refused too (no device sends it on purpose).
 */
export function topicProblem(topic: string): string | undefined {
  if (topic.length === 0) return 'the topic is empty'
  // A UTF-16 unit is at most 3 UTF-8 bytes: short topics need no byte count (per PUBLISH).
  if (topic.length * 3 > MAX_TOPIC_BYTES && Buffer.byteLength(topic) > MAX_TOPIC_BYTES) {
    return `the topic is longer than ${MAX_TOPIC_BYTES} bytes`
  }
  if (topic.includes('\u0000')) return 'the topic contains U+0000 (MQTT-1.5.3-2)'
  if (topic.includes('\uFFFD')) return 'the topic is not valid UTF-8 (MQTT-1.5.3-1)'
  return undefined
}

/**
 * Why the gateway must not publish to `topic`, or undefined. A topic name holds no
 * wildcard [MQTT-3.3.2-2], and is neither empty nor holds U+0000 [MQTT-4.7.3-1,
 * MQTT-1.5.3-2]: Mosquitto drops a client that sends one, and MQTT.js resends its QoS 1
 * publishes after every reconnect, so one bad topic would cut the gateway off for good.
 */
export function publishTopicProblem(topic: string): string | undefined {
  if (topic.length === 0) return 'the topic is empty'
  if (topic.includes('#')) return 'the topic contains the wildcard "#" (MQTT-3.3.2-2)'
  if (topic.includes('+')) return 'the topic contains the wildcard "+" (MQTT-3.3.2-2)'
  if (topic.includes('\u0000')) return 'the topic contains U+0000 (MQTT-1.5.3-2)'
  return undefined
}
