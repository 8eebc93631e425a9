export type { StatusOptions } from '../mqtt/status.js'
export type { BrokerUser } from './access-policy.js'
export type { Acl, AclSubject } from './acl.js'
export { EmbeddedBroker, type EmbeddedBrokerOptions, type RateLimit } from './embedded.js'
export { ExternalBroker, type ExternalBrokerOptions } from './external.js'
export type {
  Publisher,
  PublishOptions,
  QoS,
  SensorIntake,
  SensorMessage,
  SensorMessageHandler,
} from './intake.js'
export { hashPassword, isPasswordHash, verifyPassword } from './password.js'
export {
  REFUSAL_REASONS,
  type Refusal,
  type RefusalListener,
  type RefusalReason,
} from './refusal.js'
export { filterCovers, isValidFilter, matchTopic } from './topic-filter.js'
