export type { KeptWindows } from './kept-windows.js'
export { NotificationQueue, type NotificationRow } from './notification-queue.js'
export { openDatabase, quarantineCorruptFile } from './open-database.js'
export {
  type Backlog,
  DEFAULT_OUTBOX,
  type ForwarderOutbox,
  Outbox,
  type OutboxOptions,
  type OutboxRow,
} from './outbox.js'
export type {
  ActiveAlert,
  LatestReading,
  RangeFilter,
  StoreCounts,
  StoredAlertEvent,
  StoredReading,
} from './queries.js'
export type { RetentionResult } from './retention.js'
export { MIGRATIONS, migrate, SCHEMA_VERSION } from './schema.js'
export { openStore, Store, type StoreOptions } from './store.js'
export type * from './types.js'
