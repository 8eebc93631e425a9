// Standard flow engine
export type { Backoff } from './engine/backoff.js'
export {
  constantBackoff,
  customBackoff,
  exponentialBackoff,
  linearBackoff,
} from './engine/backoff.js'
export { delay } from './engine/delay.js'
// Event-driven workflow (ADR-0009)
export type { EventActionSet } from './engine/event/actions.js'
export { EventActions, eventActions } from './engine/event/actions.js'
export type { EventDrivenNodeAdapterOptions } from './engine/event/adapter.js'
export { EventDrivenNodeAdapter } from './engine/event/adapter.js'
export { Channel } from './engine/event/channel.js'
export { ChannelEventSource } from './engine/event/channel-source.js'
export type {
  EventDrivenNode,
  EventResult,
  NodeFailure,
  NoEvent,
  SourceClosed,
} from './engine/event/event-node.js'
export { isSource, NO_EVENT, processor, SOURCE_CLOSED } from './engine/event/event-node.js'
export type {
  EventErrorHandler,
  EventRunResult,
  EventWorkflowOptions,
  ExecuteOptions,
  RunEndReason,
} from './engine/event/event-workflow.js'
export { EventDrivenWorkflow } from './engine/event/event-workflow.js'
export type { NestedEventDrivenWorkflowOptions } from './engine/event/nested.js'
export { NestedEventDrivenWorkflow } from './engine/event/nested.js'
export type { TimerTick } from './engine/event/timer-source.js'
export { isTimerTick, TimerEventSource } from './engine/event/timer-source.js'
export type { DefaultAction, Node } from './engine/node.js'
export { node } from './engine/node.js'
export { Outcome } from './engine/outcome.js'
export type { RetryOptions } from './engine/retry.js'
export { RetryNode, retry } from './engine/retry.js'
export type { WorkflowOptions, WorkflowResult, WorkflowRunOptions } from './engine/workflow.js'
export { Workflow } from './engine/workflow.js'
export { VERSION } from './version.js'
