import { ERR } from './errors.js'

/**
 * Waits `ms`, or rejects with ENGINE_ABORTED as soon as `signal` aborts, so a retry
 * backoff never holds up a shutdown.
 */
export function delay(ms: number, signal?: AbortSignal, what = 'wait'): Promise<void> {
  if (signal?.aborted) return Promise.reject(ERR.ENGINE_ABORTED(what))
  return new Promise((resolve, reject) => {
    const onAbort = () => {
      clearTimeout(timer)
      reject(ERR.ENGINE_ABORTED(what))
    }
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort)
      resolve()
    }, ms)
    signal?.addEventListener('abort', onAbort, { once: true })
  })
}
