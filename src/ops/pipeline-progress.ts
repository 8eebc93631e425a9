import { type HealthCheck, healthy, unhealthy } from './health.js'

/**
 * When the gateway's workflow last got a clock tick through. The workflow runs one path
 * at a time and the clock ticks every second, so on a working pipeline `beat()` comes
 * about once a second even with no sensor traffic; a node stuck on a promise that never
 * settles stops it while the event loop stays idle and healthy. The watchdog checks this
 * as well as event loop lag, so systemd restarts a daemon whose pipeline stopped.
 * Monotonic time: a clock step must not read as a stall.
 */
export class PipelineProgress {
  #last = performance.now()

  beat(): void {
    this.#last = performance.now()
  }

  /** Fails when nothing got through for more than `stallMs`. */
  check(stallMs: number): HealthCheck {
    return () => {
      const idleMs = performance.now() - this.#last
      return idleMs > stallMs
        ? unhealthy(
            `the workflow processed no clock tick for ${(idleMs / 1000).toFixed(1)} s (limit ${stallMs / 1000} s): a node is stuck`,
          )
        : healthy(
            `last clock tick processed ${Math.round(idleMs)} ms ago (limit ${stallMs / 1000} s)`,
          )
    }
  }
}
