/** Why the embedded broker refused a client or one of its packets. */
export type RefusalReason =
  | 'bad-credentials'
  | 'anonymous-refused'
  | 'acl-publish'
  | 'acl-subscribe'
  | 'sys-topic'
  | 'payload-too-large'
  | 'rate-limited'
  | 'not-stored'
  | 'bad-client-id'
  | 'client-id-taken'
  | 'auth-throttled'
  | 'bad-topic'
  | 'slow-consumer'
  | 'packet-too-large'
  | 'too-many-connections'
  | 'too-many-from-address'

export const REFUSAL_REASONS: readonly RefusalReason[] = [
  'bad-credentials',
  'anonymous-refused',
  'acl-publish',
  'acl-subscribe',
  'sys-topic',
  'payload-too-large',
  'rate-limited',
  'not-stored',
  'bad-client-id',
  'client-id-taken',
  'auth-throttled',
  'bad-topic',
  'slow-consumer',
  'packet-too-large',
  'too-many-connections',
  'too-many-from-address',
]

export interface Refusal {
  readonly reason: RefusalReason
  readonly clientId: string
  readonly username: string | undefined
  /** The topic or filter concerned; undefined for a refused CONNECT. */
  readonly topic: string | undefined
  /** One line for the log, e.g. `payload of 1048576 bytes exceeds 65536`. */
  readonly detail: string
  /** What happened to the client: its connection was closed, or only the packet was dropped. */
  readonly action:
    | 'disconnected'
    | 'dropped'
    | 'connack-refused'
    | 'suback-refused'
    /** Acknowledged positively and kept as a dead letter, so the sender does not resend it. */
    | 'dead-lettered'
}

export type RefusalListener = (refusal: Refusal) => void
