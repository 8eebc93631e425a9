/**
 * The one logging interface every part of floxgate takes (store, uplink, ops, nodes):
 * structured fields first, then a message a person can act on. A pino logger satisfies
 * it as is, so only the daemon knows pino (src/ops/logger.ts builds it); tests pass a
 * recording stub or `silentLog`.
 */
export interface Log {
  debug(fields: object, msg: string): void
  info(fields: object, msg: string): void
  warn(fields: object, msg: string): void
  error(fields: object, msg: string): void
}

/** Drops everything: the default when the caller passes no logger. */
export const silentLog: Log = {
  debug: () => {},
  info: () => {},
  warn: () => {},
  error: () => {},
}
