import { connectAsync, type MqttClient } from 'mqtt'

export interface Received {
  readonly topic: string
  readonly seq: number
  /** Set when Mosquitto redelivered to this subscriber (its own duplicate, not ours). */
  readonly dup: boolean
}

export interface Upstream {
  readonly client: MqttClient
  /** Data messages in arrival order. */
  readonly received: Received[]
  /** Status payloads (parsed JSON) in arrival order. */
  readonly statuses: { gateway: string; state: string; version: string; ts: string }[]
  /** `sessionPresent` of each (re)connection: false after the first means the broker lost the session. */
  readonly sessions: boolean[]
  /** Distinct seqs seen so far. */
  unique(): number
  close(): Promise<void>
}

/**
 * An upstream consumer with a persistent session (fixed client id, clean: false, QoS 1),
 * so Mosquitto keeps what arrives for it while it is disconnected (e.g. across a restart).
 */
export async function subscribeUpstream(
  url: string,
  prefix: string,
  clientId: string,
  reconnectPeriod = 100,
): Promise<Upstream> {
  const client = await connectAsync(url, { clientId, clean: false, reconnectPeriod })
  const received: Received[] = []
  const sessions: boolean[] = [false]
  client.on('connect', (connack) => {
    sessions.push(connack.sessionPresent)
  })
  const statuses: Upstream['statuses'] = []
  const seen = new Set<number>()
  const statusTopic = `${prefix}/floxgate/status`
  client.on('message', (topic, payload, packet) => {
    if (topic === statusTopic) {
      statuses.push(JSON.parse(payload.toString()) as Upstream['statuses'][number])
      return
    }
    const { seq } = JSON.parse(payload.toString()) as { seq: number }
    seen.add(seq)
    received.push({ topic, seq, dup: packet.dup })
  })
  await client.subscribeAsync(`${prefix}/#`, { qos: 1 })
  return {
    client,
    received,
    statuses,
    sessions,
    unique: () => seen.size,
    close: async () => {
      await client.endAsync(true)
    },
  }
}

export interface SequenceCheck {
  /** Distinct seqs. */
  readonly unique: number
  /** Messages whose seq was seen before. */
  readonly duplicates: number
  /** A first appearance that skipped ahead (a gap: a row lost or reordered). */
  readonly gaps: { expected: number; got: number }[]
}

/**
 * Checks that the first appearances of seqs are exactly 0, 1, 2, ... in arrival order:
 * everything arrived, in order; repeats after a reconnect are counted as duplicates.
 */
export function checkSequence(seqs: readonly number[]): SequenceCheck {
  let next = 0
  let duplicates = 0
  const gaps: SequenceCheck['gaps'] = []
  for (const s of seqs) {
    if (s < next) duplicates++
    else if (s === next) next++
    else {
      gaps.push({ expected: next, got: s })
      next = s + 1
    }
  }
  return { unique: next - gaps.length, duplicates, gaps }
}
