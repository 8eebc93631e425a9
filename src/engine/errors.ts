/**
 * The engine's errors, and the error machinery every part of floxgate uses: a stable
 * code, a message that tells the reader what to do next (fastify's `FST_ERR_*` model),
 * and the exit code a command line ends with when the error ends it. The engine imports
 * nothing outside src/engine/, so it can be lifted out whole; src/errors.ts re-exports
 * all of this together with the gateway's codes.
 */

export class FloxgateError extends Error {
  readonly code: string
  readonly details: Readonly<Record<string, unknown>> | undefined
  /**
   * The exit code a command line ends with when this error ends it (as fastify's errors
   * carry their HTTP `statusCode`): declared with the code, not guessed from its name.
   */
  readonly exitCode: number

  constructor(code: string, message: string, opts: FloxgateErrorOptions = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause })
    this.name = 'FloxgateError'
    this.code = code
    this.details = opts.details
    this.exitCode = opts.exitCode ?? RUNTIME_FAILURE
  }
}

export interface FloxgateErrorOptions {
  readonly details?: Record<string, unknown>
  readonly cause?: unknown
  /** 1 (a runtime failure) unless the code declares another. */
  readonly exitCode?: number
}

/** The exit code of an error that declares none: a runtime failure. */
const RUNTIME_FAILURE = 1

/** A factory for one error code; `.code` lets callers compare without building one. */
export type ErrorFactory<Args extends unknown[]> = ((...args: Args) => FloxgateError) & {
  readonly code: string
  readonly exitCode: number
}

export function define<Args extends unknown[]>(
  code: string,
  message: (...args: Args) => string,
  opts: { readonly exitCode?: number } = {},
): ErrorFactory<Args> {
  const exitCode = opts.exitCode ?? RUNTIME_FAILURE
  const make = (...args: Args) => new FloxgateError(code, message(...args), { exitCode })
  return Object.assign(make, { code, exitCode })
}

/** True when `err` is a FloxgateError of the given factory's code. */
export function isError(err: unknown, factory: { readonly code: string }): err is FloxgateError {
  return err instanceof FloxgateError && err.code === factory.code
}

export const ERR = {
  // --- engine (src/engine) -------------------------------------------------------------
  ENGINE_NODE_NOT_FOUND: define(
    'FLX_ERR_ENGINE_NODE_NOT_FOUND',
    (nodeId: string, where: string) =>
      `node '${nodeId}' not found (${where}): add it to the workflow before routing to it`,
  ),
  ENGINE_DUPLICATE_NODE: define(
    'FLX_ERR_ENGINE_DUPLICATE_NODE',
    (nodeId: string) =>
      `a node with id '${nodeId}' is already in the workflow: give each node a unique id`,
  ),
  ENGINE_ACTION_NOT_HANDLED: define(
    'FLX_ERR_ENGINE_ACTION_NOT_HANDLED',
    (nodeId: string, action: string) =>
      `node '${nodeId}' returned action '${action}' but has no route for it, no 'default' route and no default route: add a route`,
  ),
  ENGINE_CYCLE_DETECTED: define('FLX_ERR_ENGINE_CYCLE_DETECTED', (nodeId: string, limit: number) =>
    limit <= 1
      ? `cycle detected: node '${nodeId}' was reached twice in one run; allow cycles with a visit limit (maxVisits) if the loop is intended`
      : `cycle limit exceeded: node '${nodeId}' was reached more than ${limit} times in one run; raise maxVisits or fix the loop`,
  ),
  ENGINE_TIMEOUT: define(
    'FLX_ERR_ENGINE_TIMEOUT',
    (what: string, ms: number, nodeId: string | undefined) =>
      `${what} timed out after ${ms} ms${nodeId === undefined ? '' : ` while node '${nodeId}' was running`}: raise timeoutMs or find the slow node`,
  ),
  ENGINE_ABORTED: define(
    'FLX_ERR_ENGINE_ABORTED',
    (what: string) => `${what} was aborted by its signal`,
  ),
  ENGINE_RETRY_EXHAUSTED: define(
    'FLX_ERR_ENGINE_RETRY_EXHAUSTED',
    (nodeId: string, attempts: number, last: string) =>
      `node '${nodeId}' failed ${attempts} times, giving up (last error: ${last}); see the cause, or raise maxAttempts`,
  ),
  ENGINE_INVALID_GRAPH: define(
    'FLX_ERR_ENGINE_INVALID_GRAPH',
    (workflow: string, problems: readonly string[]) =>
      `workflow '${workflow}' is not valid: ${problems.join('; ')}`,
  ),
  ENGINE_ALREADY_RUNNING: define(
    'FLX_ERR_ENGINE_ALREADY_RUNNING',
    (workflow: string) =>
      `workflow '${workflow}' is already executing: wait for its run to end, or build a second workflow`,
  ),
  ENGINE_CHANNEL_CLOSED: define(
    'FLX_ERR_ENGINE_CHANNEL_CLOSED',
    (channelId: string) =>
      `channel '${channelId}' is closed: no more events can be sent to it (close it only when producers are done)`,
  ),
  ENGINE_BAD_OPTION: define(
    'FLX_ERR_ENGINE_BAD_OPTION',
    (name: string, value: unknown, expected: string) =>
      `option ${name} = ${String(value)} is not valid: expected ${expected}`,
  ),
  ENGINE_PATH_TOO_LONG: define(
    'FLX_ERR_ENGINE_PATH_TOO_LONG',
    (nodeId: string, maxHops: number) =>
      `an event passed through ${maxHops} nodes and was stopped at node '${nodeId}': the routes loop; fix the routes or raise maxHops`,
  ),
  ENGINE_BAD_RESULT: define(
    'FLX_ERR_ENGINE_BAD_RESULT',
    (nodeId: string, value: unknown) =>
      `node '${nodeId}' returned ${String(value)} from processEvent: return an action or { action, event }`,
  ),
  ENGINE_EVENT_AFTER_END: define(
    'FLX_ERR_ENGINE_EVENT_AFTER_END',
    (sourceId: string) =>
      `source '${sourceId}' delivered an event after the run ended; it was not processed (the source ignored the abort signal passed to waitForEvent)`,
  ),
} as const
