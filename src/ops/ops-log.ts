/**
 * The little logging the ops modules need. A pino logger satisfies it as is; the ops
 * modules stay free of the daemon's logger setup (tests pass a recording stub).
 */
export interface OpsLog {
  info(obj: Record<string, unknown>, msg: string): void
  warn(obj: Record<string, unknown>, msg: string): void
}

/** Drops everything: the default when the caller passes no logger. */
export const silentLog: OpsLog = {
  info: () => {},
  warn: () => {},
}
